"""The packing list: the physical media DN printed as a PDF for the shipment (ICD 4.3.6.5).

"The Packing List that is included in each order is simply a printed copy of the
distribution notice": every line of ``render_media_dn`` is printed, in order, in
Courier, with two differences that only a reader of paper sees. The table
(Directory, Status, Granule ID, File Name) is set in aligned columns, each heading
over its values: the figures' fixed runs of 17 blanks (kept byte for byte in the
mailed text and the copy on the medium) are a word processor's tab stops that no
longer line up in plain text. And each file's line ends with its size in bytes,
right-aligned under ``Size (bytes)``, so that the recipient can check what arrived
(Table 4.3.6-2 has no size; the mailed notice carries none). Each volume's section starts on a new
page, so a disc's or tape's pages can go into its own case; the band on top of
every page names the request, ``Media k of n`` of the volume the page belongs to,
the page number, and carries a Code128 barcode of the Media_ID for the operator's
scanner (none in a rejection, which has no media).

Lines too wide for the page at the body size are set smaller, down to
``MIN_FONT_SIZE``; only longer ones (a long preamble line, a 255-character file
name) are broken, after a blank where there is one, into pieces at body size.
A granule's entry (its row and files) is kept on one page unless it is longer
than a page. Pagination is computed first (it needs only line lengths), then pages are drawn
one by one with one text object each (timings in benchmarks/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen.canvas import Canvas

from distribution.notices.media_dn import Columns, MediaFile, MediaGranule, MediaNotice, media_dn_lines

PAGE_WIDTH, PAGE_HEIGHT = letter
MARGIN = 40.0
BODY_FONT = "Courier"
BODY_SIZE = 7.5
MIN_FONT_SIZE = 5.0
LEADING = 9.0
BAND_HEIGHT = 84.0  # title, ids, Media k of n, barcode, rule
FOOTER = 14.0
_COURIER_ADVANCE = 0.6  # every Courier glyph is 600/1000 em wide
BODY_WIDTH = PAGE_WIDTH - 2 * MARGIN
LINES_PER_PAGE = int((PAGE_HEIGHT - 2 * MARGIN - BAND_HEIGHT - FOOTER) // LEADING)
GAP = "    "  # between the table's columns
SIZE_HEADING = "Size (bytes)"


@dataclass(frozen=True)
class _Page:
    """One printed page: the volume whose band it carries and its body lines."""

    volume: int  # 0-based index into notice.volumes
    lines: list[str]


def _chars_at(size: float) -> int:
    return int(BODY_WIDTH // (_COURIER_ADVANCE * size))


class AlignedColumns(Columns):
    """The table's columns padded to their widest value, over the whole notice; sizes right-aligned.

    The size column ends after the longest file name, but no further than a line at
    body size reaches; a longer name pushes its own size to the right.
    """

    def __init__(self, notice: MediaNotice) -> None:
        granules = [g for v in notice.volumes for g in v.granules]
        files = [f for g in granules for f in g.files]
        self.dir_width = max([len("Directory"), *(len(g.directory) for g in granules)])
        self.status_width = max([len("Status"), *(len(g.status) for g in granules)])
        size_width = max([len(SIZE_HEADING), *(len(_size(f)) for f in files)])
        longest = max([len("File Name"), *(len(f.name) for f in files)])
        self.right = min(_chars_at(BODY_SIZE), longest + len(GAP) + size_width)
        self.sizes = any(f.size is not None for f in files)

    def _row(self, directory: str, status: str, granule_id: str) -> str:
        return f"{directory.ljust(self.dir_width)}{GAP}{status.ljust(self.status_width)}{GAP}{granule_id}"

    def _sized(self, name: str, size: str) -> str:
        return f"{name}{' ' * max(len(GAP), self.right - len(name) - len(size))}{size}" if size else name

    def heading(self) -> str:
        return self._row("Directory", "Status", "Granule ID")

    def row(self, g: MediaGranule, rejected: bool) -> str:
        return self._row(g.directory, g.status, g.granule_id)

    def file_heading(self) -> str:
        return self._sized("File Name", SIZE_HEADING if self.sizes else "")

    def file(self, f: MediaFile) -> str:
        return self._sized(f.name, _size(f))


def _size(f: MediaFile) -> str:
    return "" if f.size is None else f"{f.size:,}"


def _printed(line: str) -> list[str]:
    """A DN line as printed lines: one, unless even the smallest size cannot hold it; then pieces at body size."""
    if len(line.rstrip()) <= _chars_at(MIN_FONT_SIZE):
        return [line]
    widest, pieces = _chars_at(BODY_SIZE), []
    while len(line.rstrip()) > widest:
        cut = line.rfind(" ", 1, widest) + 1 or widest  # after a blank when there is one: words stay whole
        pieces.append(line[:cut])
        line = line[cut:]
    return [*pieces, line]


def _paginate(header: list[str], volumes: list[list[list[str]]]) -> list[_Page]:
    """Pages of each volume's section; a granule's entry moves to the next page rather than split.

    Only an entry longer than a whole page (thousands of files) is split, and then
    from the top of a page.
    """
    pages: list[_Page] = []
    for k, section in enumerate(volumes):
        page: list[str] = []
        groups = [header + section[0], *section[1:]] if k == 0 else section
        for group in ([p for line in g for p in _printed(line)] for g in groups):
            if page and len(page) + len(group) > LINES_PER_PAGE:
                pages.append(_Page(k, page))
                page = []
            while len(page) + len(group) > LINES_PER_PAGE:
                room = LINES_PER_PAGE - len(page)
                pages.append(_Page(k, page + group[:room]))
                page, group = [], group[room:]
            page += group
        pages.append(_Page(k, page))
    return pages


def _band(canvas: Canvas, notice: MediaNotice, page: _Page, number: int, total: int, title: str) -> None:
    volume = notice.volumes[page.volume]
    top = PAGE_HEIGHT - MARGIN
    canvas.setFont("Helvetica-Bold", 12)
    canvas.drawString(MARGIN, top - 12, title)
    canvas.setFont("Helvetica", 9)
    canvas.drawString(MARGIN, top - 27, f"OrderID/RequestID: {notice.order_id}:{notice.request_id}")
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(MARGIN, top - 44, f"Media {page.volume + 1} of {len(notice.volumes)}")
    canvas.setFont("Helvetica", 9)
    media = f"Media_ID: {volume.media_id}   " if volume.media_id else ""
    canvas.drawString(MARGIN, top - 58, f"{media}{volume.media_type} {volume.media_format}")
    if volume.media_id:
        barcode = Code128(volume.media_id, barWidth=0.9, barHeight=30, quiet=0)
        left = PAGE_WIDTH - MARGIN - barcode.width
        barcode.drawOn(canvas, left, top - 40)
        canvas.setFont("Courier", 8)
        canvas.drawCentredString(left + barcode.width / 2, top - 51, volume.media_id)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN, top - BAND_HEIGHT + 12, PAGE_WIDTH - MARGIN, top - BAND_HEIGHT + 12)
    canvas.setFont("Helvetica", 8)
    canvas.drawRightString(PAGE_WIDTH - MARGIN, MARGIN, f"Page {number} of {total}")


def _body(canvas: Canvas, lines: list[str]) -> None:
    text = canvas.beginText(MARGIN, PAGE_HEIGHT - MARGIN - BAND_HEIGHT)
    text.setFont(BODY_FONT, BODY_SIZE, leading=LEADING)
    fits = _chars_at(BODY_SIZE)
    for line in lines:
        width = len(line.rstrip())
        if width > fits:  # set smaller so the line stays one line
            text.setFont(BODY_FONT, BODY_WIDTH / (_COURIER_ADVANCE * width), leading=LEADING)
            text.textLine(line)
            text.setFont(BODY_FONT, BODY_SIZE, leading=LEADING)
        else:
            text.textLine(line)
    canvas.drawText(text)


def write_packing_list(notice: MediaNotice, path: Path | str, preamble: str, *, archive_name: str = "") -> Path:
    """Print the notice (``render_media_dn(notice, preamble)``, line for line, its table aligned) to a PDF at ``path``.

    Raises ValueError as render_media_dn does, before anything is written.
    """
    header, volumes = media_dn_lines(notice, preamble, AlignedColumns(notice))
    pages = _paginate(header, volumes)
    path = Path(path)
    kind = "Rejection Notice" if notice.rejected else "Packing List"
    title = f"{archive_name} {kind}".strip()
    canvas = Canvas(str(path), pagesize=letter, pageCompression=1, invariant=1)
    canvas.setTitle(f"{title} {notice.order_id}:{notice.request_id}")
    canvas.setSubject("Physical media Distribution Notice (ICD 4.3.6.5)")
    for number, page in enumerate(pages, 1):
        _band(canvas, notice, page, number, len(pages), title)
        _body(canvas, page.lines)
        canvas.showPage()
    canvas.save()
    return path
