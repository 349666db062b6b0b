"""Granule files going into an image: checked against the plan, copied in by the kernel."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from media.errors import MediaError
from media.layout import Entry

COPY_FALLBACK = (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)  # the caller maps these: a full disk is retryable, a bad source is not


def source_stat(entry: Entry) -> os.stat_result:
    """The stat of an entry's source; MediaError when it is gone or no longer the planned size."""
    assert entry.source is not None
    try:
        st = entry.source.stat()
    except OSError as e:
        raise MediaError(f"cannot read {entry.source}: {e.strerror}") from e
    if st.st_size != entry.size:
        raise MediaError(f"{entry.source} is {st.st_size:,} bytes, the plan says {entry.size:,}")
    return st


def copy_into(source: Path, length: int, out: int, at: int) -> None:
    """Copy ``length`` bytes of ``source`` to ``out`` at ``at`` by the kernel (``read``/``pwrite`` across devices)."""
    try:
        src = os.open(source, os.O_RDONLY)
    except OSError as e:
        raise MediaError(f"cannot read {source}: {e.strerror}") from e
    try:
        done = 0
        while done < length:
            try:
                n = os.copy_file_range(src, out, length - done, done, at + done)
            except OSError as e:
                if e.errno not in COPY_FALLBACK:
                    raise
                n = os.pwrite(out, os.pread(src, min(length - done, 1 << 20), done), at + done)
            if n == 0:
                raise MediaError(f"{source} ended after {done:,} bytes, the plan says {length:,}")
            done += n
    except OSError as e:
        if e.errno in DISK_FULL:
            raise  # the caller tells a full disk (retryable) from a bad source
        raise MediaError(f"cannot copy {source} into the image: {e.strerror}") from e
    finally:
        os.close(src)
