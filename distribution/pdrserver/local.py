"""A PDR server that is a directory on this machine (a provider's NFS mount, and the reference for tests).

The endpoint's directory is the provider's root, as an FTP server chrooted there
would show it: absolute DIRECTORY_IDs are read below it, relative ones from it
too (it is also the login directory). Symlinks are resolved and a path that ends
outside the root is refused, like ``..``.
"""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from distribution.pdr import is_pdr_name
from distribution.pdrserver.base import (
    Fetched,
    PathEscape,
    PdrServerError,
    PdrTooLarge,
    ProviderCommandRefused,
    ProviderFileNotFound,
    ProviderTransferFailed,
    RemoteFile,
    StagingFile,
    check_directory,
    check_file_name,
    pump,
    receive,
    remote_path,
    temporary_name,
)
from distribution.transfer.base import Endpoint

_MISSING = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ELOOP}
_REFUSED = {errno.EACCES, errno.EPERM, errno.EROFS}


def _mapped(e: OSError, what: str) -> PdrServerError:
    """Missing is FILES NOT FOUND, forbidden is a refused command; anything else (EIO, ENOSPC) may heal."""
    if e.errno in _MISSING:
        return ProviderFileNotFound(f"{what}: {e.strerror}")
    if e.errno in _REFUSED:
        return ProviderCommandRefused(f"{what}: {e.strerror}")
    return ProviderTransferFailed(f"{what}: {e.strerror or e}")


class LocalPdrServer:
    """The polling directory ``polling_directory`` under the provider's root ``endpoint.directory``."""

    def __init__(self, endpoint: Endpoint, polling_directory: str) -> None:
        self.endpoint = endpoint
        self.root = Path(os.path.realpath(endpoint.directory or "/"))
        self.polling_directory = check_directory(polling_directory)
        self.polling = self.root

    def __enter__(self) -> LocalPdrServer:
        if not self.root.is_dir():
            raise ProviderFileNotFound(f"provider root {self.root} is not a directory")
        self.polling = self._resolve(self.polling_directory or ".")
        if not self.polling.is_dir():
            raise ProviderFileNotFound(f"polling directory {self.polling_directory!r} not found under {self.root}")
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def _resolve(self, path: str) -> Path:
        """The real path of ``path`` (absolute from the root, relative from it too), refused outside the root."""
        real = Path(os.path.realpath(self.root / path.lstrip("/")))
        if real != self.root and self.root not in real.parents:
            raise PathEscape(f"{path!r} leads out of the provider's root {self.root}")
        return real

    def _in_polling(self, name: str) -> Path:
        return self._resolve(str(self.polling.relative_to(self.root) / check_file_name(name)))

    def list_pdrs(self) -> list[RemoteFile]:
        found = []
        try:
            with os.scandir(self.polling) as entries:
                for entry in entries:
                    if not is_pdr_name(entry.name):
                        continue
                    try:
                        if not entry.is_file():
                            continue
                        info = entry.stat()
                    except FileNotFoundError:
                        continue  # taken away while we looked
                    found.append(RemoteFile(entry.name, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC)))
        except OSError as e:
            raise _mapped(e, f"cannot list {self.polling}") from e
        return sorted(found, key=lambda f: f.name)

    def read_pdr(self, name: str, limit: int) -> bytes:
        path = self._in_polling(name)
        try:
            with path.open("rb") as f:
                if os.fstat(f.fileno()).st_size > limit:
                    raise PdrTooLarge(f"{path}: {os.fstat(f.fileno()).st_size} bytes, at most {limit}")
                data = f.read(limit + 1)
        except OSError as e:
            raise _mapped(e, f"cannot read {path}") from e
        if len(data) > limit:
            raise PdrTooLarge(f"{path}: more than {limit} bytes")
        return data

    def fetch(self, directory_id: str, file_id: str, dst: Path, checksum_type: str | None) -> Fetched:
        source = self._resolve(remote_path(directory_id, file_id))
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

    def write_response(self, name: str, text: str) -> None:
        target = self._in_polling(name)
        tmp = target.with_name(temporary_name(name))
        try:
            with tmp.open("wb") as f:
                f.write(text.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise _mapped(e, f"cannot write {target}") from e
