"""The Distribution Notice for FtpPull, FtpPush and scp (ICD 4.3.6.4, Table 4.3.6-1).

Layout, as the ICD's example notices show it: the preamble, a blank line, ten
``+``, a blank line, then ``KEYWORD: value`` lines; granules indented by one tab,
files by two, a blank line after each granule header and each file block. Lines
end in LF ("ASCII line feed code 010").

Decisions where the table and the examples differ:

* ``MEDIAID: `` keeps the blank after the colon (footnote 1: keyword, colon, one
  blank, value — here an empty value), as the example has it.
* ``FILECKSUMTYPE: CKSUM`` with one blank: the first example file has two, the
  second one; the table's format has one.
* A failed or cancelled request follows Figure 4.3.6-2: FAILURE and the message
  after FINISHED and a blank line, no MEDIA/MEDIAID lines and no file lines, a
  blank line, the closing "None of the requested granules…" block, and each
  granule as ``\\t\\t GRANULE:`` / ``\\t\\t STATUS:`` (two tabs and a blank, as
  printed), granules separated by blank lines.
* FTPEXPR appears only when the data were staged for pull (it is "not used when
  data is pushed").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from distribution.time import dn_time, parse_dn_time

DELIMITER = "++++++++++"
KEYWORDS = ("ORDERID", "REQUESTID", "USERSTRING", "FINISHED", "FAILURE", "MEDIATYPE", "MEDIAFORMAT", "FTPHOST",
            "FTPDIR", "FTPEXPR", "MEDIAID", "GRANULE", "ESDT", "STATUS", "FILENAME", "FILESIZE", "FILECKSUMTYPE",
            "FILECKSUMVALUE")
NOT_DISTRIBUTED = "None of the requested granules are considered distributed."
GRANULES_WERE = "The requested granules were:"
FAILED_STATUS = "DISTRIBUTION FAILED"
_ID = re.compile(r"^(?:[A-Za-z0-9]{1,10}|NONE)$")
_PREAMBLE_KEYWORD = re.compile(r"\b(?:" + "|".join(KEYWORDS) + r"):")
_UR_ESDT = re.compile(r"SC:([A-Za-z0-9_]+\.\d{3})(?::\d+)?$")
_DELIMITER_LINE = re.compile(r"^\+{10}[ \t]*$", re.M)


@dataclass
class DnFile:
    name: str
    size: int
    checksum_type: str | None = None
    checksum_value: str | None = None


@dataclass
class DnGranule:
    ur: str
    esdt: str
    failure: str | None = None  # the failed status explanation
    files: list[DnFile] = field(default_factory=list)


@dataclass
class DistributionNotice:
    order_id: str
    request_id: str
    userstring: str
    finished: datetime
    media_type: str  # FtpPull | FtpPush | scp | SmbPush
    ftp_host: str
    ftp_dir: str
    ftp_expires: datetime | None
    granules: list[DnGranule]
    failure: str | None = None  # "The request failed" | "The request was cancelled"


def dn_subject(archive_name: str, order_id: str) -> str:
    """E-mail subject of a DN (ICD 4.3.6.4)."""
    return f"{archive_name} ECS Order Notification Order ID: {order_id}"


def _check(notice: DistributionNotice, preamble: str) -> None:
    """The field sizes of Table 4.3.6-1 and the preamble rule."""
    for name, value in (("ORDERID", notice.order_id), ("REQUESTID", notice.request_id)):
        if not _ID.match(value):
            raise ValueError(f"{name} must be 1-10 letters or digits or NONE, not {value!r}")
    if len(notice.userstring) > 255:
        raise ValueError("USERSTRING is limited to 255 characters")
    if len(notice.ftp_host) > 64:
        raise ValueError("FTPHOST is limited to 64 characters")
    if len(notice.ftp_dir) > 255:
        raise ValueError("FTPDIR is limited to 255 characters")
    if "\n" in notice.userstring or "\n" in notice.ftp_dir:
        raise ValueError("DN values are single lines")
    if "+" in preamble or _PREAMBLE_KEYWORD.search(preamble):
        raise ValueError("the DN preamble may not contain '+' signs or KEYWORD: sequences")
    for g in notice.granules:
        for f in g.files:
            if len(f.name) > 265:
                raise ValueError(f"FILENAME is limited to 265 characters: {f.name[:40]}…")


def render_dn(notice: DistributionNotice, preamble: str) -> str:
    """The DN text, byte for byte as the ICD lays it out."""
    _check(notice, preamble)
    lines = [preamble, "", DELIMITER, "",
             f"ORDERID: {notice.order_id}", f"REQUESTID: {notice.request_id}",
             f"USERSTRING: {notice.userstring}", f"FINISHED: {dn_time(notice.finished)}", ""]
    if notice.failure:
        lines += ["FAILURE", notice.failure]
    lines += [f"MEDIATYPE: {notice.media_type}", "MEDIAFORMAT: FILEFORMAT", f"FTPHOST: {notice.ftp_host}",
              f"FTPDIR: {notice.ftp_dir}"]
    if notice.ftp_expires is not None:
        lines.append(f"FTPEXPR: {dn_time(notice.ftp_expires)}")
    if notice.failure:
        lines += ["", NOT_DISTRIBUTED, GRANULES_WERE]
        blocks = [[f"\t\t GRANULE: {g.ur}", f"\t\t STATUS: {FAILED_STATUS} - {g.failure or notice.failure}"]
                  for g in notice.granules]
        for i, block in enumerate(blocks):
            lines += ([""] if i else []) + block
        return "\n".join(lines) + "\n"
    lines += ["MEDIA 1 of 1", "MEDIAID: ", ""]
    for g in notice.granules:
        lines += [f"\tGRANULE: {g.ur}", f"\tESDT: {g.esdt}"]
        if g.failure:
            lines.append(f"\tSTATUS: {FAILED_STATUS} - {g.failure}")
        lines.append("")
        for f in g.files:
            lines += [f"\t\tFILENAME: {f.name}", f"\t\tFILESIZE: {f.size}"]
            if f.checksum_type and f.checksum_value:
                lines += [f"\t\tFILECKSUMTYPE: {f.checksum_type}", f"\t\tFILECKSUMVALUE: {f.checksum_value}"]
            lines.append("")
    return "\n".join(lines) + "\n"


def split_preamble(text: str) -> tuple[str, str]:
    """(preamble, body): the body starts after the blank/``+``×10/blank delimiter."""
    text = text.replace("\r\n", "\n")
    marker = f"\n\n{DELIMITER}\n\n"
    if marker in text:
        head, body = text.split(marker, 1)
        return head, body
    # Real notices (S4PA's) put the delimiter without the blank lines around it.
    m = _DELIMITER_LINE.search(text)
    if m:
        return text[: m.start()].rstrip("\n"), text[m.end() :].lstrip("\n")
    return "", text  # no preamble: search KEYWORD: lines, as the ICD allows


def parse_dn(text: str) -> DistributionNotice:
    """Read a DN back (the preamble is skipped); the inverse of ``render_dn``."""
    _, body = split_preamble(text)
    fields: dict[str, str] = {}
    granules: list[DnGranule] = []
    failure: str | None = None
    lines = body.split("\n")
    for i, raw in enumerate(lines):
        line = raw.strip()
        if line == "FAILURE":
            failure = lines[i + 1].strip() if i + 1 < len(lines) else ""
            continue
        if line.startswith("UR:") and failure is not None:
            # Some systems list the failed granules as bare URs.
            m = _UR_ESDT.search(line)
            granules.append(DnGranule(ur=line, esdt=m.group(1) if m else ""))
            continue
        key, sep, value = line.partition(":")
        if not sep or key not in KEYWORDS:
            continue
        value = value.strip() if key not in ("USERSTRING", "FTPDIR") else value[1:] if value.startswith(" ") else value
        if key == "GRANULE":
            m = _UR_ESDT.search(value)
            granules.append(DnGranule(ur=value, esdt=m.group(1) if m else ""))
        elif key == "ESDT" and granules:
            granules[-1].esdt = value
        elif key == "STATUS" and granules:
            granules[-1].failure = value.split(" - ", 1)[1] if " - " in value else value
        elif key == "FILENAME" and granules:
            granules[-1].files.append(DnFile(name=value, size=0))
        elif key == "FILESIZE" and granules and granules[-1].files:
            granules[-1].files[-1].size = int(value)
        elif key == "FILECKSUMTYPE" and granules and granules[-1].files:
            granules[-1].files[-1].checksum_type = value
        elif key == "FILECKSUMVALUE" and granules and granules[-1].files:
            granules[-1].files[-1].checksum_value = value
        else:
            fields.setdefault(key, value)
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
        ftp_expires=parse_dn_time(fields["FTPEXPR"]) if "FTPEXPR" in fields else None,
        granules=granules,
        failure=failure,
    )
