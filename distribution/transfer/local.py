"""Push into a local or mounted directory (a site's NFS/SMB mount, and the tests' reference pusher).

Files are written as ``.<name>.part`` and renamed, so a reader of the directory
never sees half a file and a retry simply writes again.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from distribution.paths import under
from distribution.transfer.base import Endpoint, RemotePathError, TransferRetryable, check_name, check_size

_PATH_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR, errno.EISDIR}


class LocalPusher:
    """Copies into ``endpoint.directory`` on this machine."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.root = Path(endpoint.directory)

    def __enter__(self) -> LocalPusher:
        if not self.root.is_dir():
            raise RemotePathError(f"destination directory does not exist: {self.root}")
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def _write(self, remote_name: str, write: Callable[[Path], object]) -> None:
        check_name(remote_name)
        target = under(self.root, remote_name)
        tmp = under(self.root, f".{remote_name}.part")
        try:
            write(tmp)
            os.replace(tmp, target)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            if e.errno in _PATH_ERRNOS:
                raise RemotePathError(f"cannot write {self.root / remote_name}: {e.strerror}") from e
            raise TransferRetryable(f"writing {self.root / remote_name} failed: {e.strerror}") from e

    def put_file(self, local: Path, remote_name: str) -> int:
        size = local.stat().st_size
        self._write(remote_name, lambda tmp: shutil.copyfile(local, tmp))
        check_size(self.endpoint, remote_name, size, self.remote_size(remote_name))
        return size

    def put_text(self, remote_name: str, text: str) -> None:
        self._write(remote_name, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def remote_size(self, remote_name: str) -> int | None:
        check_name(remote_name)
        try:
            return under(self.root, remote_name).stat().st_size
        except FileNotFoundError:
            return None
