"""The Distribution Notice for physical media (ICD 4.3.6.5, Table 4.3.6-2) and its rejection variant.

The same text is e-mailed when a shipment is made and printed as the packing list
(``packing_list.py``). It is written byte for byte as the ICD's two example notices
(Figures 4.3.6-3 and 4.3.6-4, whose text sits at the very top of the ICD file; see
tests/golden/README.md for what in that text is the format and what the extraction
added). Where the table and the figures disagree, the figures win:

* Every line the notice generates ends in one blank (``Media 1 of 1 ``); a blank
  line is a single blank. The preamble is the DAAC's text, written verbatim.
* One notice per *request* (one shipment): the header once, then one section per
  volume, each starting at ``Media k of n`` (k = position, n = number of volumes),
  as the table's "media item to which the following directory information applies".
* Shipment: preamble, the Support Contacts block between two rules of 74 ``+``
  (when there are contacts), a blank line, ``++++++++++``, then the items.
  Rejection (Figure 4.3.6-4): preamble, contacts, ``++++++++++``, a blank line.
* ``Shipping Address`` has no colon (both figures; the table shows one), its lines
  are indented by 16 blanks; contact lines are not indented. No entry for nulls.
* No blank line between ``Media k of n`` and the underline (the table has one, the
  figures do not). Underlines are 100 ``_``.
* Columns are separated by fixed runs of 17 blanks, not padded to a width:
  heading ``Directory``·17·``Status``·34·``Granule ID``; shipment row dir·17·status·17·UR;
  media line ``<Media_ID>``·17·``MEDIA TYPE: t``·34·``MEDIA FORMAT : f``. The rejection
  has no Media_ID (33 blanks instead) and rows dir·34·status·17·UR, back to back.
* Shipment granules: the row, then one line per file name, then a blank line. A
  Canceled granule lists no files (nothing of it is on the media). With checksums
  (the user is on the checksum list) the headings gain ``FILECKSUMTYPE``, ``File Name``,
  ``FILECKSUMVALUE`` lines and each file is three lines in the table's item order
  (type, name, value); a missing checksum is a blank line for type and value
  ("A blank line ... is inserted if a checksum is required but not provided").
* A rejection is a notice whose every granule is Canceled; it lists no files and
  no checksum headings (so it reads back with ``checksums=False``), and ends with
  one blank line after the rows. Status is spelled ``Completed`` as in the table
  and the figures (the prose says "Complete").

Field limits of the table are enforced with ValueError: OrderID and RequestID 1-10
letters or digits, Directory ≤ 5, Granule ID ≤ 32, Media type ≤ 6, file names
≤ 255, checksum type ≤ 64 and value ≤ 255 (MD5: 32 lower-case hex digits), at
most 11 lines of Support Contacts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

DELIMITER = "++++++++++"
CONTACTS_RULE = "+" * 74
UNDERLINE = "_" * 100
COLUMN_GAP = " " * 17
ADDRESS_INDENT = " " * 16
REJECTION_MEDIA_INDENT = " " * 33
BLANK = " "
COMPLETED = "Completed"
CANCELED = "Canceled"
STATUSES = (COMPLETED, CANCELED)
MEDIA_TYPES = ("CDROM", "CD-ROM", "DVD", "DLT")
COUNT_UNITS = ("files", "granules")
MAX_CONTACT_LINES = 11
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

_ID = re.compile(r"[A-Za-z0-9]{1,10}")
_TOKEN = re.compile(r"\S+")
_NAME = re.compile(r"\S+(?: \S+)*")  # single inner blanks only: a name can never look like a row
_MD5 = re.compile(r"[0-9a-f]{32}")
_MEDIA_SEQ = re.compile(r"Media (\d+) of (\d+)")
_ROW = re.compile(r"(\S+) {2,}(Completed|Canceled) {2,}(\S+)")  # Directory, Status, Granule ID
_MEDIA_LINE = re.compile(r"(\S*) *MEDIA TYPE: *(\S+) +MEDIA FORMAT *: *(\S*)")
_COUNT = re.compile(r"Number of (files|granules): *(\d+)")
_HEADINGS = ("Directory", "FILECKSUMTYPE", "File Name", "FILECKSUMVALUE")


@dataclass(frozen=True)
class MediaFile:
    """A file of a granule on the media; the checksum pair only for users on the checksum list.

    ``size`` is printed on the packing list only: Table 4.3.6-2 has no size, so the
    notice's text carries none and a notice read back equals one with sizes.
    """

    name: str
    checksum_type: str | None = None
    checksum_value: str | None = None
    size: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class MediaGranule:
    """One row: the granule's directory on the media (its Unit ID), status and files."""

    directory: str
    granule_id: str  # the short UR, e.g. SC:AST_L1A.002:13900
    status: str  # Completed or Canceled
    files: list[MediaFile] = field(default_factory=list)


@dataclass(frozen=True)
class MediaVolume:
    """One media item; ``media_id`` is ``<RequestID>_<VolumeID>``, None in a rejection."""

    media_id: str | None
    media_type: str  # one of MEDIA_TYPES
    media_format: str  # RockRidge, DEFAULT, TAR, TARFORMAT ...
    granules: list[MediaGranule]


@dataclass(frozen=True)
class MediaNotice:
    """What one physical media DN (shipment or rejection) of one request says."""

    order_id: str
    request_id: str
    completed: datetime  # Completion Date, naive UTC, to the second
    shipping_address: list[str]  # lines, see contact_lines()
    count: int  # Number of files / Number of granules in the request
    count_unit: str  # "files" (data pool) or "granules" (archive)
    volumes: list[MediaVolume]
    support_contacts: list[str] = field(default_factory=list)
    checksums: bool = False  # the user is on the checksum distribution list

    @property
    def rejected(self) -> bool:
        """Every unit rejected: the rejection notice and subject apply (ICD 4.3.6.5)."""
        granules = [g for v in self.volumes for g in v.granules]
        return bool(granules) and all(g.status == CANCELED for g in granules)


def media_dn_subject(archive_name: str, order_id: str) -> str:
    """Subject of a (partly) successful shipment (ICD 4.3.6.5)."""
    return f"{archive_name} ECS Order Shipment Notification Order ID: {order_id}"


def media_rejection_subject(archive_name: str, order_id: str) -> str:
    """Subject when all units in the order were rejected (ICD 4.3.6.5)."""
    return f"{archive_name} ECS Order Rejection Notification Order ID: {order_id}"


def media_notice_subject(archive_name: str, notice: MediaNotice) -> str:
    """The subject that fits the notice: rejection when every granule was Canceled."""
    subject = media_rejection_subject if notice.rejected else media_dn_subject
    return subject(archive_name, notice.order_id)


def media_id(request_id: str, volume_number: int) -> str:
    """The Media_ID of the table: ``<RequestID>_<VolumeID>`` with a three-digit volume (``0300018199_001``)."""
    return f"{request_id}_{volume_number:03d}"


def contact_lines(*, first_name: str = "", middle_initial: str = "", last_name: str = "", title: str = "",
                  organization: str = "", address: str = "", city: str = "", state: str = "", zip_code: str = "",
                  country: str = "", phone: str = "", fax: str = "", email: str = "") -> list[str]:
    """Address or contact lines in the table's order, no entry for null values.

    ``<First> <MI> <Last>``, title, organization, each line of ``address``,
    ``<City>, <State> <Zip>``, country, ``Phone: ``, ``Fax: ``, ``E-Mail: ``.
    """
    def joined(*parts: str, sep: str = " ") -> str:
        return sep.join(p.strip() for p in parts if p.strip())

    place = joined(city, joined(state, zip_code), sep=", ")
    lines = [joined(first_name, middle_initial, last_name), title.strip(), organization.strip(),
             *(line.strip() for line in address.splitlines()), place, country.strip()]
    lines += [f"{label}: {value.strip()}" for label, value in (("Phone", phone), ("Fax", fax), ("E-Mail", email))
              if value.strip()]
    return [line for line in lines if line]


def _token(item: str, value: str | None, limit: int, pattern: re.Pattern[str] = _TOKEN) -> None:
    if value is None or not pattern.fullmatch(value):
        raise ValueError(f"{item} must be one line without leading, trailing or doubled blanks: {value!r}")
    if len(value) > limit:
        raise ValueError(f"{item} is limited to {limit} characters (Table 4.3.6-2), got {len(value)}")


def _check_lines(item: str, lines: list[str]) -> None:
    for line in lines:
        _token(item, line, 255, _NAME)
        if line.strip("+") == "" or line.startswith("Support Contacts:"):
            raise ValueError(f"a {item} line may not look like a delimiter or heading: {line!r}")


def _check_file(f: MediaFile, checksums: bool) -> None:
    _token("File Name", f.name, 255, _NAME)
    if _MEDIA_SEQ.fullmatch(f.name):
        raise ValueError(f"a file name may not read as a 'Media k of n' line: {f.name!r}")
    if f.size is not None and f.size < 0:
        raise ValueError(f"{f.name} has a negative size: {f.size}")
    if (f.checksum_type is None) != (f.checksum_value is None):
        raise ValueError(f"FILECKSUMTYPE and FILECKSUMVALUE of {f.name} go together")
    if f.checksum_type is None:
        return
    if not checksums:
        raise ValueError(f"{f.name} has a checksum but the notice is not for a user on the checksum list")
    _token("FILECKSUMTYPE", f.checksum_type, 64)
    _token("FILECKSUMVALUE", f.checksum_value, 255)
    if f.checksum_type == "MD5" and not _MD5.fullmatch(f.checksum_value or ""):
        raise ValueError(f"an MD5 FILECKSUMVALUE is 32 lower-case hex digits: {f.checksum_value!r}")


def _check_volume(notice: MediaNotice, volume: MediaVolume) -> None:
    if notice.rejected:
        if volume.media_id is not None:
            raise ValueError("a rejection notice has no Media_ID (nothing was written)")
    else:
        _token("Media_ID", volume.media_id, 21)
        if not re.fullmatch(re.escape(notice.request_id) + r"_[A-Za-z0-9]{1,10}", volume.media_id or ""):
            raise ValueError(f"Media_ID must be <RequestID>_<VolumeID>: {volume.media_id!r}")
    if volume.media_type not in MEDIA_TYPES:
        raise ValueError(f"MEDIA TYPE must be one of {', '.join(MEDIA_TYPES)}; got {volume.media_type!r}")
    _token("MEDIA FORMAT", volume.media_format, 32)
    if not volume.granules:
        raise ValueError(f"volume {volume.media_id} lists no granules")
    for g in volume.granules:
        _token("Directory", g.directory, 5)
        _token("Granule ID", g.granule_id, 32)
        if g.status not in STATUSES:
            raise ValueError(f"Status must be Completed or Canceled; got {g.status!r}")
        if g.status == CANCELED and g.files:
            raise ValueError(f"the Canceled granule {g.granule_id} can list no files")
        for f in g.files:
            _check_file(f, notice.checksums)


def _check(notice: MediaNotice, preamble: str) -> None:
    """Refuse what Table 4.3.6-2 does not allow, before anything is sent or printed."""
    for line in preamble.split("\n"):
        if line.strip() == DELIMITER or "OrderID/RequestID:" in line or "Support Contacts:" in line:
            raise ValueError("the preamble may contain neither the ++++++++++ delimiter nor the notice's items")
    for item, value in (("OrderID", notice.order_id), ("RequestID", notice.request_id)):
        if not _ID.fullmatch(value):
            raise ValueError(f"{item} must be 1 to 10 letters or digits; got {value!r}")
    if len(notice.support_contacts) > MAX_CONTACT_LINES:
        raise ValueError(f"Support Contacts are up to {MAX_CONTACT_LINES} lines (Table 4.3.6-2)")
    _check_lines("Support Contacts", notice.support_contacts)
    _check_lines("Shipping Address", notice.shipping_address)
    if notice.count_unit not in COUNT_UNITS or notice.count < 0:
        raise ValueError(f"Number of files/granules: unit {notice.count_unit!r}, count {notice.count}")
    if not notice.volumes:
        raise ValueError("a media notice lists at least one volume")
    for volume in notice.volumes:
        _check_volume(notice, volume)


def _line(text: str) -> str:
    return text + BLANK  # every generated line ends in one blank, as in both figures


def _header(notice: MediaNotice, preamble: str) -> list[str]:
    lines = preamble.split("\n")
    if notice.support_contacts:
        lines += [_line(CONTACTS_RULE), _line("Support Contacts:"), *map(_line, notice.support_contacts),
                  _line(CONTACTS_RULE)]
    lines += [_line(DELIMITER), BLANK] if notice.rejected else [BLANK, _line(DELIMITER)]
    lines += [_line(f"OrderID/RequestID: {notice.order_id}:{notice.request_id}"),
              _line(f"Completion Date: {notice.completed.strftime(TIME_FORMAT)}"), BLANK]
    if notice.shipping_address:
        lines += [_line("Shipping Address"), *(_line(ADDRESS_INDENT + a) for a in notice.shipping_address), BLANK]
    lines.append(_line(f"Number of {notice.count_unit}: {notice.count}"))
    return lines


class Columns:
    """How the table's rows are set: here as the ICD's figures write them, fixed runs of 17 blanks.

    The figures' gaps are not columns (the headings do not stand over their values);
    the printed packing list sets the same items in aligned columns (``packing_list.AlignedColumns``).
    """

    def heading(self) -> str:
        return f"Directory{COLUMN_GAP}Status{COLUMN_GAP * 2}Granule ID"

    def row(self, g: MediaGranule, rejected: bool) -> str:
        gap = COLUMN_GAP * 2 if rejected else COLUMN_GAP
        return f"{g.directory}{gap}{g.status}{COLUMN_GAP}{g.granule_id}"

    def file_heading(self) -> str:
        return _HEADINGS[2]

    def file(self, f: MediaFile) -> str:
        return f.name


ICD_COLUMNS = Columns()


def _volume(notice: MediaNotice, k: int, volume: MediaVolume, cols: Columns) -> list[list[str]]:
    """A volume's section as groups of lines: its headings, then each granule's entry (kept on one page)."""
    rejected = notice.rejected
    ident = REJECTION_MEDIA_INDENT if rejected else f"{volume.media_id}{COLUMN_GAP}"
    lines = [_line(f"Media {k} of {len(notice.volumes)}"), _line(UNDERLINE),
             _line(f"{ident}MEDIA TYPE: {volume.media_type}{COLUMN_GAP * 2}MEDIA FORMAT : {volume.media_format}"),
             _line(UNDERLINE), _line(cols.heading())]
    if rejected:
        lines.append(BLANK)
        lines += [_line(cols.row(g, True)) for g in volume.granules]
        return [[*lines, BLANK]]
    file_heading = _line(cols.file_heading())
    lines += [_line(_HEADINGS[1]), file_heading, _line(_HEADINGS[3])] if notice.checksums else [file_heading]
    lines.append(BLANK)
    groups = [lines]
    for g in volume.granules:
        entry = [_line(cols.row(g, False))]
        for f in g.files:
            if notice.checksums:
                entry += [_line(f.checksum_type) if f.checksum_type else BLANK, _line(cols.file(f)),
                          _line(f.checksum_value) if f.checksum_value else BLANK]
            else:
                entry.append(_line(cols.file(f)))
        entry.append(BLANK)
        groups.append(entry)
    return groups


def media_dn_lines(notice: MediaNotice, preamble: str,
                   cols: Columns = ICD_COLUMNS) -> tuple[list[str], list[list[list[str]]]]:
    """(header lines, each volume section as groups of lines) after validation: the packing list pages by them."""
    _check(notice, preamble)
    return _header(notice, preamble), [_volume(notice, k, v, cols) for k, v in enumerate(notice.volumes, 1)]


def render_media_dn(notice: MediaNotice, preamble: str) -> str:
    """The notice text as Figures 4.3.6-3/4.3.6-4 lay it out; LF line ends (see the module docstring)."""
    header, volumes = media_dn_lines(notice, preamble)
    return "\n".join(header + [line for v in volumes for group in v for line in group]) + "\n"


class _Lines:
    """A cursor over the body's lines; blank means nothing but white space."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = [line.rstrip() for line in lines]
        self.i = 0

    def peek(self, ahead: int = 0) -> str | None:
        j = self.i + ahead
        return self.lines[j] if j < len(self.lines) else None

    def take(self) -> str:
        if self.i >= len(self.lines):
            raise ValueError("the media notice ends in the middle of an entry")
        line = self.lines[self.i]
        self.i += 1
        return line

    def skip_blank(self) -> None:
        while self.peek() == "":
            self.i += 1

    def block(self) -> list[str]:
        """Non-blank lines up to the next blank one, stripped."""
        out = []
        while self.peek():
            out.append(self.take().strip())
        return out


def _starts_file(line: str | None) -> bool:
    """A file name: never blank, never a row, never a ``Media k of n`` line (the writer refuses those)."""
    return bool(line) and not _ROW.fullmatch(line or "") and not _MEDIA_SEQ.fullmatch((line or "").strip())


def _files(cur: _Lines, checksums: bool) -> list[MediaFile]:
    """The files after a row, up to the blank line that ends the entry (or the next row)."""
    files: list[MediaFile] = []
    while (line := cur.peek()) is not None and not _ROW.fullmatch(line):
        if line == "" and not (checksums and _starts_file(cur.peek(1))):
            cur.take()  # the blank line that ends the granule's entry
            break
        if checksums:  # type (blank if not provided), name, value (blank if not provided)
            kind, name, value = cur.take().strip(), cur.take().strip(), (cur.take() if cur.peek() is not None else "")
            files.append(MediaFile(name, kind or None, value.strip() or None))
        else:
            files.append(MediaFile(cur.take().strip()))
    return files


def _volume_section(cur: _Lines) -> tuple[MediaVolume, bool]:
    """From after ``Media k of n`` to the end of its last granule; (volume, checksum headings seen)."""
    def skip_underline() -> None:
        cur.skip_blank()
        if set(cur.peek() or "") == {"_"}:
            cur.take()

    skip_underline()
    m = _MEDIA_LINE.fullmatch(cur.take().strip() if cur.peek() is not None else "")
    if not m:
        raise ValueError("a media section needs its MEDIA TYPE / MEDIA FORMAT line")
    ident, media_type, media_format = m.groups()
    if not media_format:  # the ICD's text of Figure 4.3.6-4 wraps the format onto its own line
        media_format = cur.take().strip()
    skip_underline()
    checksums = "FILECKSUMTYPE" in cur.block()
    granules: list[MediaGranule] = []
    cur.skip_blank()
    while (line := cur.peek()) is not None and (row := _ROW.fullmatch(line)):
        cur.take()
        directory, status, granule_id = row.groups()
        granules.append(MediaGranule(directory, granule_id, status, _files(cur, checksums)))
    return MediaVolume(ident or None, media_type, media_format, granules), checksums


def _contacts(head: list[str]) -> list[str]:
    for i, line in enumerate(head):
        if line.strip() == "Support Contacts:":
            out = []
            for entry in head[i + 1:]:
                if entry.strip() and set(entry.strip()) == {"+"}:
                    break
                if entry.strip():
                    out.append(entry.strip())
            return out
    return []


def parse_media_dn(text: str) -> MediaNotice:
    """Read a physical media DN back; ``parse_media_dn(render_media_dn(n, p)) == n``.

    Takes CRLF, blank lines with or without blanks, the colon after Shipping
    Address, and the ICD text's wrapped MEDIA FORMAT line. The preamble is skipped.
    """
    raw = text.replace("\r\n", "\n").split("\n")
    start = next((i for i, line in enumerate(raw) if line.strip() == DELIMITER), None)
    head, body = (raw[:start], raw[start + 1:]) if start is not None else ([], raw)
    cur = _Lines(body)
    fields: dict[str, str] = {}
    address: list[str] = []
    volumes: list[MediaVolume] = []
    checksums = False
    while cur.peek() is not None:
        stripped = cur.take().strip()
        if stripped.startswith("OrderID/RequestID:"):
            fields["ids"] = stripped.split(":", 1)[1].strip()
        elif stripped.startswith("Completion Date:"):
            fields["completed"] = stripped.split(":", 1)[1].strip()
        elif stripped.rstrip(":") == "Shipping Address":
            address = cur.block()
        elif m := _COUNT.fullmatch(stripped):
            fields["unit"], fields["count"] = m.groups()
        elif m := _MEDIA_SEQ.fullmatch(stripped):
            if int(m.group(1)) != len(volumes) + 1:
                raise ValueError(f"media out of sequence: {stripped!r} after {len(volumes)} volumes")
            volume, seen = _volume_section(cur)
            volumes.append(volume)
            checksums = checksums or seen
    if "ids" not in fields or "completed" not in fields or "count" not in fields or not volumes:
        raise ValueError("not a physical media Distribution Notice: no OrderID/RequestID, date, count or media")
    order_id, _, request_id = fields["ids"].partition(":")
    return MediaNotice(
        order_id=order_id, request_id=request_id, completed=datetime.strptime(fields["completed"], TIME_FORMAT),
        shipping_address=address, count=int(fields["count"]), count_unit=fields["unit"], volumes=volumes,
        support_contacts=_contacts(head), checksums=checksums,
    )
