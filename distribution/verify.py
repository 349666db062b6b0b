"""Verifying staged files against the inventory's checksums, in parallel across cores.

A file's result is data, not an exception: the caller fails that file's granule
and goes on with the rest. Threads suffice because fastcrc and hashlib release
the GIL while they work on large buffers.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from distribution.checksums import checksum_file, normalize_checksum_value


@dataclass(frozen=True)
class FileCheck:
    """One file to verify; ``key`` is the caller's id for the result."""

    path: Path
    checksum_type: str | None
    expected_value: str | None
    expected_size: int | None = None
    key: Hashable = None


@dataclass(frozen=True)
class VerifyResult:
    key: Hashable
    ok: bool
    actual_value: str | None = None
    error: str | None = None


def verify_file(check: FileCheck) -> VerifyResult:
    """Size first (cheap), then the stored checksum when there is one."""
    try:
        size = check.path.stat().st_size
    except FileNotFoundError:
        return VerifyResult(check.key, False, error=f"file not found in archive: {check.path.name}")
    if check.expected_size is not None and size != check.expected_size:
        return VerifyResult(check.key, False,
                            error=f"size mismatch: expected {check.expected_size} bytes, found {size}")
    if not (check.checksum_type and check.expected_value):
        return VerifyResult(check.key, True)
    try:
        actual = checksum_file(check.path, check.checksum_type)
        expected = normalize_checksum_value(check.checksum_type, check.expected_value)
    except OSError as e:
        return VerifyResult(check.key, False, error=f"cannot read {check.path.name}: {e.strerror}")
    except ValueError as e:
        return VerifyResult(check.key, False, error=str(e))
    if actual != expected:
        return VerifyResult(check.key, False, actual,
                            f"checksum mismatch: {check.checksum_type} expected {expected}, computed {actual}")
    return VerifyResult(check.key, True, actual)


def verify_files(checks: Sequence[FileCheck], workers: int = 0) -> list[VerifyResult]:
    """Verify every file; results in the order of ``checks``. ``workers=0``: one per core."""
    if not checks:
        return []
    count = min(len(checks), workers or os.cpu_count() or 1)
    if count == 1:
        return [verify_file(c) for c in checks]
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="verify") as pool:
        return list(pool.map(verify_file, checks))
