"""The local side of a fetch: ``<dst>.part`` written block by block, checksummed in the same pass.

``fetch`` writes ``<dst>.part`` and renames it to ``dst`` when whole, so a
partial file of an earlier try is replaced and never mistaken for a product. The
checksum is computed in the same pass by a second thread (hashlib and fastcrc
release the GIL), so reading and writing overlap with hashing. A local source is
copied by the kernel (``copy_file_range``, 64 MiB windows) and each window of the
staged copy is hashed from the page cache while the next is copied: exactly the
bytes that landed, with no copy through Python (writes from Python interleaved
with hashing ran at half the speed of ``cp`` + ``md5sum`` on this machine's ext4). ``dst`` is not
fsynced: staging is refetched when a run dies; the archive step makes it durable.
"""

from __future__ import annotations

import errno
import mmap
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from distribution.checksums import WINDOW_SIZE, Buffer, StreamingChecksum
from distribution.remote._base import Fetched, LocalWriteFailed, TransferFailed

#: Read size of every fetch; 1 MiB stays in L2 between the copy and the checksum.
BLOCK_SIZE = 1 << 20
#: Blocks in flight between the reading thread and the checksum thread.
BUFFERS = 4


class StagingFile:
    """``<dst>.part`` being written block by block, with the checksum computed by a second thread.

    The reader asks ``buffer()`` for a free block, fills it, and hands it to ``put``;
    the block returns to the pool once hashed. ``put`` also takes bytes it does not
    own (SFTP reads). ``finish`` renames to ``dst``; ``discard`` removes the part.
    """

    def __init__(self, dst: Path, checksum_type: str | None, block_size: int = BLOCK_SIZE) -> None:
        self.dst = dst
        self.part = dst.with_name(dst.name + ".part")
        self.size = 0
        self._state = StreamingChecksum.new(checksum_type) if checksum_type else None
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(BUFFERS if self._state else 1):
            self._free.put(bytearray(block_size))
        # (bytes, their block) or (offset, length) of the staged copy itself, written by the kernel
        self._todo: queue.SimpleQueue[tuple[Buffer | tuple[int, int], bytearray | None] | None] = queue.SimpleQueue()
        self._hasher: threading.Thread | None = None
        self._failure: BaseException | None = None
        try:
            self._out = open(self.part, "w+b", buffering=0)  # noqa: SIM115 - closed in finish/discard; read: mmap
        except OSError as e:
            raise LocalWriteFailed(f"cannot write {self.part}: {e.strerror}") from e
        if self._state is not None:
            self._hasher = threading.Thread(target=self._hash, name="fetch-checksum", daemon=True)
            self._hasher.start()

    def _hash(self) -> None:
        assert self._state is not None
        while (item := self._todo.get()) is not None:
            data, owned = item
            try:
                if self._failure is None and isinstance(data, tuple):
                    self._hash_staged(*data)
                elif self._failure is None:
                    self._state.update(data)
            except BaseException as e:  # noqa: BLE001 - handed to the reading thread in finish()
                self._failure = e
            finally:
                if owned is not None:
                    self._free.put(owned)

    def _hash_staged(self, offset: int, length: int) -> None:
        """Checksum a range of the staged copy from the page cache (just written, so no disk read)."""
        assert self._state is not None
        with mmap.mmap(self._out.fileno(), length, mmap.MAP_SHARED, mmap.PROT_READ, offset=offset) as mapped:
            view = memoryview(mapped)
            try:
                self._state.update(view)
            finally:
                view.release()

    def copy_from(self, fd: int) -> bool:
        """Copy the rest of the open file ``fd`` in the kernel (``copy_file_range``), hashing each
        window of the staged copy while the next one is copied; False when the kernel cannot
        (nothing written then: use ``pump``). Source and staging errors look alike here: ENOSPC and
        EDQUOT are the staging disk's, the rest the source's (raised as OSError).
        """
        while True:
            token = self._free.get() if self._state else None  # at most BUFFERS windows ahead of the checksum
            try:
                n = os.copy_file_range(fd, self._out.fileno(), WINDOW_SIZE)
            except OSError as e:
                if token is not None:
                    self._free.put(token)
                if e.errno in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP) and self.size == 0:
                    return False
                if e.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise LocalWriteFailed(f"writing {self.part} failed: {e.strerror}") from e
                raise
            if n and self._state is not None:
                self._todo.put(((self.size, n), token))
            elif token is not None:
                self._free.put(token)
            self.size += n
            if not n:
                return True

    def buffer(self) -> bytearray:
        """A block to read into (waits while every block is still being hashed)."""
        return self._free.get()

    def put(self, data: Buffer, owned: bytearray | None = None) -> None:
        """Write ``data`` and queue it for the checksum; ``owned`` (the block behind it) comes back when hashed."""
        view = memoryview(data)
        try:
            written = 0
            while written < len(view):
                written += self._out.write(view[written:]) or 0
        except OSError as e:
            if owned is not None:
                self._free.put(owned)
            raise LocalWriteFailed(f"writing {self.part} failed: {e.strerror}") from e
        self.size += len(view)
        if self._state is None:
            if owned is not None:
                self._free.put(owned)
        else:
            # Data we do not own still takes a block's place: at most BUFFERS blocks wait for the checksum.
            self._todo.put((view, self._free.get() if owned is None else owned))

    def _stop_hasher(self) -> None:
        if self._hasher is not None:
            self._todo.put(None)
            self._hasher.join()
            self._hasher = None

    def finish(self) -> Fetched:
        """Wait for the checksum, close, and put the file in place as ``dst``."""
        self._stop_hasher()
        try:
            self._out.close()
            if self._failure is not None:
                raise self._failure
            os.replace(self.part, self.dst)
        except OSError as e:
            self.discard()
            raise LocalWriteFailed(f"cannot finish {self.dst}: {e.strerror}") from e
        except BaseException:
            self.discard()
            raise
        return Fetched(self.size, self._state.value() if self._state else None)

    def discard(self) -> None:
        """Give up: stop hashing, close, and remove the partial file."""
        self._stop_hasher()
        self._out.close()
        self.part.unlink(missing_ok=True)


def pump(read_into: Callable[[bytearray], int], staging: StagingFile) -> None:
    """Fill free blocks with ``read_into`` (``readinto``, ``recv_into``) into ``staging`` until it returns 0."""
    while True:
        block = staging.buffer()
        n = read_into(block)
        staging.put(memoryview(block)[:n], block)
        if not n:
            return


def receive(dst: Path, checksum_type: str | None, where: str, announced: int | None,
            copy: Callable[[StagingFile], None]) -> Fetched:
    """Run ``copy`` into a fresh staging file for ``dst``; fewer (or more) bytes than ``announced`` is a failed try."""
    staging = StagingFile(dst, checksum_type)
    try:
        copy(staging)
        if announced is not None and staging.size != announced:
            raise TransferFailed(f"{where}: {staging.size} bytes arrived, the server announced {announced}")
    except BaseException:
        staging.discard()
        raise
    return staging.finish()
