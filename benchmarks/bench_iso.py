"""ISO images: Ardis (media._isowrite) against ``xorriso -as mkisofs -R -J`` on the same trees, turn about.

3 x 1 GiB (target <= 0.6x xorriso's time) and 2,000 small files (<= 1.5x); peak RSS
of writing and reading back a 100,000-file volume against a 10,000-file one (flat).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from benchmarks.common import Result, run_cmd
from benchmarks.media_data import rss_script, run_suite, turn_about
from media import build_volume_iso
from media import BD, plan_volumes

RSS_CODE = rss_script("""
from distribution.shipping.drives import md5
from media import build_volume_iso, verify_volume_iso
from media import BD, plan_volumes
""", """
plan = plan_volumes("R", items, BD)[0]
build_volume_iso(plan, root / "x.iso")
assert verify_volume_iso(plan, root / "x.iso", md5) == {n}
""")


def _side_by_side(name: str, root: Path, items: list, kind: str, target: str, repeat: int = 3) -> Result:  # type: ignore[type-arg]
    plan = plan_volumes("0300018199", items, BD)[0]
    out, ref = root / "ardis.iso", root / "ref.iso"
    cmd = ["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", str(ref), str(root / "tree")]
    best, ref_best, size, ref_size = turn_about(lambda: build_volume_iso(plan, out),
                                                lambda: run_cmd(cmd, stderr=subprocess.DEVNULL), out, ref, repeat)
    return Result(name, best, "xorriso -as mkisofs -R -J", ref_best, kind, target,
                  f"image {size:,} B vs {ref_size:,} B")


def run() -> list[Result]:
    return run_suite(_side_by_side, ("ISO of 3 x 1 GiB", "time", "<= 0.6x"), ("ISO of 2,000 small files", "time", "<= 1.5x"),
                     RSS_CODE, "ISO peak RSS, 100,000 files (MiB as s)")
