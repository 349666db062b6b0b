"""Shared pieces of the side-by-side benchmarks: timing, data files, result rows.

Every benchmark times Ardis and a reference tool in the same run on the same
data, and reports the ratio; nothing here asserts a time.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

DATA_DIR = Path(os.environ.get("ARDIS_BENCH_DIR", Path(__file__).resolve().parent / "data"))
RESULTS = Path(__file__).resolve().parent / "results.json"


@dataclass
class Result:
    """One side-by-side measurement.

    ``kind`` is ``throughput`` (ratio = reference time / Ardis time, higher is
    better) or ``time`` (ratio = Ardis time / reference time, lower is better).
    """

    name: str
    ardis_seconds: float
    reference: str
    reference_seconds: float
    kind: str
    target: str
    detail: str = ""

    @property
    def ratio(self) -> float:
        if self.kind == "throughput":
            return self.reference_seconds / self.ardis_seconds
        return self.ardis_seconds / self.reference_seconds

    def row(self) -> str:
        sign = "×" if self.kind == "throughput" else "× the time"
        return (f"| {self.name} | {self.ardis_seconds:.3f} s | {self.reference} | "
                f"{self.reference_seconds:.3f} s | {self.ratio:.2f}{sign} | {self.target} | {self.detail} |")


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs (wall clock), the usual way to damp noise."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run_cmd(args: list[str], **kwargs: object) -> None:
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]


def make_file(path: Path, size: int, seed: int = 0) -> Path:
    """A file of pseudo-random bytes (incompressible), made once and reused."""
    if path.exists() and path.stat().st_size == size:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    block = os.urandom(1 << 20) if seed == 0 else bytes((i * seed) & 0xFF for i in range(1 << 20))
    with path.open("wb") as f:
        remaining = size
        while remaining:
            n = min(remaining, len(block))
            f.write(block[:n])
            remaining -= n
    return path


def save(results: list[Result]) -> None:
    """Merge these results into benchmarks/results.json by name."""
    existing: dict[str, dict[str, object]] = {}
    if RESULTS.exists():
        existing = {r["name"]: r for r in json.loads(RESULTS.read_text())}
    for r in results:
        existing[r.name] = asdict(r)
    RESULTS.write_text(json.dumps(list(existing.values()), indent=2) + "\n")


def report(results: list[Result]) -> None:
    print("| benchmark | Ardis | reference | reference time | ratio | target | detail |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(r.row())
    save(results)


def fresh_home(root: Path):  # -> distribution.config.Settings (imported late: the benchmarks import cheaply)
    """An empty Ardis home under ``root`` with its SQLite database migrated, made the process's settings."""
    from distribution import db
    from distribution.config import load_settings

    os.environ["ARDIS_HOME"] = str(root / "home")
    os.environ.pop("ARDIS_DATABASE_URL", None)
    settings = load_settings()
    settings.ensure_dirs()
    db.upgrade(settings.database_url)
    return settings
