"""The embedded FTP pull server (pyftpdlib): the pull area, read-only, one login per order or user.

Layout: ``<pull_root>/<login>/<RequestID>/<files>``; a login is chrooted to its own
folder, so the DN's FTPDIR is ``/<RequestID>``. A login's password is an HMAC of
the login under a server secret, so no password is stored anywhere: the secret
comes from ``ARDIS_FTP_SECRET`` or a 0600 file under ARDIS_HOME.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import signal
from pathlib import Path
from typing import Any

from pyftpdlib.authorizers import AuthenticationFailed, DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

READ_ONLY = "elr"  # change dir, list, retrieve
SECRET_FILE = "ftp-secret"


def load_or_create_secret(home: Path) -> bytes:
    """The server secret: ``ARDIS_FTP_SECRET``, else a random one kept in ``home`` (mode 0600)."""
    env = os.environ.get("ARDIS_FTP_SECRET", "")
    if env:
        return env.encode()
    path = home / SECRET_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def pull_password(secret: bytes, login: str) -> str:
    """The password of a pull login: 16 URL-safe characters derived from the secret."""
    digest = hmac.new(secret, login.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)[:16].decode()


def pull_dir_for(pull_root: Path, login: str, request_id: str) -> Path:
    return pull_root / login / request_id


class PullAuthorizer(DummyAuthorizer):  # type: ignore[misc]
    """Any login whose folder exists, with its derived password; read-only, chrooted."""

    def __init__(self, pull_root: Path, secret: bytes) -> None:
        super().__init__()
        self.pull_root = pull_root.resolve()
        self.secret = secret

    def _home(self, username: str) -> Path | None:
        if not username or username.startswith(".") or "/" in username or "\\" in username:
            return None
        home = self.pull_root / username
        return home if home.is_dir() else None

    def validate_authentication(self, username: str, password: str, handler: Any) -> None:
        if self._home(username) is None or not hmac.compare_digest(password, pull_password(self.secret, username)):
            raise AuthenticationFailed("Authentication failed.")

    def get_home_dir(self, username: str) -> str:
        home = self._home(username)
        if home is None:
            raise AuthenticationFailed("Authentication failed.")
        return str(home)

    def has_user(self, username: str) -> bool:
        return self._home(username) is not None

    def has_perm(self, username: str, perm: str, path: str | None = None) -> bool:
        home = self._home(username)
        if home is None or perm not in READ_ONLY:
            return False
        if path is None:
            return True
        return Path(os.path.realpath(path)).is_relative_to(home)

    def get_perms(self, username: str) -> str:
        return READ_ONLY

    def get_msg_login(self, username: str) -> str:
        return "Ardis pull area: read-only."

    def get_msg_quit(self, username: str) -> str:
        return "Goodbye."

    def impersonate_user(self, username: str, password: str) -> None:
        return None

    def terminate_impersonation(self, username: str) -> None:
        return None


def build_pull_server(pull_root: Path, host: str, port: int, secret: bytes,
                      passive_ports: range | None = None) -> FTPServer:
    """A ready (not yet serving) pull server; ``port=0`` picks a free port."""
    pull_root.mkdir(parents=True, exist_ok=True)
    handler = type("ArdisPullHandler", (FTPHandler,), {})
    handler.authorizer = PullAuthorizer(pull_root, secret)
    handler.banner = "Ardis FTP pull server ready."
    handler.permit_foreign_addresses = False
    if passive_ports is not None:
        handler.passive_ports = passive_ports
    # Its own IOLoop: pyftpdlib's default is one per process, and two servers in
    # two threads of one process must not share it.
    server = FTPServer((host, port), handler, ioloop=IOLoop())
    server.max_cons = 256
    return server


def serve_pull_area(pull_root: Path, host: str, port: int, secret: bytes, passive_ports: range | None = None) -> None:
    """Serve until SIGTERM or SIGINT."""
    server = build_pull_server(pull_root, host, port, secret, passive_ports)

    def stop(_signum: int, _frame: object) -> None:
        server.close_all()

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(handle_exit=True)
    finally:
        server.close_all()
