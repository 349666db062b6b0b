"""The embedded FTP pull server (pyftpdlib): the pull area, read-only, one login per order or user.

Layout: ``<pull_root>/<login>/<RequestID>/<files>``, where the login is the
OrderID (login mode "order") or the user's user_id (mode "user"). A login is
chrooted to its own folder, so the DN's FTPDIR is ``/<RequestID>``.

A login's password is ``pull_password(secret, login)``, an HMAC of the login
under a server secret, so no password is stored in any database and the DN
writer can compute it again. The secret comes from ``ARDIS_FTP_SECRET`` or from
a 0600 file under ARDIS_HOME made on first use.

Passive mode only matters for the data connections: give ``passive_ports`` (and
``masquerade_address`` behind NAT) so a firewall can let them through (ICD 4.7.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import signal
from pathlib import Path
from typing import Any

from distribution.secret import load_or_create_secret  # noqa: F401  (its callers' old home)
from pyftpdlib.authorizers import AuthenticationFailed, DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

READ_ONLY = "elr"  # change dir, list, retrieve: no write, delete, rename, mkdir, chmod
REFUSED_LOGINS = frozenset({"anonymous", "ftp"})  # anonymous login is off, whatever folders exist


def pull_password(secret: bytes, login: str) -> str:
    """The password of a pull login: 16 URL-safe characters (96 bits) of HMAC-SHA256(secret, login)."""
    digest = hmac.new(secret, login.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)[:16].decode()


def pull_dir_for(pull_root: Path, login: str, request_id: str) -> Path:
    """Where a request's files are staged for pull: ``<pull_root>/<login>/<RequestID>``.

    The login's FTP home is ``<pull_root>/<login>``, so this directory is
    ``/<RequestID>`` to the client: the DN's FTPDIR.
    """
    return pull_root / login / request_id


class PullAuthorizer(DummyAuthorizer):  # type: ignore[misc]
    """Any login whose folder exists, with its derived password; read-only, chrooted to its folder.

    Nothing is registered in advance: a login appears when staging makes its
    folder and disappears with it, so the server never needs a restart.
    """

    def __init__(self, pull_root: Path, secret: bytes) -> None:
        super().__init__()
        self.pull_root = pull_root.resolve()
        self.secret = secret

    def _home(self, username: str) -> Path | None:
        if (not username or username in REFUSED_LOGINS or username.startswith(".")
                or "/" in username or "\\" in username or "\0" in username):
            return None
        home = self.pull_root / username
        return home if home.is_dir() else None

    def validate_authentication(self, username: str, password: str, handler: Any) -> None:
        expected = pull_password(self.secret, username)
        if self._home(username) is None or not hmac.compare_digest(password.encode(), expected.encode()):
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
        return Path(os.path.realpath(path)).is_relative_to(home)  # a symlink out of the folder is no way out

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


def build_pull_server(pull_root: Path, host: str, port: int, secret: bytes, passive_ports: range | None = None,
                      masquerade_address: str | None = None) -> FTPServer:
    """A ready (not yet serving) pull server bound to ``host``; ``port=0`` picks a free port.

    Serve it with ``server.serve_forever(timeout=0.5, handle_exit=False)`` in a
    thread and stop it with ``server.close_all()``, or use ``serve_pull_area``.
    """
    pull_root.mkdir(parents=True, exist_ok=True)
    handler = type("ArdisPullHandler", (FTPHandler,), {})
    handler.authorizer = PullAuthorizer(pull_root, secret)
    handler.banner = "Ardis FTP pull server ready."
    handler.permit_foreign_addresses = False
    handler.permit_privileged_ports = False
    if passive_ports is not None:
        handler.passive_ports = list(passive_ports)
    if masquerade_address:
        handler.masquerade_address = masquerade_address
    # Its own IOLoop: pyftpdlib's default is one per process, and two servers in
    # two threads of one process must not share it.
    server = FTPServer((host, port), handler, ioloop=IOLoop())
    server.max_cons = 256
    return server


def _exit_on_signal(_signum: int, _frame: object) -> None:
    raise SystemExit(0)  # pyftpdlib's serve_forever catches it, closes every socket and returns


def serve_pull_area(pull_root: Path, host: str, port: int, secret: bytes, passive_ports: range | None = None,
                    masquerade_address: str | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then close every connection and return."""
    server = build_pull_server(pull_root, host, port, secret, passive_ports, masquerade_address)
    previous = {sig: signal.signal(sig, _exit_on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.serve_forever(handle_exit=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close_all()
