"""The packing list of a 5,000-file request (three DVDs): target a few seconds (under 3 s).

Ardis: ``write_packing_list`` (validation, the DN's lines, pagination, 149 pages
drawn by ReportLab with a Code128 barcode on each). Reference, on the same DN text
in the same run: ``enscript`` (text to PostScript, Courier 7.5) piped into
Ghostscript's ``ps2pdf`` — the classic way to print a text file as PDF. Also timed
for information: the DN text alone and its parse back.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime

from benchmarks.common import DATA_DIR, Result, best_of
from distribution.notices.media_dn import (
    MediaFile,
    MediaGranule,
    MediaNotice,
    MediaVolume,
    media_id,
    parse_media_dn,
    render_media_dn,
)
from distribution.notices.packing_list import write_packing_list

PREAMBLE = "Thank you for using Ardis.  Questions: User Services. \n \nThank You! "


def notice(granules: tuple[int, ...] = (1000, 1000, 500)) -> MediaNotice:
    """Two files (data, metadata) per granule: 5,000 files on three DVDs."""
    request = "0400012345"
    volumes = [MediaVolume(media_id(request, v), "DVD", "RockRidge", [
        MediaGranule(str(d), f"SC:MOD09GHK.003:{v * 10_000 + d}", "Completed",
                     [MediaFile(f"MOD09GHK.A2024{v:03d}.h{d:05d}.003.hdf{ext}") for ext in ("", ".met")])
        for d in range(1, n + 1)]) for v, n in enumerate(granules, 1)]
    return MediaNotice("0400009876", request, datetime(2024, 6, 1, 12), ["Joan Requester", "Landover, MD 22222"],
                       2 * sum(granules), "files", volumes)


def run() -> list[Result]:
    n = notice()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    text = render_media_dn(n, PREAMBLE)
    txt, pdf, ref = DATA_DIR / "packing_list.txt", DATA_DIR / "packing_list.pdf", DATA_DIR / "packing_list_ref.pdf"
    txt.write_text(text)
    ardis = best_of(lambda: write_packing_list(n, pdf, PREAMBLE, archive_name="LP DAAC"))
    detail = f"5,000 files, 3 volumes, {text.count(chr(10))} lines, {pdf.stat().st_size // 1024} KiB"
    results = []
    if shutil.which("enscript") and shutil.which("ps2pdf"):
        def reference() -> None:
            ps = subprocess.run(["enscript", "-q", "-B", "-f", "Courier7.5", "-o", "-", str(txt)], check=True,
                                capture_output=True).stdout
            subprocess.run(["ps2pdf", "-", str(ref)], input=ps, check=True)
        results.append(Result("packing list PDF, 5,000 files", ardis, "enscript + ps2pdf", best_of(reference),
                              "time", "< 3 s", detail))
    else:
        results.append(Result("packing list PDF, 5,000 files", ardis, "(enscript/ps2pdf not installed)", ardis,
                              "time", "< 3 s", detail))
    render = best_of(lambda: render_media_dn(n, PREAMBLE))
    parse = best_of(lambda: parse_media_dn(text))
    results.append(Result("media DN text, 5,000 files: render / parse", render, "parse_media_dn", parse, "time",
                          "—", "information"))
    return results
