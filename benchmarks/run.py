"""Run every benchmark module (``bench_*.py``) or the ones named: python -m benchmarks.run [name ...]."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from benchmarks.common import report


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    names = argv or sorted(p.stem for p in here.glob("bench_*.py"))
    results = []
    for name in names:
        module = importlib.import_module(f"benchmarks.{name if name.startswith('bench_') else 'bench_' + name}")
        print(f"== {module.__name__}", flush=True)
        results.extend(module.run())
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
