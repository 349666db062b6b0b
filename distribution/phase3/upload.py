"""Seed 000, "6. Upload Data": each Open release's upload area, reachable only by secure transfer (SFTP).

The seed: "lftp -u user,pass phase3ftp.eso.org; cd program/collection/release;
mput *" and "Requires secure FTP client (FileZilla, lftp, etc.) — Standard FTP
doesn't work". Ardis serves the areas by **SFTP** (asyncssh, already Ardis's SSH
library) rather than FTPS: one port and one encrypted channel for commands and
data (no passive data ports to open, no plain-text fallback a client could be
talked into: a plain FTP client gets an SSH banner, not a login prompt), the
server's identity is its host key, and the clients the seed names (FileZilla,
lftp) speak it as well as curl and OpenSSH ``sftp`` do.

A login is an Ardis user id; its password is derived from the server secret
(``ardis phase3 upload-password``; nothing stored). A user may also log in with
an SSH key: ``ardis phase3 upload-key add USER FILE`` appends a public key to
``<ARDIS_PHASE3_ROOT>/keys/<user>`` (OpenSSH ``authorized_keys`` lines; public
keys only, so nothing secret is kept). The paths are
``/program/collection/release/file``: a user reaches only the releases where
they are the PI or a CoI, and only while the release is Open ("FTP area becomes
unavailable for the user" once it is closed). A release is one flat directory.
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import logging
import os
import posixpath
import threading
from pathlib import Path
from typing import Any

import asyncssh
from sqlalchemy import select

from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import NotFound, UserError
from distribution.identifiers import check_user_id
from distribution.orders.pull_server import pull_password
from distribution.secret import load_or_create_secret
from distribution.models import User
from distribution.phase3.areas import phase3_root, upload_area
from distribution.phase3.models import ReleaseState
from distribution.phase3.programs import Actor, Role, role_of
from distribution.phase3.releases import find_release

log = logging.getLogger(__name__)
HOST_KEY_NAME = "upload_host_key"
UPLOADERS = frozenset({Role.PI, Role.COI})


def upload_password(secret: bytes, user_id: str) -> str:
    """A user's upload password: an HMAC of the user id under the server secret (never stored)."""
    return pull_password(secret, f"phase3-upload:{user_id}")


def host_key(settings: Settings) -> asyncssh.SSHKey:
    """The server's host key, made on first use (mode 0600) under ``ARDIS_PHASE3_ROOT``."""
    path = phase3_root(settings) / HOST_KEY_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.export_private_key())
    return asyncssh.read_private_key(str(path))


def release_area_for(settings: Settings, user_id: str, program: str, collection: str, release: str) -> Path:
    """The upload area of ``program/collection/release`` when ``user_id`` may write there now, else PermissionError."""
    with session_scope(settings.database_url) as session:
        try:
            found = find_release(session, f"{program}/{collection}/{release}")
        except NotFound as e:
            raise PermissionError(errno.EACCES, str(e)) from e
        if role_of(session, found.collection.program, Actor(user_id)) not in UPLOADERS:
            raise PermissionError(errno.EACCES, f"{user_id} may not upload into {found.path}")
        if found.state is not ReleaseState.OPEN:
            raise PermissionError(errno.EACCES, f"release {found.path} is {found.state.value}: its area is closed")
        return upload_area(settings, found)


def keys_file(settings: Settings, user_id: str) -> Path:
    """The user's authorized public keys (``authorized_keys`` lines) for upload logins."""
    check_user_id(user_id)
    return phase3_root(settings) / "keys" / user_id


def add_upload_key(settings: Settings, user_id: str, public_key: str) -> str:
    """Let ``user_id`` (an Ardis user) log in with this OpenSSH public key; returns its SHA256 fingerprint.

    UserError for an unknown user or for text that is not one public key (a private key is refused too).
    """
    with session_scope(settings.database_url) as session:
        if session.scalar(select(User.id).where(User.user_id == user_id)) is None:
            raise UserError(f"no Ardis user {user_id}")
    if "PRIVATE KEY" in public_key:
        raise UserError("not an OpenSSH public key: that is a private key (send the .pub file; keep this one)")
    try:
        key = asyncssh.import_public_key(public_key.strip())
    except (asyncssh.KeyImportError, ValueError) as e:
        raise UserError(f"not an OpenSSH public key: {e}") from e
    path = keys_file(settings, user_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = key.export_public_key("openssh").decode().strip()
    known = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    if line not in known:
        with path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
    return str(key.get_fingerprint("sha256"))


def upload_keys(settings: Settings, user_id: str) -> list[str]:
    """The fingerprints of the keys ``user_id`` may log in with."""
    path = keys_file(settings, user_id)
    if not path.exists():
        return []
    return [str(asyncssh.import_public_key(line).get_fingerprint("sha256"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class _Auth(asyncssh.SSHServer):  # type: ignore[misc]
    def __init__(self, settings: Settings, secret: bytes) -> None:
        self.settings, self.secret = settings, secret

    def _known(self, username: str) -> bool:
        with session_scope(self.settings.database_url) as session:
            return session.scalar(select(User.id).where(User.user_id == username)) is not None

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        ok = hmac.compare_digest(upload_password(self.secret, username).encode(), password.encode())
        known = self._known(username)
        if not (known and ok):
            log.info("upload login refused for %r", username)
        return known and ok

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        """The key is one of the user's (``ardis phase3 upload-key add``) and the user exists."""
        try:
            path = keys_file(self.settings, username)
        except UserError:
            return False
        if not path.exists() or not self._known(username):
            return False
        offered = key.export_public_key("openssh").split()[:2]
        return any(line.split()[:2] == offered for line in path.read_bytes().splitlines() if line.strip())


class _ReleaseAreas(asyncssh.SFTPServer):  # type: ignore[misc]
    """``/program/collection/release/file`` mapped onto the upload areas the login may write now."""

    def __init__(self, chan: Any, settings: Settings) -> None:
        self.settings = settings
        self.user = chan.get_extra_info("username")
        self.nowhere = phase3_root(settings) / "empty"
        self.nowhere.mkdir(parents=True, exist_ok=True)
        super().__init__(chan)

    def map_path(self, path: bytes) -> bytes:
        parts = [p for p in posixpath.normpath(posixpath.join(b"/", path)).decode().split("/") if p]
        if len(parts) < 3:  # above the releases: an empty directory (nobody lists others' programs)
            return bytes(self.nowhere)
        if len(parts) > 4:
            raise PermissionError(errno.EACCES, "a release is one flat directory")
        area = release_area_for(self.settings, self.user, *parts[:3])
        return bytes(area / parts[3]) if len(parts) == 4 else bytes(area)

    def realpath(self, path: bytes) -> bytes:
        return posixpath.normpath(posixpath.join(b"/", path))

    def mkdir(self, path: bytes, attrs: Any) -> None:
        raise PermissionError(errno.EACCES, "a release is one flat directory")

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise PermissionError(errno.EACCES, "no links in an upload area")

    link = symlink


async def _listen(settings: Settings, host: str, port: int) -> Any:
    secret = load_or_create_secret(settings.home)
    return await asyncssh.listen(
        host, port, server_host_keys=[host_key(settings)], server_factory=lambda: _Auth(settings, secret),
        sftp_factory=lambda chan: _ReleaseAreas(chan, settings), allow_scp=False)


class UploadServer:
    """The SFTP upload server on its own event loop thread (``start``, ``port``, ``close``)."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 0) -> None:
        self.settings, self.host, self.port = settings, host, port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="phase3-upload", daemon=True)
        self.server: Any = None

    def start(self) -> UploadServer:
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(_listen(self.settings, self.host, self.port),
                                                       self.loop).result(timeout=30)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            asyncio.run_coroutine_threadsafe(self.server.wait_closed(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def serve_uploads(settings: Settings, host: str, port: int) -> None:
    """Serve the upload areas until interrupted (``ardis phase3 upload-server``)."""
    async def main() -> None:
        server = await _listen(settings, host, port)
        await server.wait_closed()
    asyncio.run(main())
