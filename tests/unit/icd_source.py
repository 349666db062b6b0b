"""Where the subscription tests find the golden files and the ICD text they were taken from."""

from __future__ import annotations

import os
import re
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
# The seeds beside the checkout: /work/shared for /work/main, one level further up for a worktree.
_CANDIDATES = (Path(os.environ.get("ARDIS_SHARED_DIR", "/nonexistent")),
               *(d / "shared" for d in Path(__file__).resolve().parents[3:5]))
ICD = next((p for c in _CANDIDATES for p in sorted((c / "seeds").glob("003_*.txt"))), None)


def icd_text() -> str:
    assert ICD is not None
    return ICD.read_text(encoding="utf-8")


def single_spaced(raw: str) -> str:
    """Undo the ICD text extraction: three newlines per line break."""
    def lines(m: re.Match[str]) -> str:
        assert len(m.group()) % 3 == 0
        return "\n" * (len(m.group()) // 3)
    return re.sub(r"\n+", lines, raw)
