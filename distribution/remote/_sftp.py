"""SSH file access with asyncssh (SFTP; SCP or the OpenSSH client for uploads); the host key is always verified.

asyncssh rather than paramiko: ~2x paramiko's throughput here. Uploads go by the
OpenSSH ``scp`` client for key logins (``_openssh``; ``ARDIS_SCP_CLIENT=asyncssh``
turns it off), else by the SCP protocol when the server offers ``scp`` (~35% less
client CPU than SFTP writes in asyncssh), else SFTP (``ForceCommand internal-sftp``,
appliances); the choice is made at the first upload, so a reading connection pays
for none of it. Directory checks, sizes, listings, reads and texts always use SFTP.

SFTP shows the server's real file system: absolute paths are real paths there,
relative ones start at the endpoint's directory (else the login's home). Downloads
are read in large requests with the next one in flight while the current one is
written; the checksum runs in the staging file's thread. Atomic texts are renamed
with ``posix-rename@openssh.com``, which replaces an older file (plain SFTP v3
rename refuses to).

The interface is synchronous: each connection runs its own event loop, so it can
be used from any thread (an Airflow task, a test) without touching a running loop.
"""

from __future__ import annotations

import asyncio
import posixpath
import shlex
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import asyncssh

from distribution.remote import _openssh
from distribution.remote._base import (
    Endpoint,
    Fetched,
    HostKeyMismatch,
    LoginRefused,
    NetworkFailure,
    PermissionRefused,
    Refused,
    RemoteError,
    RemoteFile,
    RemoteNotFound,
    TooLarge,
    TransferFailed,
    Unreachable,
    check_directory,
    check_path,
    check_size,
    failed_at,
    failure_reason,
    get_one_by_one,
    one_by_one,
    temporary_path,
)
from distribution.remote._staging import StagingFile, receive

# SFTP: -1 takes the server's own write limit (OpenSSH announces 255 KiB through
# limits@openssh.com), else asyncssh's safe 16 KiB; many requests in flight keep the window full.
BLOCK_SIZE = -1
MAX_REQUESTS = 128
SCP_BLOCK_SIZE = 1 << 20
#: Bytes asked for per read; asyncssh splits it into parallel requests of the server's read limit.
READ_SIZE = 4 << 20
KEEPALIVE_COUNT = 3
#: A batch with this many files in one directory checks what stands there by one listing, not a stat each.
LIST_FROM = 16
#: Uploads in flight at once in ``put_files``.
IN_FLIGHT = 32
# What a remote scp says when the place is wrong, rather than the network or the disk.
_PATH_TEXTS = ("No such file or directory", "Permission denied", "Not a directory", "Is a directory",
               "Read-only file system", "Operation not permitted")

T = TypeVar("T")


def connect_options(ep: Endpoint) -> dict[str, Any]:
    """Connection options: only what the endpoint says; no ~/.ssh config, agent or default keys."""
    if not ep.known_hosts or not ep.known_hosts.strip():
        raise HostKeyMismatch(f"{ep.where}: no host key on record for {ep.host}; refusing to connect")
    try:
        known_hosts = asyncssh.import_known_hosts(ep.known_hosts)
    except (ValueError, asyncssh.Error) as e:
        raise HostKeyMismatch(f"{ep.where}: the host key on record cannot be read: {e}") from e
    client_keys = None
    if ep.private_key:
        try:
            client_keys = [asyncssh.import_private_key(ep.private_key)]
        except (ValueError, asyncssh.KeyImportError) as e:
            raise LoginRefused(f"{ep.where}: the private key cannot be read (or needs a passphrase)") from e
    return {
        "port": ep.port or 22,
        "username": ep.username or None,
        "password": ep.password or None,
        "client_keys": client_keys,
        "known_hosts": known_hosts,
        "agent_path": None,
        "config": [],
        "connect_timeout": ep.timeout,  # TCP connect and the SSH handshake
        "login_timeout": ep.timeout,
        # the read timeout: a server silent for about ep.timeout is dropped, in the middle of a transfer too
        "keepalive_interval": ep.timeout / (KEEPALIVE_COUNT + 1),
        "keepalive_count_max": KEEPALIVE_COUNT,
    }


class _Client(asyncssh.SSHClient):
    """Keeps why the connection ended: SFTP calls then only say "Connection closed"."""

    lost: Exception | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc


def _mapped(e: BaseException, what: str, reason: str) -> RemoteError:
    """The RemoteError for ``e``; ``reason`` says why the connection broke (e.g. "timed out ...")."""
    if isinstance(e, (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath)):
        return RemoteNotFound(f"{what}: no such file or directory")
    if isinstance(e, asyncssh.SFTPPermissionDenied):
        return PermissionRefused(f"{what}: permission denied")
    if isinstance(e, (asyncssh.SFTPFailure, asyncssh.SFTPConnectionLost, asyncssh.SFTPNoConnection)):
        if any(text in e.reason for text in _PATH_TEXTS):  # a remote scp's complaint about the place
            return PermissionRefused(f"{what}: {e.reason}")
        if isinstance(e, asyncssh.SFTPFailure):
            return TransferFailed(f"{what}: {e.reason}")
        return NetworkFailure(f"{what}: connection lost: {reason}")
    if isinstance(e, asyncssh.SFTPError):
        return Refused(f"{what}: {e.reason}")
    return NetworkFailure(f"{what}: connection broke: {reason}")


class SftpFiles:
    """One SSH connection with one SFTP session (SCP channels or the OpenSSH client for uploads)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.base = check_directory(endpoint.directory)
        self.loop = asyncio.new_event_loop()
        self.conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self.client = _Client()  # the connection's owner: it learns why the connection ended
        self.use_scp = False  # decided at the first upload: does the server run scp for us?
        self.openssh: _openssh.OpenSshCopier | None = None  # key logins: uploads by the OpenSSH client
        self._upload_chosen = False

    # --- the connection ---

    def _reason(self, e: BaseException) -> str:
        """``failure_reason`` of ``e``, or of the connection's end when that was the cause (a keep-alive timeout)."""
        lost = self.client.lost
        return failure_reason(lost if lost is not None else e, self.endpoint.timeout)

    def _run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)

    def __enter__(self) -> SftpFiles:
        try:
            self._run(self._connect())
        except BaseException:
            self._close()
            raise
        return self

    async def _connect(self) -> None:
        ep = self.endpoint
        options = connect_options(ep)
        try:
            self.conn = await asyncssh.connect(ep.host, client_factory=lambda: self.client, **options)
        except asyncssh.HostKeyNotVerifiable as e:
            raise HostKeyMismatch(f"{ep.where}: host key of {ep.host} does not match the one on record") from e
        except asyncssh.PermissionDenied as e:
            raise LoginRefused(f"{ep.where}: authentication as {ep.username} refused") from e
        except (TimeoutError, OSError, asyncssh.Error) as e:
            raise Unreachable(f"cannot connect to {ep.where}: {failure_reason(e, ep.timeout)}") from e
        try:
            self._sftp = await self.conn.start_sftp_client()
        except (OSError, asyncssh.Error) as e:
            raise Unreachable(f"{ep.where}: SFTP session failed: {failure_reason(e, ep.timeout)}") from e
        if self.base:
            attrs = await self._stat(self.base, f"{ep.where}: cannot use directory {self.base}")
            if attrs is None:
                raise RemoteNotFound(f"{ep.where}: directory {self.base} does not exist")
            if attrs.type != asyncssh.FILEXFER_TYPE_DIRECTORY:
                raise RemoteNotFound(f"{ep.where}: {self.base} is not a directory")

    def _close(self) -> None:
        try:
            if self._sftp is not None:
                self._sftp.exit()
            if self.conn is not None:
                self.conn.close()
                self._run(self.conn.wait_closed())
        except (OSError, asyncssh.Error):
            pass  # hanging up on a broken connection: nothing left to save
        finally:
            self._sftp = self.conn = None
            self.loop.close()
            if self.openssh is not None:
                self.openssh.close()
                self.openssh = None

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self._close()

    @property
    def sftp(self) -> asyncssh.SFTPClient:
        if self._sftp is None:
            raise Refused(f"{self.endpoint.where}: not connected (use the client as a context manager)")
        return self._sftp

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except (TimeoutError, OSError, asyncssh.Error) as e:
            raise _mapped(e, what, self._reason(e)) from e

    def _path(self, path: str) -> str:
        return posixpath.join(self.base, path) if self.base and not path.startswith("/") else path

    def _at(self, path: str) -> str:
        """For messages: the endpoint plus the path below it."""
        base = self.base.rstrip("/") + "/"
        return self.endpoint.at(path[len(base):] if self.base and path.startswith(base) else path.lstrip("/"))

    async def _stat(self, path: str, what: str) -> asyncssh.SFTPAttrs | None:
        with self._guard(what):
            try:
                return await self.sftp.stat(path)
            except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath):
                return None

    # --- reading ---

    def is_dir(self, path: str) -> bool:
        full = self._path(check_directory(path) or ".")
        attrs = self._run(self._stat(full, f"{self._at(full)}: stat"))
        return attrs is not None and attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY

    def list_files(self, directory: str, match: Callable[[str], bool] | None = None) -> list[RemoteFile]:
        return self._run(self._list(self._path(check_directory(directory) or "."), match))

    async def _list(self, directory: str, match: Callable[[str], bool] | None) -> list[RemoteFile]:
        found = []
        with self._guard(f"{self._at(directory)}: cannot list"):
            names = await self.sftp.readdir(directory)
        for entry in names:
            name = str(entry.filename)
            if match is not None and not match(name):
                continue
            attrs = entry.attrs
            if attrs.type == asyncssh.FILEXFER_TYPE_SYMLINK:
                try:
                    attrs = await self.sftp.stat(posixpath.join(directory, name))
                except asyncssh.SFTPError:
                    continue  # a dangling link
            if attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
                continue
            mtime = None if attrs.mtime is None else datetime.fromtimestamp(attrs.mtime, UTC)
            found.append(RemoteFile(name, int(attrs.size or 0), mtime))
        return sorted(found, key=lambda f: f.name)

    def size(self, path: str) -> int | None:
        full = self._path(check_path(path))
        attrs = self._run(self._stat(full, f"{self._at(full)}: stat failed"))
        return None if attrs is None else attrs.size

    async def _regular(self, path: str, what: str) -> int:
        """The size of the plain file at ``path``; missing is RemoteNotFound, a directory or device is refused."""
        with self._guard(what):
            attrs = await self.sftp.stat(path)
        if attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
            raise Refused(f"{what}: not a plain file")
        return int(attrs.size or 0)

    def read_bytes(self, path: str, limit: int) -> bytes:
        return self._run(self._read_bytes(self._path(check_path(path)), limit))

    async def _read_bytes(self, path: str, limit: int) -> bytes:
        where = self._at(path)
        if (size := await self._regular(path, f"{where}: cannot read")) > limit:
            raise TooLarge(f"{where}: {size} bytes, at most {limit}")
        with self._guard(f"{where}: cannot read"):
            async with self.sftp.open(path, "rb") as f:
                data = await f.read(limit + 1)
        if len(data) > limit:
            raise TooLarge(f"{where}: more than {limit} bytes")
        return bytes(data)

    def fetch(self, path: str, dst: Path, checksum_type: str | None) -> Fetched:
        full = self._path(check_path(path))
        where = self._at(full)
        announced = self._run(self._regular(full, f"{where}: not available"))
        return receive(dst, checksum_type, where, announced,
                       lambda staging: self._run(self._read_into(full, staging, f"{where}: download failed")))

    def get_files(self, files: Iterable[tuple[str, Path, str | None]]) -> Iterator[tuple[str, Fetched]]:
        """One after the other on this connection, each read with its next request in flight."""
        return get_one_by_one(self.fetch, files)

    async def _read_into(self, path: str, staging: StagingFile, what: str) -> None:
        """Large reads with the next one in flight while a worker thread writes the last one."""
        with self._guard(what):
            async with self.sftp.open(path, "rb", block_size=-1, max_requests=MAX_REQUESTS) as f:
                offset = 0
                pending = asyncio.ensure_future(f.read(READ_SIZE, offset))
                try:
                    while data := await pending:
                        offset += len(data)
                        pending = asyncio.ensure_future(f.read(READ_SIZE, offset))
                        await asyncio.to_thread(staging.put, data)
                finally:
                    pending.cancel()

    # --- writing ---

    async def _choose_upload(self) -> None:
        """OpenSSH's client for key logins, else SCP when the login shell has ``scp``, else SFTP."""
        if self._upload_chosen:
            return
        if _openssh.usable(self.endpoint):
            self.openssh = _openssh.OpenSshCopier(self.endpoint)  # the OpenSSH client picks its own protocol
        else:
            self.use_scp = await self._server_has_scp()
        self._upload_chosen = True

    async def _server_has_scp(self) -> bool:
        """Ask the login shell for ``scp``; an SFTP-only server answers nothing (stdin is closed at once)."""
        assert self.conn is not None
        try:
            result = await asyncio.wait_for(self.conn.run("command -v scp", input="", check=False),
                                            self.endpoint.timeout)
        except (TimeoutError, OSError, asyncssh.Error):
            return False
        return result.exit_status == 0 and "scp" in str(result.stdout or "")

    async def _copy(self, local: Path, path: str, batch: bool = False) -> None:
        attrs = await self._stat(path, f"{self._at(path)}: stat failed")
        if attrs is not None and attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
            # scp and SFTP put would both copy INTO a directory of that name: refuse instead.
            raise PermissionRefused(f"{self._at(path)}: a directory stands there")
        # All three replace a partial file from an earlier try (scp truncates, put opens with O_TRUNC).
        with self._guard(f"{self._at(path)}: upload failed"):
            if self.openssh is not None:
                await asyncio.to_thread(self.openssh.copy, local, path)
            elif self.use_scp and not batch:  # an SCP channel per file costs ~0.1 s: batches go by SFTP
                # The remote shell reads the path: quote it (directories come from subscriptions, i.e. from users).
                await asyncssh.scp(str(local), (self.conn, shlex.quote(path)), block_size=SCP_BLOCK_SIZE)
            else:
                await self.sftp.put(str(local), path, block_size=BLOCK_SIZE, max_requests=MAX_REQUESTS)

    async def _put_checked(self, local: Path, path: str, batch: bool = False) -> int:
        """One upload with its size checked after the copy."""
        size = local.stat().st_size
        full = self._path(check_path(path))
        await self._copy(local, full, batch)
        attrs = await self._stat(full, f"{self._at(full)}: stat failed")
        check_size(self.endpoint, path, size, None if attrs is None else attrs.size)
        return size

    def put_file(self, local: Path, path: str) -> int:
        self._run(self._choose_upload())
        return self._run(self._put_checked(local, path))

    def put_files(self, files: Iterable[tuple[Path, str]]) -> Iterator[tuple[str, int]]:
        """Key logins: batches of files per OpenSSH ``scp`` over one ControlMaster connection; else up to
        ``IN_FLIGHT`` uploads at once on this connection (SFTP requests or SCP channels). Each file is
        yielded once whole and size-checked; the first failure is raised with its ``path``."""
        self._run(self._choose_upload())
        if self.openssh is not None:
            return self._put_batches(files)
        return self._put_pipelined(files)

    def _put_batches(self, files: Iterable[tuple[Path, str]]) -> Iterator[tuple[str, int]]:
        """One ``sftp -b`` for the batch (``_openssh.put_many``): the targets are checked first (a directory
        standing there is refused, as ``sftp put`` would copy into it), each file's size as it is whole."""
        assert self.openssh is not None
        items = [(local, path, self._path(check_path(path))) for local, path in files]
        before = self._run(self._targets([full for _, _, full in items]))
        bad = next((i for i, a in enumerate(before) if a is not None and a.type == asyncssh.FILEXFER_TYPE_DIRECTORY),
                   len(items))
        go = [(local, path, full) for local, path, full in items[:bad] if _openssh.batch_safe(local, full)]
        odd = [(local, path) for local, path, full in items[:bad] if not _openssh.batch_safe(local, full)]
        if go:
            done = self.openssh.put_many([(local, full) for local, _, full in go])
            full = ""
            try:
                for indexes in done:
                    after = self._run(self._stat_all([go[i][2] for i in indexes]))
                    for i, attrs in zip(indexes, after, strict=True):
                        local, path, full = go[i]
                        check_size(self.endpoint, path, local.stat().st_size, None if attrs is None else attrs.size)
                        yield path, int(attrs.size)  # type: ignore[union-attr]
            except RemoteError as e:
                e.path = {full: path for _, path, full in go}.get(e.path or full, e.path)  # the caller's name
                raise
            finally:
                done.close()
        yield from one_by_one(self.put_file, odd)
        if bad < len(items):
            path = items[bad][1]
            raise failed_at(PermissionRefused(f"{self._at(items[bad][2])}: a directory stands there"), path)

    async def _targets(self, paths: list[str]) -> list[asyncssh.SFTPAttrs | None]:
        """What stands at each path now: one listing per directory holding many of them, else a stat each."""
        by_directory: dict[str, list[str]] = {}
        for path in paths:
            by_directory.setdefault(posixpath.dirname(path), []).append(path)
        found: dict[str, asyncssh.SFTPAttrs | None] = {}
        for directory, inside in by_directory.items():
            if len(inside) < LIST_FROM:
                found.update(zip(inside, await self._stat_all(inside), strict=True))
                continue
            with self._guard(f"{self._at(directory or '.')}: cannot list"):
                listed = {str(e.filename): e.attrs for e in await self.sftp.readdir(directory or ".")}
            found.update((path, listed.get(posixpath.basename(path))) for path in inside)
            links = [path for path in inside if (a := found[path]) is not None and a.type == asyncssh.FILEXFER_TYPE_SYMLINK]
            found.update(zip(links, await self._stat_all(links), strict=True))  # what a link leads to counts
        return [found[path] for path in paths]

    async def _stat_all(self, paths: list[str]) -> list[asyncssh.SFTPAttrs | None]:
        """The attributes of many paths, requests pipelined on the SFTP session."""
        return list(await asyncio.gather(*(self._stat(p, f"{self._at(p)}: stat failed") for p in paths)))

    def _put_pipelined(self, files: Iterable[tuple[Path, str]]) -> Iterator[tuple[str, int]]:
        """Up to ``IN_FLIGHT`` uploads at once on this connection (SFTP requests or SCP channels side by
        side), yielded as each is whole. The transfers move while the loop runs, i.e. while this waits for
        the next one. After a failure no new upload starts; those in flight finish (and are yielded when
        whole), then the first error is raised. A caller that stops early (or an interrupt) cancels what
        is in flight: a retry replaces those partial copies."""
        todo = iter(files)
        running: dict[asyncio.Task[int], str] = {}
        failure: BaseException | None = None
        try:
            while True:
                while failure is None and len(running) < IN_FLIGHT and (item := next(todo, None)) is not None:
                    running[self.loop.create_task(self._put_checked(*item, batch=True))] = item[1]
                if not running:
                    break
                done, _ = self._run(asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED))
                for task in sorted(done, key=lambda t: running[t]):
                    path = running.pop(task)
                    if (error := task.exception()) is None:
                        yield path, task.result()
                    elif failure is None:
                        failure = failed_at(error, path)
        finally:
            for task in running:
                task.cancel()
            if running:
                self._run(asyncio.gather(*running, return_exceptions=True))
        if failure is not None:
            raise failure

    def put_text(self, path: str, text: str, atomic: bool = False) -> None:
        full = self._path(check_path(path))
        self._run(self._put_text(full, temporary_path(full) if atomic else full, text))

    async def _put_text(self, target: str, tmp: str, text: str) -> None:
        try:
            with self._guard(f"{self._at(target)}: cannot write"):
                async with self.sftp.open(tmp, "wb") as f:
                    await f.write(text.encode("utf-8"))
                if tmp != target:
                    try:
                        await self.sftp.posix_rename(tmp, target)  # replaces an older file in one step
                    except asyncssh.SFTPOpUnsupported:
                        await self.sftp.rename(tmp, target)
        except BaseException:
            if tmp != target:
                try:
                    await self.sftp.remove(tmp)  # our own temporary file, never someone else's
                except (OSError, asyncssh.Error):
                    pass
            raise
