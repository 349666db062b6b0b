"""Verification results: ok, mismatch, missing, wrong size, bad stored values; order kept; parallel."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from distribution.orders.verify import FileCheck, verify_file, verify_files


def _tool(cmd: str, path: Path) -> str:
    return subprocess.run([cmd, str(path)], check=True, capture_output=True, text=True).stdout.split()[0]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, size in (("good", 10_000), ("bad", 10_000), ("sized", 10_000), ("empty", 0), ("big", 300_001)):
        out[name] = tmp_path / name
        out[name].write_bytes(os.urandom(size))
    return out


@pytest.mark.parametrize("workers", [0, 1, 2, 8])
def test_results_for_every_case(tmp_path: Path, files: dict[str, Path], workers: int) -> None:
    good, bad, sized, empty, big = (files[n] for n in ("good", "bad", "sized", "empty", "big"))
    checks = [
        FileCheck(good, "MD5", _tool("md5sum", good).upper(), 10_000, "good"),
        FileCheck(bad, "CKSUM", "12345", 10_000, "bad"),
        FileCheck(tmp_path / "gone", "MD5", "0" * 32, 1, "gone"),
        FileCheck(sized, "MD5", _tool("md5sum", sized), 9_999, "sized"),
        FileCheck(good, None, None, 10_000, "nosum"),
        FileCheck(empty, "cksum", _tool("cksum", empty), 0, "empty"),
        FileCheck(big, "CKSUM", _tool("cksum", big), None, "big"),
        FileCheck(good, "ECS", "123", None, "ecs"),
        FileCheck(good, "MD5", "not hex", None, "garbled"),
    ]
    results = verify_files(checks, workers=workers)
    assert [r.key for r in results] == [c.key for c in checks]
    by_key = {r.key: r for r in results}
    assert [k for k, r in by_key.items() if r.ok] == ["good", "nosum", "empty", "big"]
    assert by_key["good"].actual_value == _tool("md5sum", good)
    assert by_key["bad"].actual_value == _tool("cksum", bad)
    assert by_key["bad"].error == f"checksum mismatch: CKSUM expected 12345, computed {_tool('cksum', bad)}"
    assert by_key["gone"].error == "file not found in archive: gone"
    assert by_key["sized"].error == "size mismatch: expected 9999 bytes, found 10000"
    assert by_key["ecs"].error is not None and "unsupported checksum type 'ECS'" in by_key["ecs"].error
    assert by_key["garbled"].error == "'not hex' is not a MD5 value"


def test_md5_mismatch_message(files: dict[str, Path]) -> None:
    result = verify_file(FileCheck(files["good"], "MD5", "0" * 32, key=1))
    assert not result.ok
    assert result.error == f"checksum mismatch: MD5 expected {'0' * 32}, computed {_tool('md5sum', files['good'])}"


def test_size_only_and_nothing_to_verify(files: dict[str, Path]) -> None:
    assert verify_file(FileCheck(files["big"], None, None, 300_001, "k")).ok
    assert verify_file(FileCheck(files["big"], "MD5", None, None, "k")).ok  # no stored value: size only
    assert verify_files([]) == []


def test_many_files_on_few_workers(tmp_path: Path) -> None:
    checks = []
    for i in range(40):
        path = tmp_path / f"f{i}"
        path.write_bytes(os.urandom(i * 1000))
        checks.append(FileCheck(path, "CKSUM", _tool("cksum", path), i * 1000, i))
    checks[7] = FileCheck(checks[7].path, "CKSUM", "1", None, 7)
    results = verify_files(checks, workers=3)
    assert [r.key for r in results] == list(range(40))
    assert [r.key for r in results if not r.ok] == [7]
