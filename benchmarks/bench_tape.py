"""Tape streams: Ardis (the tar stream assembled in fixed 128 KiB records) against GNU ``tar -b 256``, turn about.

Both write the same tree into a file (the stand-in for the drive). 3 x 1 GiB
(target >= 0.9x tar's throughput) and 2,000 small files (<= 3x its time); peak RSS
of a 100,000-file volume against a 10,000-file one.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import Result, run_cmd
from benchmarks.media_data import rss_script, run_suite, turn_about
from media import write_volume_tape
from media import FileTapeDrive
from media import plan_volumes, tape

RSS_CODE = rss_script("""
from media import write_volume_tape
from media import FileTapeDrive
from media import plan_volumes, tape
""", """
write_volume_tape(plan_volumes("R", items, tape(10**12))[0], FileTapeDrive(root / "tape"), lambda n: None)
""")


def _side_by_side(name: str, root: Path, items: list, kind: str, target: str, repeat: int = 3,  # type: ignore[type-arg]
                  kernel_copy: bool = True) -> Result:
    plan = plan_volumes("0300018199", items, tape(10**13))[0]
    out, ref = root / "ardis.tar", root / "ref.tar"
    cmd = ["tar", "-b", "256", "-cf", str(ref), "-C", str(root / "tree"), "."]
    best, ref_best, size, ref_size = turn_about(
        lambda: write_volume_tape(plan, FileTapeDrive(out, kernel_copy=kernel_copy), lambda n: FileTapeDrive(out)),
        lambda: run_cmd(cmd), out, ref, repeat)
    return Result(name, best, "GNU tar -b 256", ref_best, kind, target,
                  f"stream {size:,} B vs {ref_size:,} B")


def _records_only(name: str, root: Path, items: list, kind: str, target: str, repeat: int = 3) -> Result:  # type: ignore[type-arg]
    """The same with every byte through the record buffer, as a real drive takes it (no copy_file_range)."""
    return _side_by_side(name, root, items, kind, target, repeat, kernel_copy=False)


def run() -> list[Result]:
    return run_suite(_side_by_side, ("tape stream of 3 x 1 GiB", "throughput", ">= 0.9x"),
                     ("tape stream of 2,000 small files", "time", "<= 3x"), RSS_CODE,
                     "tape peak RSS, 100,000 files (MiB as s)",
                     extra=(_records_only, "tape stream of 3 x 1 GiB, records only (a real drive's path)", "throughput", "information"))
