"""A directory on this machine (an NFS/SMB mount, a provider's export, and the reference for tests).

The endpoint's directory is the root, as an FTP server chrooted there would show
it: absolute and relative paths are both read below it. Symlinks are resolved and
a path that ends outside the root is refused, like ``..``. Files are written
under a hidden temporary name and renamed, so a reader never sees half a file.
A fetch is copied by the kernel (``copy_file_range``) and hashed from the page cache.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from distribution.remote._base import (
    Endpoint,
    Fetched,
    PathEscape,
    PermissionRefused,
    RemoteError,
    RemoteFile,
    RemoteNotFound,
    TooLarge,
    TransferFailed,
    check_directory,
    check_path,
    check_size,
    get_one_by_one,
    one_by_one,
    temporary_name,
)
from distribution.remote._staging import StagingFile, pump, receive

_MISSING = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ELOOP}
_REFUSED = {errno.EACCES, errno.EPERM, errno.EROFS}


def _mapped(e: OSError, what: str) -> RemoteError:
    """Missing is RemoteNotFound, forbidden is refused; anything else (EIO, ENOSPC) may heal."""
    if e.errno in _MISSING:
        return RemoteNotFound(f"{what}: {e.strerror}")
    if e.errno in _REFUSED:
        return PermissionRefused(f"{what}: {e.strerror}")
    return TransferFailed(f"{what}: {e.strerror or e}")


class LocalFiles:
    """The files below ``endpoint.directory`` on this machine."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.root = Path(os.path.realpath(endpoint.directory or "/"))

    def __enter__(self) -> LocalFiles:
        if not self.root.is_dir():
            raise RemoteNotFound(f"directory {self.endpoint.directory or '/'} does not exist (or is not a directory)")
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def _resolve(self, path: str, directory: bool = False) -> Path:
        """The real path of ``path`` below the root, refused when it leads out."""
        check_directory(path) if directory else check_path(path)
        real = Path(os.path.realpath(self.root / path.lstrip("/")))
        if real != self.root and self.root not in real.parents:
            raise PathEscape(f"{path!r} leads out of {self.root}")
        return real

    def is_dir(self, path: str) -> bool:
        return self._resolve(path or ".", directory=True).is_dir()

    def list_files(self, directory: str, match: Callable[[str], bool] | None = None) -> list[RemoteFile]:
        where = self._resolve(directory or ".", directory=True)
        found = []
        try:
            with os.scandir(where) as entries:
                for entry in entries:
                    if match is not None and not match(entry.name):
                        continue
                    try:
                        if not entry.is_file():
                            continue
                        info = entry.stat()
                    except FileNotFoundError:
                        continue  # taken away while we looked
                    found.append(RemoteFile(entry.name, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC)))
        except OSError as e:
            raise _mapped(e, f"cannot list {where}") from e
        return sorted(found, key=lambda f: f.name)

    def size(self, path: str) -> int | None:
        try:
            return self._resolve(path).stat().st_size
        except FileNotFoundError:
            return None
        except OSError as e:
            raise _mapped(e, f"cannot stat {self.root / path.lstrip('/')}") from e

    def read_bytes(self, path: str, limit: int) -> bytes:
        real = self._resolve(path)
        try:
            with real.open("rb") as f:
                if (size := os.fstat(f.fileno()).st_size) > limit:
                    raise TooLarge(f"{real}: {size} bytes, at most {limit}")
                data = f.read(limit + 1)
        except OSError as e:
            raise _mapped(e, f"cannot read {real}") from e
        if len(data) > limit:
            raise TooLarge(f"{real}: more than {limit} bytes")
        return data

    def fetch(self, path: str, dst: Path, checksum_type: str | None) -> Fetched:
        source = self._resolve(path)
        try:
            f = source.open("rb", buffering=0)
        except OSError as e:
            raise _mapped(e, f"cannot open {source}") from e
        with f:
            def copy(staging: StagingFile) -> None:
                try:
                    if not staging.copy_from(f.fileno()):
                        pump(f.readinto, staging)  # type: ignore[arg-type]
                except OSError as e:
                    raise _mapped(e, f"reading {source} failed") from e

            return receive(dst, checksum_type, str(source), None, copy)

    def _write(self, path: str, tmp_name: str, write: Callable[[Path], object]) -> None:
        target = self._resolve(path)
        tmp = target.with_name(tmp_name)
        try:
            write(tmp)
            os.replace(tmp, target)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise _mapped(e, f"cannot write {target}") from e

    def put_file(self, local: Path, path: str) -> int:
        size = local.stat().st_size
        self._write(path, f".{Path(path).name}.part", lambda tmp: shutil.copyfile(local, tmp))
        check_size(self.endpoint, path, size, self.size(path))
        return size

    def put_files(self, files: Iterable[tuple[Path, str]]) -> Iterator[tuple[str, int]]:
        return one_by_one(self.put_file, files)

    def get_files(self, files: Iterable[tuple[str, Path, str | None]]) -> Iterator[tuple[str, Fetched]]:
        return get_one_by_one(self.fetch, files)

    def put_text(self, path: str, text: str, atomic: bool = False) -> None:
        """Always atomic here (a temporary name, fsynced, then renamed)."""
        def write(tmp: Path) -> None:
            with tmp.open("wb") as f:
                f.write(text.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())

        self._write(path, temporary_name(Path(path).name), write)
