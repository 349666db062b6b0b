"""SMB with smbprotocol's smbclient; the endpoint's directory is ``<share>/<path inside share>``.

Each client keeps its own connection cache, so two clients in one worker process
(different credentials, or a failed logon) never share or poison a session.
Relative paths start at the endpoint's directory, absolute ones at the share.

Timeouts: smbprotocol bounds only the negotiation; afterwards every reply is
awaited without limit (its receive thread drops a silent server after 2 x 10
minutes) and a send into a server that stopped reading blocks for ever. The
client makes the connection itself, so the endpoint's timeout is the receive
thread's keep-alive period (a silent server is dropped after two of them) and
the socket's send timeout.
"""

from __future__ import annotations

import errno
import posixpath
import shutil
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import smbclient
from smbclient import ClientConfig
from smbprotocol.connection import Connection
from smbclient._pool import get_smb_tree
from smbprotocol.exceptions import LogonFailure, SMBAuthenticationError, SMBException, SMBOSError, SMBResponseException
from smbprotocol.file_info import FileAttributes
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
    ShareAccess,
)

from distribution.remote._base import (
    Endpoint,
    Fetched,
    LoginRefused,
    NetworkFailure,
    PermissionRefused,
    RemoteError,
    RemoteFile,
    RemoteNotFound,
    StreamUploads,
    TooLarge,
    TransferFailed,
    Unreachable,
    check_directory,
    check_path,
    check_size,
    failed_at,
    failure_reason,
    one_by_one,
)
from distribution.remote._staging import StagingFile, pump, receive

BLOCK_SIZE = 1 << 20
#: A file up to this size goes as one compound request (create, write, close); a bigger one by ``put_file``.
COMPOUND_LIMIT = 1 << 20
#: Compound requests in flight at once in ``put_files`` (each waits for its own reply by message id).
IN_FLIGHT = 64
_MISSING = {errno.ENOENT, errno.ENOTDIR}
_REFUSED = {errno.EACCES, errno.EPERM, errno.EISDIR, errno.EROFS}


class SmbFiles(StreamUploads):
    """One SMB session on ``\\\\host\\share``, in the path inside the share."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.port = endpoint.port or 445
        share_path = endpoint.directory.strip("/\\").replace("/", "\\")
        self.share = f"\\\\{endpoint.host}\\{share_path.split(chr(92))[0]}"
        self.base = f"\\\\{endpoint.host}\\{share_path}"
        self._cache: dict[str, Any] = {}

    @property
    def _kw(self) -> dict[str, Any]:
        return {"port": self.port, "connection_cache": self._cache}

    @property
    def _timeout(self) -> int:
        return max(1, round(self.endpoint.timeout))

    def __enter__(self) -> SmbFiles:
        ep = self.endpoint
        check_directory(ep.directory)
        if not ep.directory.strip("/\\"):
            raise RemoteNotFound(f"{ep.where}: no share given (directory must be <share>/<path>)")
        try:
            self._connect()
            smbclient.register_session(ep.host, username=ep.username or None, password=ep.password or None,
                                       connection_timeout=self._timeout, **self._kw)
        except (LogonFailure, SMBAuthenticationError) as e:
            self._hang_up()
            raise LoginRefused(f"{ep.where}: logon as {ep.username} refused") from e
        except (OSError, SMBException, ValueError) as e:  # ValueError: smbprotocol's "failed to connect"
            self._hang_up()
            raise Unreachable(f"cannot connect to {ep.where}: {failure_reason(e, ep.timeout)}") from e
        try:
            is_dir = smbclient.path.isdir(self.base, **self._kw)
        except (SMBOSError, SMBException) as e:  # e.g. no such share
            self._hang_up()
            raise RemoteNotFound(f"{ep.where}: cannot use {ep.directory}: {e}") from e
        if not is_dir:
            self._hang_up()
            raise RemoteNotFound(f"{ep.where}: directory {ep.directory} does not exist")
        return self

    def _connect(self) -> None:
        """The TCP connection and negotiation with the timeouts set, in the cache where register_session looks."""
        conn = Connection(ClientConfig().client_guid, self.endpoint.host, self.port, require_signing=True)
        conn._receive_timeout = self._timeout  # read when the receive thread starts (in connect)
        self._cache[f"{self.endpoint.host.lower()}:{self.port}"] = conn
        conn.connect(timeout=self._timeout)
        conn.transport._sock.settimeout(self._timeout)  # sends: smbprotocol leaves the socket blocking

    def _hang_up(self) -> None:
        smbclient.reset_connection_cache(fail_on_error=False, connection_cache=self._cache)

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self._hang_up()

    def _path(self, path: str, directory: bool = False) -> str:
        check_directory(path) if directory else check_path(path)
        root = self.share if path.startswith("/") else self.base
        rest = posixpath.normpath(path or ".").strip("/").replace("/", "\\")
        return f"{root}\\{rest}" if rest and rest != "." else root

    @contextmanager
    def _mapped(self, what: str) -> Iterator[None]:
        """Missing is not found, forbidden is refused; other server errors and broken links may heal."""
        try:
            yield
        except SMBOSError as e:
            error: RemoteError
            if e.errno in _MISSING:
                error = RemoteNotFound(f"{what}: {e.strerror}")
            elif e.errno in _REFUSED:
                error = PermissionRefused(f"{what}: {e.strerror}")
            else:
                error = TransferFailed(f"{what}: {e.strerror}")
            raise error from e
        except (OSError, SMBException, ValueError) as e:
            raise NetworkFailure(f"{what}: transfer broke: {failure_reason(e, self.endpoint.timeout)}") from e

    def _at(self, path: str) -> str:
        return self.endpoint.at(path.lstrip("/"))

    def _stat(self, path: str) -> Any:
        with self._mapped(f"{self._at(path)}: stat failed"):
            try:
                return smbclient.stat(self._path(path, directory=True), **self._kw)
            except SMBOSError as e:
                if e.errno == errno.ENOENT:
                    return None
                raise

    def is_dir(self, path: str) -> bool:
        info = self._stat(path or ".")
        return info is not None and stat.S_ISDIR(info.st_mode)

    def list_files(self, directory: str, match: Callable[[str], bool] | None = None) -> list[RemoteFile]:
        found = []
        with self._mapped(f"{self._at(directory)}: cannot list"):
            for entry in smbclient.scandir(self._path(directory or ".", directory=True), **self._kw):
                if match is None or match(entry.name):
                    found.extend(self._plain(entry))
        return sorted(found, key=lambda f: f.name)

    def _plain(self, entry: Any) -> list[RemoteFile]:
        """The listing's own facts of a plain file ([] for a directory); a link is followed by a stat."""
        if entry.is_symlink():  # entry.stat() would reconnect on the default port: stat with ours
            try:
                info = smbclient.stat(entry.path, **self._kw)
            except SMBOSError:
                return []  # a dangling link
            if not stat.S_ISREG(info.st_mode):
                return []
            return [RemoteFile(entry.name, int(info.st_size), datetime.fromtimestamp(info.st_mtime, UTC))]
        facts = entry.smb_info
        if facts.file_attributes & FileAttributes.FILE_ATTRIBUTE_DIRECTORY:
            return []
        mtime = facts.last_write_time
        mtime = mtime.astimezone(UTC) if mtime.tzinfo else mtime.replace(tzinfo=UTC)
        return [RemoteFile(entry.name, int(facts.end_of_file), mtime)]

    def size(self, path: str) -> int | None:
        check_path(path)
        info = self._stat(path)
        return None if info is None else int(info.st_size)

    def read_bytes(self, path: str, limit: int) -> bytes:
        where = self._at(path)
        with self._mapped(f"{where}: cannot read"), smbclient.open_file(self._path(path), mode="rb", **self._kw) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise TooLarge(f"{where}: more than {limit} bytes")
        return bytes(data)

    def fetch(self, path: str, dst: Path, checksum_type: str | None) -> Fetched:
        where = self._at(path)
        announced = self.size(path)
        if announced is None:
            raise RemoteNotFound(f"{where}: no such file")

        def copy(staging: StagingFile) -> None:
            with self._mapped(f"{where}: download failed"), \
                    smbclient.open_file(self._path(path), mode="rb", **self._kw) as f:
                pump(f.readinto, staging)

        return receive(dst, checksum_type, where, announced, copy)

    def _store(self, path: str, source: BinaryIO) -> None:
        with self._mapped(f"{self._at(path)}: upload failed"), \
                smbclient.open_file(self._path(path), mode="wb", **self._kw) as out:  # truncates
            shutil.copyfileobj(source, out, BLOCK_SIZE)

    def _rename(self, tmp: str, path: str) -> None:
        with self._mapped(f"{self._at(path)}: cannot rename into place"):
            smbclient.replace(self._path(tmp), self._path(path), **self._kw)

    def _remove(self, path: str) -> None:
        try:
            smbclient.remove(self._path(path), **self._kw)
        except (OSError, SMBException, ValueError):
            pass

    # --- batches: one compound request per small file, several in flight ---------------------------

    def put_files(self, files: Iterable[tuple[Path, str]]) -> Iterator[tuple[str, int]]:
        """Each small file as one related compound (create-or-overwrite, write, close asking for the
        attributes): one round trip, and the close's end-of-file is the size check. Up to ``IN_FLIGHT``
        on the session; replies are taken in order, so a file is yielded only once its own close said
        it is whole. Bigger files go by ``put_file`` between them, the pipeline emptied first."""
        pending: deque[_InFlight] = deque()
        tree = self._tree()
        if not self._credits_for(IN_FLIGHT * 4 * 65536):  # room for a full pipeline of 100 KB files
            self._ask_credits()
        try:
            for local, path in files:
                size = local.stat().st_size
                if size > COMPOUND_LIMIT or size > self._connection().max_write_size:
                    while pending:
                        yield self._finish(pending.popleft())
                    yield from one_by_one(self.put_file, [(local, path)])
                    continue
                while pending and (len(pending) >= IN_FLIGHT or not self._credits_for(size)):
                    yield self._finish(pending.popleft())
                if not self._credits_for(size):
                    self._ask_credits()
                pending.append(self._send(tree, local, path, size))
            while pending:
                yield self._finish(pending.popleft())
        finally:
            for left in pending:  # a failure or an abandoned batch: take the replies still owed
                try:
                    _drain(left)
                except (OSError, SMBException, ValueError):
                    pass  # never yielded: the retry sends it again

    def _connection(self) -> Connection:
        return next(iter(self._cache.values()))  # type: ignore[no-any-return]

    def _credits_for(self, size: int) -> bool:
        window = self._connection().sequence_window
        return bool(window["high"] - window["low"] >= 3 + size // 65536 + 1)

    def _ask_credits(self) -> None:
        tree = self._tree()
        with self._mapped(f"{self.endpoint.where}: no credits from the server"):
            self._connection().echo(sid=tree.session.session_id, timeout=self._timeout, credit_request=512)

    def _tree(self) -> Any:
        tree, _ = get_smb_tree(self.base, **self._kw)
        return tree

    def _send(self, tree: Any, local: Path, path: str, size: int) -> _InFlight:
        name = self._path(check_path(path))[len(self.share) + 1:]
        data = local.read_bytes()
        fd = Open(tree, name)
        steps = [fd.create(ImpersonationLevel.Impersonation,
                           FilePipePrinterAccessMask.GENERIC_WRITE | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES,
                           FileAttributes.FILE_ATTRIBUTE_NORMAL, ShareAccess.FILE_SHARE_READ,
                           CreateDisposition.FILE_OVERWRITE_IF, CreateOptions.FILE_NON_DIRECTORY_FILE, send=False)]
        if data:
            steps.append(fd.write(data, 0, send=False))
        steps.append(fd.close(get_attributes=True, send=False))
        with self._mapped(f"{self._at(path)}: upload failed"):
            requests = fd.connection.send_compound([m for m, _ in steps], tree.session.session_id,
                                                   tree.tree_connect_id, related=True)
        return _InFlight(path, len(data), [(r, unpack) for r, (_, unpack) in zip(requests, steps, strict=True)])

    def _finish(self, sent: _InFlight) -> tuple[str, int]:
        """The replies of one compound; the first error (the others repeat it) is the file's failure."""
        try:
            with self._mapped(f"{self._at(sent.path)}: upload failed"):
                replies = _drain(sent)
                closed = replies[-1]
                check_size(self.endpoint, sent.path, sent.size,
                           None if closed is None else int(closed["end_of_file"].get_value()))
        except RemoteError as e:
            failed_at(e, sent.path)
            raise
        return sent.path, sent.size


class _InFlight:
    """One file's compound request on its way: the requests and how to read each reply."""

    def __init__(self, path: str, size: int, requests: list[tuple[Any, Callable[[Any], Any]]]) -> None:
        self.path = path
        self.size = size
        self.requests = requests
        self.replies: list[Any] | None = None


def _drain(sent: _InFlight) -> list[Any]:
    """Every reply of the compound taken (smbprotocol keeps each until it is), then the first error raised."""
    if sent.replies is not None:
        return sent.replies
    replies: list[Any] = []
    first: BaseException | None = None
    for request, unpack in sent.requests:
        try:
            replies.append(unpack(request))
        except SMBResponseException as e:
            replies.append(None)
            first = first or SMBOSError(e.status, sent.path)
        except (OSError, SMBException, ValueError) as e:
            replies.append(None)
            first = first or e
    sent.replies = replies
    if first is not None:
        raise first
    return replies
