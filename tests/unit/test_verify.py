"""Verification results: ok, mismatch, missing, wrong size; order kept; parallel."""

from __future__ import annotations

import os
from pathlib import Path

from distribution.checksums import checksum_file
from distribution.verify import FileCheck, verify_files


def test_results_for_every_case(tmp_path: Path) -> None:
    good, bad, sized = (tmp_path / n for n in ("good", "bad", "sized"))
    for p in (good, bad, sized):
        p.write_bytes(os.urandom(10_000))
    checks = [
        FileCheck(good, "MD5", checksum_file(good, "MD5"), 10_000, "good"),
        FileCheck(bad, "CKSUM", "12345", 10_000, "bad"),
        FileCheck(tmp_path / "gone", "MD5", "0" * 32, 1, "gone"),
        FileCheck(sized, "MD5", checksum_file(sized, "MD5"), 9_999, "sized"),
        FileCheck(good, None, None, 10_000, "nosum"),
    ]
    for workers in (1, 2, 8):
        results = verify_files(checks, workers=workers)
        assert [r.key for r in results] == ["good", "bad", "gone", "sized", "nosum"]
        assert [r.ok for r in results] == [True, False, False, False, True]
        assert results[1].error == f"checksum mismatch: CKSUM expected 12345, computed {checksum_file(bad, 'CKSUM')}"
        assert results[2].error == "file not found in archive: gone"
        assert results[3].error == "size mismatch: expected 9999 bytes, found 10000"


def test_nothing_to_verify() -> None:
    assert verify_files([]) == []
