"""The packing list PDF, read back with pypdf and rendered with pdftoppm: the DN's text, paginated."""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from distribution.notices.media_dn import MediaFile, MediaGranule, MediaNotice, MediaVolume, media_id, render_media_dn
from distribution.notices.packing_list import LINES_PER_PAGE, write_packing_list
from tests.unit.notices.test_media_dn import REJECTION, REJECTION_PREAMBLE, SHIPMENT, SHIPMENT_PREAMBLE

PREAMBLE = "Thank you for using Ardis.  Questions: User Services, 1-800-555-0100. \n \nThank You! "
_MEDIA_SEQ = re.compile(r"Media (\d+) of (\d+)")


def big_request(files_per_granule: int = 2, granules: tuple[int, ...] = (1000, 1000, 500)) -> MediaNotice:
    """5,000 files (data + metadata per granule) on three DVDs, directory numbering restarting per volume."""
    request_id = "0400012345"
    volumes = [
        MediaVolume(media_id(request_id, v), "DVD", "RockRidge", [
            MediaGranule(str(d), f"SC:MOD09GHK.003:{v * 10_000 + d}", "Completed",
                         [MediaFile(f"MOD09GHK.A2024{v:03d}.h{d:05d}.003.hdf{ext}")
                          for ext in ("", ".met", ".xml", ".browse", ".qa")[:files_per_granule]])
            for d in range(1, count + 1)])
        for v, count in enumerate(granules, 1)
    ]
    return MediaNotice(order_id="0400009876", request_id=request_id, completed=datetime(2024, 6, 1, 12, 0, 0),
                       shipping_address=["Joan Requester", "1616 McCormick Drive", "Landover, MD 22222"],
                       count=sum(granules) * files_per_granule, count_unit="files", volumes=volumes)


def normalised(line: str) -> str:
    return " ".join(line.split())


def pages_of(pdf: Path) -> list[list[str]]:
    pages = [page.extract_text().split("\n") for page in PdfReader(pdf).pages]
    return [lines[:-1] if lines[-1] == "" else lines for lines in pages]  # the text ends in a line feed


def split_band(notice: MediaNotice, lines: list[str]) -> tuple[list[str], list[str]]:
    """(band, body) of one page's text: title, ids, Media k of n, media, [Media_ID], Page p of P."""
    size = 5 if notice.rejected else 6
    return lines[:size], lines[size:]


def assert_same_text(dn_text: str, body_lines: list[str]) -> None:
    """Every non-blank DN line, in order; a line broken across printed lines must join back to it."""
    printed = iter(normalised(line) for line in body_lines if line.strip())
    for line in (normalised(x) for x in dn_text.split("\n") if x.strip()):
        target, got = line.replace(" ", ""), ""
        while len(got) < len(target):
            got += next(printed).replace(" ", "")
        assert got == target, (line, got)
    assert next(printed, None) is None


def test_the_5000_file_packing_list_is_the_dn_paginated(tmp_path: Path) -> None:
    notice = big_request()
    dn_text = render_media_dn(notice, PREAMBLE)
    pdf = write_packing_list(notice, tmp_path / "pl.pdf", PREAMBLE, archive_name="LP DAAC")
    pages = pages_of(pdf)

    # One section per volume, each starting on a new page; the header goes with volume 1.
    sections = re.split(r"(?m)^(?=Media \d+ of 3 $)", dn_text)
    header, volumes = sections[0], sections[1:]
    lengths = [len((header + volumes[0]).split("\n")) - 1] + [len(v.split("\n")) - 1 for v in volumes[1:]]
    # 14 header lines (3 of preamble); a volume is 7 lines of media heading + 4 per granule (row, 2 files, blank):
    # ceil((14 + 4007) / 68) + ceil(4007 / 68) + ceil(2007 / 68) = 60 + 59 + 30
    assert lengths == [14 + 4007, 4007, 2007] and LINES_PER_PAGE == 68
    assert len(pages) == sum(math.ceil(n / LINES_PER_PAGE) for n in lengths) == 149

    body: list[str] = []
    volume = 1
    for number, lines in enumerate(pages, 1):
        band, text = split_band(notice, lines)
        seq = next((int(m.group(1)) for line in text if (m := _MEDIA_SEQ.fullmatch(normalised(line)))), None)
        volume = seq or volume  # the band names the volume whose rows are on the page
        assert band == ["LP DAAC Packing List", "OrderID/RequestID: 0400009876:0400012345", f"Media {volume} of 3",
                        f"Media_ID: 0400012345_00{volume}   DVD RockRidge", f"0400012345_00{volume}",
                        f"Page {number} of {len(pages)}"]
        assert len(text) <= LINES_PER_PAGE
        body += text
    assert_same_text(dn_text, body)
    # Line by line, not only in aggregate: nothing here is long enough to be broken.
    assert [normalised(x) for x in body if x.strip()] == [normalised(x) for x in dn_text.split("\n") if x.strip()]


def test_a_granule_entry_is_never_split_across_pages(tmp_path: Path) -> None:
    """Entries of 5 lines (row, 3 files, blank) do not divide a 68-line page: whole entries move to the next page."""
    notice = big_request(files_per_granule=3, granules=(300,))
    dn_lines = render_media_dn(notice, PREAMBLE).split("\n")
    pdf = write_packing_list(notice, tmp_path / "pl.pdf", PREAMBLE)
    pages = pages_of(pdf)
    assert len(pages) > math.ceil(len(dn_lines) / LINES_PER_PAGE), "a cut mid-entry would fill every page"
    files = {g.directory: [f.name for f in g.files] for g in notice.volumes[0].granules}
    rows = 0
    for lines in pages:
        _band, text = split_band(notice, lines)
        body = [normalised(x) for x in text]
        for i, line in enumerate(body):
            if (m := re.fullmatch(r"(\d+) Completed \S+", line)):
                rows += 1
                assert body[i + 1:i + 4] == files[m.group(1)], f"granule {m.group(1)} split at a page break"
    assert rows == 300


def test_icd_examples_as_packing_lists(tmp_path: Path) -> None:
    for notice, preamble, title in ((SHIPMENT, SHIPMENT_PREAMBLE, "EDF Packing List"),
                                    (REJECTION, REJECTION_PREAMBLE, "EDF Rejection Notice")):
        pdf = write_packing_list(notice, tmp_path / f"{title}.pdf", preamble, archive_name="EDF")
        (lines,) = pages_of(pdf)
        band, body = split_band(notice, lines)
        assert band[0] == title and band[2] == "Media 1 of 1" and band[-1] == "Page 1 of 1"
        # the rejection's 190-character preamble line is broken after a blank, nothing else
        assert_same_text(render_media_dn(notice, preamble), body)


def test_checksums_and_a_255_character_file_name(tmp_path: Path) -> None:
    long_name = "L" * 200 + ".hdf" + "x" * 51
    notice = MediaNotice(
        order_id="O1", request_id="R1", completed=SHIPMENT.completed, shipping_address=[], count=2,
        count_unit="files", checksums=True, volumes=[MediaVolume("R1_001", "DLT", "TARFORMAT", [
            MediaGranule("1", "SC:AST_L1A.002:13900", "Completed", [
                MediaFile(long_name, "MD5", "0123456789abcdef0123456789abcdef"), MediaFile("b.met")])])])
    pdf = write_packing_list(notice, tmp_path / "ck.pdf", "P.")
    (lines,) = pages_of(pdf)
    band, body = split_band(notice, lines)
    assert band[0] == "Packing List" and "Media_ID: R1_001   DLT TARFORMAT" in band
    assert_same_text(render_media_dn(notice, "P."), body)
    assert "FILECKSUMVALUE" in body[body.index("File Name ") + 1]


def test_an_invalid_notice_writes_nothing(tmp_path: Path) -> None:
    bad = MediaNotice(**{**SHIPMENT.__dict__, "order_id": "not an id"})
    with pytest.raises(ValueError, match="OrderID"):
        write_packing_list(bad, tmp_path / "bad.pdf", SHIPMENT_PREAMBLE)
    assert not (tmp_path / "bad.pdf").exists()


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")
def test_first_page_renders_with_text_and_barcode(tmp_path: Path, artifacts: Path) -> None:
    pdf = write_packing_list(big_request(), tmp_path / "pl.pdf", PREAMBLE, archive_name="LP DAAC")
    stem = artifacts / "packing_list_page1"
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-gray", "-singlefile", "-f", "1", "-l", "1", str(pdf),
                    str(stem)], check=True)
    with Image.open(stem.with_suffix(".png")) as image:
        assert image.size == (850, 1100)  # US Letter at 100 dpi
        gray = image.convert("L")
        dark = sum(gray.histogram()[:128])
        assert 0.01 < dark / (850 * 1100) < 0.5  # printed, not blank, not black
        # The barcode: top right, bars and spaces alternating across one row of pixels.
        row = [gray.getpixel((x, 90)) < 128 for x in range(580, 810)]
        assert sum(1 for a, b in zip(row, row[1:]) if a != b) > 40


def _sized(notice: MediaNotice) -> MediaNotice:
    """The notice with a size on every file (1 byte to tens of gigabytes), as the database gives them."""
    volumes = [dataclasses.replace(v, granules=[
        dataclasses.replace(g, files=[dataclasses.replace(f, size=7 ** (3 * i + len(f.name) % 5))
                                      for i, f in enumerate(g.files)]) for g in v.granules]) for v in notice.volumes]
    return dataclasses.replace(notice, volumes=volumes)


def _assert_columns(body: list[str], notice: MediaNotice) -> None:
    """Each heading stands over its values; every file's size ends where ``Size (bytes)`` does."""
    [heading] = [line for line in body if line.startswith("Directory ")]
    status_at, ur_at = heading.index("Status"), heading.index("Granule ID")
    rows = [line for line in body if re.match(r"\d+ +(Completed|Canceled) ", line)]
    assert len(rows) == sum(len(v.granules) for v in notice.volumes)
    for row in rows:
        directory, status, ur = row.split()
        assert (row.index(status), row.index(ur, row.index(status) + len(status))) == (status_at, ur_at), row
    files = [f for v in notice.volumes for g in v.granules for f in g.files]
    if not files:
        assert not any("File Name" in line for line in body)
        return
    [size_heading] = [line for line in body if line.startswith("File Name ")]
    assert size_heading.rstrip().endswith("Size (bytes)")
    right = len(size_heading.rstrip())
    for f in files:
        [line] = [line for line in body if line.startswith(f.name + " ")]
        assert line.rstrip().endswith(f" {f.size:,}") and len(line.rstrip()) == right, (line, right)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")
def test_the_columns_line_up_and_every_file_has_its_size(tmp_path: Path, artifacts: Path) -> None:
    """Issue 10, defect 14: the ICD's fixed gaps put Status under 'Directory' and no file had a size."""
    for name, notice, preamble in (("shipment", SHIPMENT, SHIPMENT_PREAMBLE),
                                   ("rejection", REJECTION, REJECTION_PREAMBLE)):
        notice = _sized(notice)
        pdf = write_packing_list(notice, tmp_path / f"{name}.pdf", preamble, archive_name="EDF")
        (lines,) = pages_of(pdf)
        _band, body = split_band(notice, lines)
        _assert_columns(body, notice)
        names = {f.name for v in notice.volumes for g in v.granules for f in g.files} | {"File Name"}
        assert_same_text(render_media_dn(notice, preamble),  # the DN's text, once the sizes are taken out
                         [line.rsplit(None, 2 if line.startswith("File Name") else 1)[0]
                          if line.split(" ", 1)[0] in names or line.startswith("File Name") else line
                          for line in body])
        stem = artifacts / f"packing_list_columns_{name}"
        subprocess.run(["pdftoppm", "-r", "110", "-png", "-singlefile", str(pdf), str(stem)], check=True)
        assert stem.with_suffix(".png").stat().st_size > 0
    assert render_media_dn(_sized(SHIPMENT), SHIPMENT_PREAMBLE) == render_media_dn(SHIPMENT, SHIPMENT_PREAMBLE)


def test_checksum_lines_keep_their_order_with_sizes(tmp_path: Path) -> None:
    notice = _sized(MediaNotice(
        order_id="O1", request_id="R1", completed=SHIPMENT.completed, shipping_address=[], count=2,
        count_unit="files", checksums=True, volumes=[MediaVolume("R1_001", "DLT", "TARFORMAT", [
            MediaGranule("12345", "SC:AST_L1A.002:13900", "Completed", [
                MediaFile("a.hdf", "MD5", "0123456789abcdef0123456789abcdef"), MediaFile("a.hdf.met")]),
            MediaGranule("7", "SC:AST_L1A.002:13901", "Canceled")])]))
    (lines,) = pages_of(write_packing_list(notice, tmp_path / "ck.pdf", "P."))
    _band, body = split_band(notice, lines)
    _assert_columns(body, notice)
    at = body.index(next(line for line in body if line.startswith("File Name ")))
    assert [body[at - 1].strip(), body[at + 1].strip()] == ["FILECKSUMTYPE", "FILECKSUMVALUE"]
    at = body.index(next(line for line in body if line.startswith("a.hdf ")))
    assert [body[at - 1].strip(), body[at + 1].strip()] == ["MD5", "0123456789abcdef0123456789abcdef"]
