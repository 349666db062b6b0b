"""The Distribution Notice for FtpPull, FtpPush, scp and SMB push (ICD 4.3.6.4, Table 4.3.6-1).

A subscriber's software parses this text, so it is written byte for byte as the
ICD's two example notices (Figures 4.3.6-1 and 4.3.6-2, at the end of the ICD):
the preamble, a blank line, ten ``+``, a blank line, then one ``KEYWORD: value``
per line; granule lines indented by one tab, file lines by two; every line ends
in LF ("ASCII line feed code 010").

Where the table and the examples disagree, this module decides so:

* ``FILECKSUMTYPE: CKSUM`` with one blank. Figure 4.3.6-1 has two blanks in its
  first file and one in its second; footnote 1 of the table ("keyword, colon,
  1 blank, value") settles it. The parser accepts any number of blanks.
* ``MEDIAID: `` keeps its blank: the value is empty, the blank is the footnote's
  separator, and Figure 4.3.6-1 has it (the table's ``'MEDIAID:'`` cell does not).
* ``USERSTRING: `` likewise keeps its blank when the value is empty (Figure 4.3.6-1).
* The file list ends with the blank line that the table puts after every
  FILENAME/FILESIZE/FILECKSUM… entry, so a DN ends in an empty line.
* FTPEXPR is written for FtpPull only ("not used when data is pushed"); a
  pushed notice that carries an expiry is refused, a pull notice without one
  (a pull request that failed before staging) leaves the line out.
* A failed or cancelled request follows Figure 4.3.6-2, not the table: FAILURE
  and its message after FINISHED's blank line; MEDIATYPE, MEDIAFORMAT, FTPHOST,
  FTPDIR (FTPEXPR if any); no MEDIA/MEDIAID lines, no ESDT lines, no file lines
  ("No file name is given if the request failed"); then TWO blank lines — the
  figure has two, and so has a real GES DAAC failure DN (corpus/pdr/dn) — then
  "None of the requested granules are considered distributed.", "The requested
  granules were:", and per granule ``\\t\\t GRANULE: <UR>`` and
  ``\\t\\t STATUS: DISTRIBUTION FAILED - <explanation>`` (two tabs and a blank,
  as printed), granules separated by one blank line, no blank line at the end.
  A granule without an explanation gets no STATUS line (the table allows that
  in a failed request), and the parser reads a failed granule's ESDT from its UR.
* Failure explanations are free text from wherever the failure happened; they
  are flattened to one line (runs of white space become one blank). Every other
  value must already be one line, and identifiers (host, UR, ESDT, file names,
  checksums) may not start or end with blanks: the parser could not give them back.
* The ICD names FtpPush, FtpPull and scp; Ardis adds ``SmbPush`` in the same format.

Field sizes of the table that a value can exceed are enforced with ValueError:
ORDERID/REQUESTID 1-10 letters or digits or ``NONE``, USERSTRING ≤ 255, FTPHOST
≤ 64, FTPDIR ≤ 255, FILENAME ≤ 265, checksum type ≤ 64 and value ≤ 255. The
preamble may contain neither ``+`` nor ``KEYWORD:`` (its own row of the table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from distribution.time import dn_time, parse_dn_time

DELIMITER = "++++++++++"
KEYWORDS = frozenset({
    "ORDERID", "REQUESTID", "USERSTRING", "FINISHED", "MEDIATYPE", "MEDIAFORMAT", "FTPHOST", "FTPDIR", "FTPEXPR",
    "MEDIAID", "GRANULE", "ESDT", "STATUS", "FILENAME", "FILESIZE", "FILECKSUMTYPE", "FILECKSUMVALUE",
})
MEDIA_TYPES = ("FtpPull", "FtpPush", "scp", "SmbPush")
REQUEST_FAILED = "The request failed"
REQUEST_CANCELLED = "The request was cancelled"
FAILURE_MESSAGES = (REQUEST_FAILED, REQUEST_CANCELLED)
NOT_DISTRIBUTED = "None of the requested granules are considered distributed."
GRANULES_WERE = "The requested granules were:"
FAILED_STATUS = "DISTRIBUTION FAILED"

_ID = re.compile(r"(?:[A-Za-z0-9]{1,10}|NONE)")
_PREAMBLE_KEYWORD = re.compile(r"\b(?:FAILURE|" + "|".join(sorted(KEYWORDS)) + r"):")
_KEYWORD_LINE = re.compile(r"[ \t]*([A-Z]+):(.*)")
_ESDT_IN_UR = re.compile(r"SC:([^:\s]+?)(?::\d+)?$")
_DELIMITER_LINE = re.compile(r"^\+{10}[ \t]*$", re.M)
_KEEP_BLANKS = frozenset({"USERSTRING", "FTPDIR"})  # free text: kept as written after "KEYWORD: "


@dataclass(frozen=True)
class DnFile:
    """One FILENAME entry; the checksum pair is given for users on the checksum list only."""

    name: str
    size: int
    checksum_type: str | None = None
    checksum_value: str | None = None


@dataclass(frozen=True)
class DnGranule:
    """One GRANULE entry; ``failure`` is the STATUS explanation of a granule not distributed."""

    ur: str
    esdt: str
    failure: str | None = None
    files: list[DnFile] = field(default_factory=list)


@dataclass(frozen=True)
class DistributionNotice:
    """What one electronic DN says; ``failure`` is one of FAILURE_MESSAGES when every granule failed."""

    order_id: str
    request_id: str
    userstring: str
    finished: datetime  # naive UTC; written to the second
    media_type: str  # one of MEDIA_TYPES
    ftp_host: str
    ftp_dir: str
    ftp_expires: datetime | None
    granules: list[DnGranule]
    failure: str | None = None


def dn_subject(archive_name: str, order_id: str) -> str:
    """E-mail subject of a DN: ``<DAAC name> ECS Order Notification Order ID: <Order ID>`` (ICD 4.3.6.4)."""
    return f"{archive_name} ECS Order Notification Order ID: {order_id}"


def flatten(text: str) -> str:
    """Free text on one line: a failure explanation may come from a multi-line error."""
    return " ".join(text.split())


def _one_line(keyword: str, value: str, limit: int | None = None, *, trimmed: bool = True) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(f"{keyword} must be one line: {value[:60]!r}")
    if trimmed and value != value.strip():
        raise ValueError(f"{keyword} may not start or end with blanks: {value[:60]!r}")
    if limit is not None and len(value) > limit:
        raise ValueError(f"{keyword} is limited to {limit} characters (Table 4.3.6-1), got {len(value)}")


def _check(notice: DistributionNotice, preamble: str) -> None:
    """Refuse what Table 4.3.6-1 does not allow, before anything is sent."""
    if "+" in preamble or _PREAMBLE_KEYWORD.search(preamble):
        raise ValueError("the DN preamble may contain neither '+' signs nor KEYWORD: sequences (Table 4.3.6-1)")
    for keyword, value in (("ORDERID", notice.order_id), ("REQUESTID", notice.request_id)):
        if not _ID.fullmatch(value):
            raise ValueError(f"{keyword} must be 1 to 10 letters or digits, or NONE; got {value!r}")
    _one_line("USERSTRING", notice.userstring, 255, trimmed=False)
    if notice.media_type not in MEDIA_TYPES:
        raise ValueError(f"MEDIATYPE must be one of {', '.join(MEDIA_TYPES)}; got {notice.media_type!r}")
    _one_line("FTPHOST", notice.ftp_host, 64)
    _one_line("FTPDIR", notice.ftp_dir, 255, trimmed=False)
    if notice.ftp_expires is not None and notice.media_type != "FtpPull":
        raise ValueError(f"FTPEXPR is for FtpPull only, not {notice.media_type}")
    if notice.failure is not None and notice.failure not in FAILURE_MESSAGES:
        raise ValueError(f"the FAILURE message must be one of {FAILURE_MESSAGES}; got {notice.failure!r}")
    for g in notice.granules:
        _one_line("GRANULE", g.ur)
        if not g.ur or " " in g.ur:
            raise ValueError(f"GRANULE must be a UR without blanks: {g.ur!r}")
        _one_line("ESDT", g.esdt)
        if g.failure is not None and not flatten(g.failure):
            raise ValueError(f"the failure explanation of {g.ur} is empty (use None for a distributed granule)")
        for f in g.files:
            _one_line("FILENAME", f.name, 265)
            if f.size < 0:
                raise ValueError(f"FILESIZE of {f.name} is negative")
            if (f.checksum_type is None) != (f.checksum_value is None):
                raise ValueError(f"FILECKSUMTYPE and FILECKSUMVALUE of {f.name} go together")
            if f.checksum_type is not None and f.checksum_value is not None:
                _one_line("FILECKSUMTYPE", f.checksum_type, 64)
                _one_line("FILECKSUMVALUE", f.checksum_value, 255)


def _header(notice: DistributionNotice, preamble: str) -> list[str]:
    lines = [preamble, "", DELIMITER, "",
             f"ORDERID: {notice.order_id}",
             f"REQUESTID: {notice.request_id}",
             f"USERSTRING: {notice.userstring}",
             f"FINISHED: {dn_time(notice.finished)}",
             ""]
    if notice.failure is not None:
        lines += ["FAILURE", notice.failure]
    lines += [f"MEDIATYPE: {notice.media_type}",
              "MEDIAFORMAT: FILEFORMAT",
              f"FTPHOST: {notice.ftp_host}",
              f"FTPDIR: {notice.ftp_dir}"]
    if notice.ftp_expires is not None:
        lines.append(f"FTPEXPR: {dn_time(notice.ftp_expires)}")
    return lines


def _failed_tail(granules: list[DnGranule]) -> list[str]:
    lines = ["", "", NOT_DISTRIBUTED, GRANULES_WERE]
    for i, g in enumerate(granules):
        if i:
            lines.append("")
        lines.append(f"\t\t GRANULE: {g.ur}")
        if g.failure is not None:
            lines.append(f"\t\t STATUS: {FAILED_STATUS} - {flatten(g.failure)}")
    return lines


def _granule_list(granules: list[DnGranule]) -> list[str]:
    lines = ["MEDIA 1 of 1", "MEDIAID: ", ""]
    for g in granules:
        lines += [f"\tGRANULE: {g.ur}", f"\tESDT: {g.esdt}"]
        if g.failure is not None:
            lines.append(f"\tSTATUS: {FAILED_STATUS} - {flatten(g.failure)}")
        lines.append("")
        for f in g.files:
            lines += [f"\t\tFILENAME: {f.name}", f"\t\tFILESIZE: {f.size}"]
            if f.checksum_type is not None:
                lines += [f"\t\tFILECKSUMTYPE: {f.checksum_type}", f"\t\tFILECKSUMVALUE: {f.checksum_value}"]
            lines.append("")
    return lines


def render_dn(notice: DistributionNotice, preamble: str) -> str:
    """The DN text as Table 4.3.6-1 and its figures lay it out (see the module docstring)."""
    _check(notice, preamble)
    lines = _header(notice, preamble)
    lines += _failed_tail(notice.granules) if notice.failure is not None else _granule_list(notice.granules)
    return "\n".join(lines) + "\n"


def split_preamble(text: str) -> tuple[str, str]:
    """(preamble, body); the body starts after the blank line / ``+``×10 / blank line delimiter.

    Real notices (S4PA's test DN) put the ``+`` line without blank lines around it;
    a text without any delimiter is all body, read by its ``KEYWORD:`` lines as the
    ICD allows.
    """
    text = text.replace("\r\n", "\n")
    marker = f"\n\n{DELIMITER}\n\n"
    if marker in text:
        head, body = text.split(marker, 1)
        return head, body
    m = _DELIMITER_LINE.search(text)
    if m:
        return text[: m.start()].rstrip("\n"), text[m.end() :].lstrip("\n")
    return "", text


def _esdt_of(ur: str) -> str:
    m = _ESDT_IN_UR.search(ur)
    return m.group(1) if m else ""


@dataclass
class _Granule:
    """A granule while its lines are being read."""

    ur: str
    esdt: str
    failure: str | None = None
    files: list[DnFile] = field(default_factory=list)

    def add_file(self, name: str) -> None:
        self.files.append(DnFile(name, 0))

    def set_last_file(self, **changes: object) -> None:
        if self.files:
            self.files[-1] = replace(self.files[-1], **changes)  # type: ignore[arg-type]

    def done(self) -> DnGranule:
        return DnGranule(self.ur, self.esdt, self.failure, self.files)


def _value(keyword: str, raw: str) -> str:
    """The value after ``KEYWORD:``: one blank is the separator; tokens are trimmed."""
    value = raw[1:] if raw.startswith(" ") else raw
    return value if keyword in _KEEP_BLANKS else value.strip()


def parse_dn(text: str) -> DistributionNotice:
    """Read a DN (ours or another system's) back; ``parse_dn(render_dn(n, p)) == n``.

    The preamble is skipped. A failed DN gives its granules without files and
    takes their ESDT from the UR. Bare ``UR:`` lines after a FAILURE (as GES DAAC's
    notices list the requested granules) are read as granules too.
    """
    _, body = split_preamble(text)
    fields: dict[str, str] = {}
    granules: list[_Granule] = []
    failure: str | None = None
    lines = body.split("\n")
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == "FAILURE" and failure is None:
            failure = lines[i + 1].strip() if i + 1 < len(lines) else ""
            continue
        if stripped.startswith("UR:") and failure is not None:
            granules.append(_Granule(stripped, _esdt_of(stripped)))
            continue
        m = _KEYWORD_LINE.fullmatch(line)
        if not m or m.group(1) not in KEYWORDS:
            continue
        keyword, value = m.group(1), _value(m.group(1), m.group(2))
        current = granules[-1] if granules else None
        if keyword == "GRANULE":
            granules.append(_Granule(value, _esdt_of(value)))
        elif keyword == "ESDT" and current:
            current.esdt = value
        elif keyword == "STATUS" and current:
            current.failure = value.split(" - ", 1)[1] if " - " in value else value
        elif keyword == "FILENAME" and current:
            current.add_file(value)
        elif keyword == "FILESIZE" and current:
            current.set_last_file(size=int(value))
        elif keyword == "FILECKSUMTYPE" and current:
            current.set_last_file(checksum_type=value)
        elif keyword == "FILECKSUMVALUE" and current:
            current.set_last_file(checksum_value=value)
        else:
            fields.setdefault(keyword, value)
    missing = [k for k in ("ORDERID", "REQUESTID", "FINISHED", "MEDIATYPE") if k not in fields]
    if missing:
        raise ValueError(f"not a Distribution Notice: no {', '.join(missing)}")
    return DistributionNotice(
        order_id=fields["ORDERID"],
        request_id=fields["REQUESTID"],
        userstring=fields.get("USERSTRING", ""),
        finished=parse_dn_time(fields["FINISHED"]),
        media_type=fields["MEDIATYPE"],
        ftp_host=fields.get("FTPHOST", ""),
        ftp_dir=fields.get("FTPDIR", ""),
        ftp_expires=parse_dn_time(fields["FTPEXPR"]) if fields.get("FTPEXPR") else None,
        granules=[g.done() for g in granules],
        failure=failure,
    )
