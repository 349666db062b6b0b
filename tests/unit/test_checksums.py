"""CKSUM and MD5 agree with coreutils ``cksum`` and ``md5sum``, streamed in any chunking."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distribution.checksums import checksum_file, copy_with_checksum, new, normalize_checksum_value

SIZES = [0, 1, 3, 255, 256, 65_536, (1 << 20) + 7, (4 << 20) + 1]


def _coreutils(cmd: str, path: Path) -> str:
    return subprocess.run([cmd, str(path)], check=True, capture_output=True, text=True).stdout.split()[0]


@pytest.mark.parametrize("size", SIZES)
def test_matches_cksum_and_md5sum(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f"
    path.write_bytes(os.urandom(size))
    assert checksum_file(path, "CKSUM") == _coreutils("cksum", path)
    assert checksum_file(path, "MD5") == _coreutils("md5sum", path)
    assert checksum_file(path, "SHA256") == _coreutils("sha256sum", path)


def test_small_blocks_give_the_same_value(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(os.urandom(100_003))
    assert checksum_file(path, "CKSUM", block_size=7) == _coreutils("cksum", path)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=5000), cuts=st.lists(st.integers(0, 5000), max_size=8))
def test_streaming_equals_one_shot(data: bytes, cuts: list[int]) -> None:
    for kind in ("CKSUM", "MD5"):
        whole = new(kind)
        whole.update(data)
        parts = new(kind)
        last = 0
        for cut in sorted(c % (len(data) + 1) for c in cuts):
            parts.update(data[last:cut])
            last = cut
        parts.update(data[last:])
        assert parts.value() == whole.value()


def test_copy_checksums_in_the_same_pass(tmp_path: Path) -> None:
    src, dst = tmp_path / "a", tmp_path / "b"
    src.write_bytes(os.urandom(3_000_001))
    for kind in ("CKSUM", "MD5"):
        size, value = copy_with_checksum(src, dst, kind)
        assert size == 3_000_001 and dst.read_bytes() == src.read_bytes()
        assert value == checksum_file(src, kind)


def test_normalized_values() -> None:
    assert normalize_checksum_value("MD5", " 8E12AB00000000000000000000000000 ") == "8e12ab00000000000000000000000000"
    assert normalize_checksum_value("MD5", "1" * 32) == "1" * 32  # digits only: still hex text
    assert normalize_checksum_value("CKSUM", "0042") == "42"
    for kind, bad in (("CKSUM", "12x"), ("CKSUM", str(1 << 32)), ("MD5", "abc"), ("NOPE", "1")):
        with pytest.raises(ValueError):
            normalize_checksum_value(kind, bad)
    with pytest.raises(ValueError, match="unknown checksum type"):
        new("CRC64")
