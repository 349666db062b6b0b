"""PDRD and PAN messages (ICD 4.5.4, 4.5.5, Tables 4.5-5 … 4.5-8): models, writers, parsers.

Ardis writes these back to the provider, so the writers follow the ICD's figures
4.5-5 … 4.5-8 to the byte: ``KEY = value;`` and a line feed after every statement
(footnote 2 of each table), dispositions in double quotes, a null TIME_STAMP as
twenty blanks (footnote 3). Where a figure is not what its table says, the table
wins; the golden files in ``tests/golden/`` are the figures verbatim and
``tests/unit/ingest/test_pan.py`` names the only changes: ASCII ``"`` for the word
processor's curly quotes (a PAN is "ASCII"), ``MESSAGE_TYPE`` for Figure 4.5-5's
``MESSAGE TYPE`` (Table 4.5-5's parameter), no blank after a final ``;``, and
``FILE_NAME = x`` for Figure 4.5-8's ``FILE_NAME =x`` (the spacing of every other
statement).

The parsers read what peers send too, for round trips and for tests against their
samples: quoted MESSAGE_TYPE values and millisecond time stamps (Cumulus), S4PA's
``NO_FILE_GROUPS`` for ``NO_FILE_GRPS``, a declared group count that does not match
the groups listed, free-text dispositions, no final line feed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from distribution.ingest.pvl import PvlError, Statement, tokenize

# Short PDRD (Table 4.5-5), and the one real peers add for a PDR that is not PVL.
INVALID_FILE_COUNT = "INVALID FILE COUNT"
ECS_INTERNAL_ERROR = "ECS INTERNAL ERROR"
DATABASE_FAILURES = "DATABASE FAILURES"
INVALID_ORIGINATING_SYSTEM = "MISSING OR INVALID ORIGINATING_SYSTEM PARAMETER"
PROVIDER_REQUEST_THRESHOLD = "DATA PROVIDER REQUEST THRESHOLD EXCEEDED"
PROVIDER_VOLUME_THRESHOLD = "DATA PROVIDER VOLUME THRESHOLD EXCEEDED"
SYSTEM_REQUEST_THRESHOLD = "SYSTEM REQUEST THRESHOLD EXCEEDED"
SYSTEM_VOLUME_THRESHOLD = "SYSTEM VOLUME THRESHOLD EXCEEDED"
INVALID_PVL_STATEMENT = "INVALID PVL STATEMENT"
# Long PDRD, one per file group (Table 4.5-6).
SUCCESSFUL = "SUCCESSFUL"
INVALID_DATA_TYPE = "INVALID DATA TYPE"
INVALID_DIRECTORY = "INVALID DIRECTORY"
INVALID_FILE_SIZE = "INVALID FILE SIZE"
INVALID_FILE_ID = "INVALID FILE ID"
INVALID_NODE_NAME = "INVALID NODE NAME"
INVALID_FILE_TYPE = "INVALID FILE TYPE"
UNSUPPORTED_CHECKSUM_TYPE = "UNSUPPORTED CHECKSUM TYPE"
MISSING_CHECKSUM_VALUE = "MISSING FILE_CKSUM_VALUE PARAMETER"
MISSING_CHECKSUM_TYPE = "MISSING FILE_CKSUM_TYPE PARAMETER"
INVALID_CHECKSUM_VALUE = "INVALID FILE_CKSUM_VALUE"
# PAN (Table 4.5-7); the footnote marks decide the TIME_STAMP.
NETWORK_FAILURE = "NETWORK FAILURE"
UNABLE_TO_CONNECT = "UNABLE TO ESTABLISH FTP/KFTP CONNECTION"
FILES_NOT_FOUND = "ALL FILE GROUPS/FILES NOT FOUND"
FTP_FAILURE = "FTP/KFTP FAILURE"
SIZE_CHECK_FAILURE = "POST-TRANSFER FILE SIZE CHECK FAILURE"
FTP_COMMAND_FAILURE = "FTP/KFTP COMMAND FAILURE"
DUPLICATE_FILE_NAME = "DUPLICATE FILE NAME IN GRANULE"
METADATA_PREPROCESSING_ERROR = "METADATA PREPROCESSING ERROR"
LINKAGE_PREPROCESSING_ERROR = "LINKAGE FILE PREPROCESSING ERROR"
RESOURCE_ALLOCATION_FAILURE = "RESOURCE ALLOCATION FAILURE"
WRONG_METADATA_COUNT = "INCORRECT NUMBER OF METADATA FILES"
WRONG_SCIENCE_COUNT = "INCORRECT NUMBER OF SCIENCE FILES"
WRONG_FILE_COUNT = "INCORRECT NUMBER OF FILES"
DATA_CONVERSION_FAILURE = "DATA CONVERSION FAILURE"
REQUEST_CANCELLED = "REQUEST CANCELLED"
INVALID_OR_MISSING_FILE_TYPE = "INVALID OR MISSING FILE TYPE"
FILE_IO_ERROR = "FILE I/O ERROR"
DATA_ARCHIVE_ERROR = "DATA ARCHIVE ERROR"
REFERENCED_GRANULE_NOT_FOUND = "REFERENCED GRANULE NOT FOUND"
REFERENCED_GRANULE_DUPLICATED = "REFERENCED GRANULE DUPLICATED"
CHECKSUM_VERIFICATION_FAILURE = "CHECKSUM VERIFICATION FAILURE"

#: Footnote 4 of Table 4.5-7: these always carry a time stamp.
STAMP_ALWAYS = frozenset({
    SUCCESSFUL, METADATA_PREPROCESSING_ERROR, LINKAGE_PREPROCESSING_ERROR, WRONG_SCIENCE_COUNT, WRONG_FILE_COUNT,
    DATA_CONVERSION_FAILURE, INVALID_OR_MISSING_FILE_TYPE, FILE_IO_ERROR, DATA_ARCHIVE_ERROR,
    REFERENCED_GRANULE_NOT_FOUND, REFERENCED_GRANULE_DUPLICATED, CHECKSUM_VERIFICATION_FAILURE,
})
#: Footnote 5: the file never arrived, so the time stamp is always null.
STAMP_NEVER = frozenset({
    NETWORK_FAILURE, FILES_NOT_FOUND, FTP_FAILURE, SIZE_CHECK_FAILURE, FTP_COMMAND_FAILURE, DUPLICATE_FILE_NAME,
    RESOURCE_ALLOCATION_FAILURE,
})
#: Footnote 8: retry automatically, at most every 10 minutes for 3 hours.
AUTO_RETRY = frozenset({NETWORK_FAILURE, UNABLE_TO_CONNECT, FTP_FAILURE})
#: Table 4.5-5: the short PDRD dispositions marked retryable.
RETRYABLE_PDRD = frozenset({
    PROVIDER_REQUEST_THRESHOLD, PROVIDER_VOLUME_THRESHOLD, SYSTEM_REQUEST_THRESHOLD, SYSTEM_VOLUME_THRESHOLD,
})

NULL_STAMP = " " * 20
_BARE_SAFE = re.compile(r"[A-Za-z0-9_.:+\-/~!%|$@^\[\]*]+")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_QUOTABLE = re.compile(r"[\t\v\f\x20-\x7e]*")  # what a PVL quoted string holds
_STAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z?")


@dataclass(frozen=True)
class ShortPdrd:
    """One disposition for the whole PDR. ``detail`` says why, for logs; it is not sent."""

    disposition: str
    detail: str = field(default="", compare=False)


@dataclass(frozen=True)
class PdrdGroup:
    data_type: str
    disposition: str
    detail: str = field(default="", compare=False)


@dataclass(frozen=True)
class LongPdrd:
    """One DATA_TYPE/DISPOSITION pair per file group, in PDR order."""

    groups: tuple[PdrdGroup, ...]


@dataclass(frozen=True)
class ShortPan:
    disposition: str
    time_stamp: datetime | None


@dataclass(frozen=True)
class PanFile:
    directory: str
    name: str
    disposition: str
    time_stamp: datetime | None


@dataclass(frozen=True)
class LongPan:
    files: tuple[PanFile, ...]


Pdrd = ShortPdrd | LongPdrd
Pan = ShortPan | LongPan


def pdrd_for(groups: Sequence[PdrdGroup]) -> Pdrd:
    """Short or long, as 4.5.4 says: short when every group failed with the same first error.

    A PDRD is only sent for an invalid PDR, so groups that all succeeded are an error.
    """
    if not groups or all(g.disposition == SUCCESSFUL for g in groups):
        raise ValueError("a PDRD needs at least one failed file group")
    first = groups[0].disposition
    if first != SUCCESSFUL and all(g.disposition == first for g in groups):
        return ShortPdrd(first, "; ".join(dict.fromkeys(g.detail for g in groups if g.detail)))
    return LongPdrd(tuple(groups))


def pan_for(files: Sequence[PanFile]) -> Pan:
    """Short when every file has the same disposition (4.5.5), long otherwise.

    The short PAN's time stamp is the last transfer's, or null where footnote 5 says so.
    """
    if not files:
        raise ValueError("a PAN reports at least one file")
    first = files[0].disposition
    if any(f.disposition != first for f in files):
        return LongPan(tuple(files))
    stamps = [f.time_stamp for f in files if f.time_stamp is not None]
    return ShortPan(first, None if first in STAMP_NEVER or not stamps else max(stamps))


def stamp_for(disposition: str, when: datetime) -> datetime | None:
    """The TIME_STAMP a file with this disposition carries: footnotes 4 and 5 of Table 4.5-7 (null otherwise)."""
    if disposition == SUCCESSFUL or disposition in STAMP_ALWAYS:
        return when
    return None


def response_name(pdr_name: str, kind: str) -> str:
    """``X.PDR`` → ``X.PDRD`` or ``X.PAN``: the same name, another extension (4.5.2)."""
    if kind not in ("PDRD", "PAN"):
        raise ValueError(f"no such response: {kind}")
    stem, dot, ext = pdr_name.rpartition(".")
    if not dot or not stem or ext.upper() != "PDR":
        raise ValueError(f"not a PDR name: {pdr_name!r}")
    return f"{stem}.{kind}"


def pvl_word(value: str) -> str:
    """A value as PVL: bare when it reads back the same, else quoted."""
    if not _QUOTABLE.fullmatch(value):
        raise ValueError(f"not printable ASCII: {value!r}")
    if _BARE_SAFE.fullmatch(value) and "/*" not in value:
        return value
    for quote in "\"'":
        if quote not in value:
            return f"{quote}{value}{quote}"
    raise ValueError(f"holds both kinds of quote: {value!r}")


def _disposition(value: str) -> str:
    if not value or len(value) > 64 or '"' in value or not _PRINTABLE.fullmatch(value):
        raise ValueError(f"a disposition is 1 to 64 printable ASCII characters without '\"': {value!r}")
    return f'"{value}"'


def _stamp(disposition: str, value: datetime | None) -> str:
    if value is None:
        if disposition in STAMP_ALWAYS:
            raise ValueError(f"{disposition} always has a time stamp (Table 4.5-7, footnote 4)")
        return NULL_STAMP
    if disposition in STAMP_NEVER:
        raise ValueError(f"{disposition} never has a time stamp (Table 4.5-7, footnote 5)")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def render_pdrd(message: Pdrd) -> str:
    """The text of a PDRD (Tables 4.5-3, 4.5-4), LF line ends, ready to write or mail."""
    lines: list[tuple[str, str]]
    if isinstance(message, ShortPdrd):
        lines = [("MESSAGE_TYPE", "SHORTPDRD"), ("DISPOSITION", _disposition(message.disposition))]
    elif isinstance(message, LongPdrd):
        if not message.groups:
            raise ValueError("a long PDRD lists at least one file group")
        lines = [("MESSAGE_TYPE", "LONGPDRD"), ("NO_FILE_GRPS", str(len(message.groups)))]
        for g in message.groups:
            lines += [("DATA_TYPE", pvl_word(g.data_type)), ("DISPOSITION", _disposition(g.disposition))]
    else:
        raise TypeError(f"not a PDRD: {type(message).__name__}")
    return _statements(lines)


def render_pan(message: Pan) -> str:
    """The text of a PAN (Tables 4.5-6, 4.5-8), LF line ends, ready to write or mail."""
    lines: list[tuple[str, str]]
    if isinstance(message, ShortPan):
        lines = [("MESSAGE_TYPE", "SHORTPAN"), ("DISPOSITION", _disposition(message.disposition)),
                 ("TIME_STAMP", _stamp(message.disposition, message.time_stamp))]
    elif isinstance(message, LongPan):
        if not message.files:
            raise ValueError("a long PAN lists at least one file")
        lines = [("MESSAGE_TYPE", "LONGPAN"), ("NO_OF_FILES", str(len(message.files)))]
        for f in message.files:
            lines += [("FILE_DIRECTORY", pvl_word(f.directory)), ("FILE_NAME", pvl_word(f.name)),
                      ("DISPOSITION", _disposition(f.disposition)), ("TIME_STAMP", _stamp(f.disposition, f.time_stamp))]
    else:
        raise TypeError(f"not a PAN: {type(message).__name__}")
    return _statements(lines)


def _statements(lines: list[tuple[str, str]]) -> str:
    return "".join(f"{key} = {value};\n" for key, value in lines)


class _Reader:
    """Statements read in the order a message must have them."""

    def __init__(self, source: bytes | str) -> None:
        self.statements = tokenize(source)
        self.i = 0

    def _next(self, *keys: str) -> Statement:
        if self.i >= len(self.statements):
            last = self.statements[-1] if self.statements else Statement("", None, 1, 1)
            raise PvlError(f"{keys[0]} was expected after the last statement", last.line, last.column)
        st = self.statements[self.i]
        if st.name not in keys or st.value is None:
            raise PvlError(f"{keys[0]} was expected, not {st.key}", st.line, st.column)
        self.i += 1
        return st

    def take(self, *keys: str) -> str:
        value = self._next(*keys).value
        assert value is not None  # _next refuses a statement without one
        return value.text

    def count(self, *keys: str) -> int:
        st = self._next(*keys)
        text = st.value.text.strip() if st.value else ""
        if not (text.isascii() and text.isdigit()):
            raise PvlError(f"{keys[0]} is not a count: {text!r}", st.line, st.column)
        return int(text)

    def stamp(self) -> datetime | None:
        st = self._next("TIME_STAMP")
        text = st.value.text.strip() if st.value else ""
        if not text:
            return None
        m = _STAMP.fullmatch(text)
        try:
            if m is None:
                raise ValueError(text)
            year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
            return datetime(year, month, day, hour, minute, second, int((m.group(7) or "0").ljust(6, "0")))
        except ValueError:
            raise PvlError(f"TIME_STAMP is not yyyy-mm-ddThh:mm:ssZ: {text!r}", st.line, st.column) from None

    @property
    def more(self) -> bool:
        return self.i < len(self.statements)

    def message_type(self, *allowed: str) -> str:
        st = self._next("MESSAGE_TYPE")
        kind = st.value.text.strip().upper() if st.value else ""
        if kind not in allowed:
            raise PvlError(f"MESSAGE_TYPE {kind} is not one of {', '.join(allowed)}", st.line, st.column)
        return kind

    def done(self) -> None:
        if self.more:
            st = self.statements[self.i]
            raise PvlError(f"{st.key} does not belong in this message", st.line, st.column)


def parse_pdrd(source: bytes | str) -> Pdrd:
    """A short or long PDRD; raises PvlError when it is neither."""
    r = _Reader(source)
    if r.message_type("SHORTPDRD", "LONGPDRD") == "SHORTPDRD":
        result: Pdrd = ShortPdrd(r.take("DISPOSITION"))
    else:
        r.count("NO_FILE_GRPS", "NO_FILE_GROUPS")  # S4PA lists only the failed groups under the full count
        groups = []
        while r.more:
            groups.append(PdrdGroup(r.take("DATA_TYPE"), r.take("DISPOSITION")))
        result = LongPdrd(tuple(groups))
    r.done()
    return result


def parse_pan(source: bytes | str) -> Pan:
    """A short or long PAN; raises PvlError when it is neither."""
    r = _Reader(source)
    if r.message_type("SHORTPAN", "LONGPAN") == "SHORTPAN":
        result: Pan = ShortPan(r.take("DISPOSITION"), r.stamp())
    else:
        r.count("NO_OF_FILES")
        files = []
        while r.more:
            files.append(PanFile(r.take("FILE_DIRECTORY"), r.take("FILE_NAME"), r.take("DISPOSITION"), r.stamp()))
        result = LongPan(tuple(files))
    r.done()
    return result
