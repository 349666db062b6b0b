"""Push into a local or mounted directory (and the reference for the other pushers)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from types import TracebackType

from distribution.transfer.base import Endpoint, RemotePathError, TransferRetryable, check_name, check_size


class LocalPusher:
    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.root = Path(endpoint.directory)

    def __enter__(self) -> LocalPusher:
        if not self.root.is_dir():
            raise RemotePathError(f"destination directory does not exist: {self.root}")
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def _write(self, remote_name: str, write: object) -> None:
        check_name(remote_name)
        tmp = self.root / f".{remote_name}.part"
        try:
            write(tmp)  # type: ignore[operator]
            os.replace(tmp, self.root / remote_name)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            if e.errno in (errno.EACCES, errno.EROFS, errno.ENOENT):
                raise RemotePathError(f"cannot write {self.root / remote_name}: {e.strerror}") from e
            raise TransferRetryable(f"writing {self.root / remote_name} failed: {e.strerror}") from e

    def put_file(self, local: Path, remote_name: str) -> int:
        self._write(remote_name, lambda tmp: shutil.copyfile(local, tmp))
        size = local.stat().st_size
        check_size(self.endpoint, remote_name, size, self.remote_size(remote_name))
        return size

    def put_text(self, remote_name: str, text: str) -> None:
        self._write(remote_name, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def remote_size(self, remote_name: str) -> int | None:
        try:
            return (self.root / remote_name).stat().st_size
        except FileNotFoundError:
            return None
