"""Product Delivery Records: parse and validate a PDR into a typed model, or say why not in a PDRD.

The ICD (4.5.3, Table 4.5-2) defines the PDR; 4.5.4 and Tables 4.5-5/4.5-6 say what
a PDR that fails validation gets back. :func:`validate_pdr` returns either a
:class:`Pdr` or the PDRD to send (``distribution.ingest.pan`` writes it):

* the PDR as a whole is checked first, in Table 4.5-5's order — readable PVL no
  larger than 1 MB, TOTAL_FILE_COUNT, ORIGINATING_SYSTEM — and any failure there
  is a short PDRD. Unreadable PVL is INVALID PVL STATEMENT, as real ingest systems
  write it (the table has no entry for it); so is a PDR over 1 MB, since the size
  cap is part of the PDR format (4.5.3 b) and a disposition of our own would mean
  nothing to the provider's tools. An empty PDR is ECS INTERNAL ERROR, as the
  table says for a PDR "of size 0";
* then every FILE_GROUP in order, stopping at the group's first error (4.5.4):
  DATA_TYPE and its version, NODE_NAME, then file by file DIRECTORY_ID, FILE_ID,
  FILE_TYPE, FILE_SIZE and the checksum pair;
* if any group failed: a short PDRD when every group failed with the same first
  error, else a long one with SUCCESSFUL for the clean groups;
* a valid PDR is last held against the request/volume thresholds (Table 4.5-5).

Table 4.5-4 and Appendix B say how a group is made up (one metadata file with a
science granule, one linkage file and one linked file in a linkage group …). Table
4.5-6 has no disposition for a group made up wrongly: the ICD reports those in the
PAN (Table 4.5-7, "INCORRECT NUMBER OF … FILES"). So a wrong make-up does not fail
the PDR; it is set on :attr:`FileGroup.problem`, and ingest reports it for every
file of the group instead of archiving the granule. A FILE_TYPE that is not allowed
for the group's data type is INVALID FILE TYPE in the PDRD, as Table 4.5-6 says.

Where real PDRs differ from the ICD, or the ICD leaves it open (each decision has a
test, most on a real sample from ``shared/corpus/pdr``):

* NODE_NAME absent → None, meaning the provider's own host (most real PDRs omit
  it); present but empty or not a host name → INVALID NODE NAME.
* TOTAL_FILE_COUNT that disagrees with the FILE_SPECs → INVALID FILE COUNT, as
  S4PA does; leading zeros (S4PA's ``0002``) are fine.
* DATA_VERSION absent → the collection's latest version when the policy's
  ``known_collections`` knows it, else INVALID DATA TYPE; VERSION_ID is read as
  DATA_VERSION (legacy producers). The version is kept as written (``006``,
  ``6``, ``V01``). A DATA_TYPE the lookup does not know is INVALID DATA TYPE.
* FILE_TYPE is compared without case (``tgz``); types beyond Table 4.5-4 (TGZ,
  DATA, …) are allowed per collection by ``extra_file_types`` and count as the
  granule's data; the metadata-file rule binds the ICD's science types only, and
  ``metadata_optional`` lifts it for collections that bring none (ASTER L1A).
* A checksum may come with any file type (LP DAAC sums metadata and browse too);
  MD5 accepts upper-case hex and all-digit values, stored lower-case.
* DIRECTORY_ID with a ``..`` part, a ``~`` or drive-letter start or a backslash, and
  a FILE_ID that is not a plain name, would leave the provider's area: invalid.
  An absolute DIRECTORY_ID is read from the provider's root, as FTP shows it;
  ``absolute_directories=False`` refuses it.
* EXPIRATION_TIME is optional (footnote 2 of Table 4.5-2) and not a reason to
  refuse: one that is not a time (S4PA's ``999-99-99T99:99:99Z``) is kept as text.
* Unknown parameters and objects (DESCRIPTOR, XAR_ENTRY, DAN_SEQ_NO …) are ignored;
  FILE_GROUP or FILE_SPEC out of place is INVALID PVL STATEMENT. The LP DAAC
  wrapper ``BEGIN_GROUP = PRODUCT_DELIVERY_RECORD`` is transparent, and so is a
  stray final ``END_GROUP = PRODUCT_DELIVERY_RECORD`` without its BEGIN_GROUP.
* Footnote 3 of Table 4.5-6 ("Null string check only"): DATA_TYPE and
  ORIGINATING_SYSTEM lengths are not enforced (real ESDTs exceed 8 characters).
  What the ICD does bound is kept, and configurable: 256 characters a statement,
  FILE_SIZE below 2 GB, 1 MB a PDR.
* The generic DATA_TYPEs Browse, QA, PH and FAILPGE are not looked up; their
  version defaults to 001 (Table 4.5-2: "presently no significance").
* A checksum the provider must give (``checksum_mandatory``) and did not is
  MISSING FILE_CKSUM_TYPE PARAMETER, for the granule's data files only: 4.5.3 d
  speaks of checksums for science files.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from distribution.ingest import pan
from distribution.errors import PermanentError
from distribution.ingest.pvl import Block, PvlError, Statement, build, tokenize

WRAPPER = "PRODUCT_DELIVERY_RECORD"
SCIENCE_TYPES = frozenset({"SCIENCE", "HDF", "HDF-EOS"})
GRANULE_TYPES = SCIENCE_TYPES | {"METADATA", "BROWSE", "BROWSE_METADATA", "QA", "QA_METADATA", "PRODHIST"}
ICD_TYPES = GRANULE_TYPES | {"LINKAGE"}
#: Linkage groups (Table 4.5-4): DATA_TYPE → (the linked FILE_TYPE, its optional metadata FILE_TYPE).
LINKED: dict[str, tuple[str, str | None]] = {"BROWSE": ("BROWSE", "BROWSE_METADATA"), "QA": ("QA", "QA_METADATA"),
                                             "PH": ("PRODHIST", None)}
FAILED_PGE = "FAILPGE"
GENERIC_VERSION = "001"  # "For a linkage FILE_GROUP, this currently defaults to 001"
_NODE = re.compile(r"[A-Za-z0-9_.:\-\[\]]+")
_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d{1,9})?Z?")


def _hex(length: int) -> Callable[[str], str | None]:
    pattern = re.compile(f"[0-9a-fA-F]{{{length}}}")
    return lambda v: v.lower() if pattern.fullmatch(v) else None


def _decimal(low: int, high: int) -> Callable[[str], str | None]:
    pattern = re.compile(r"[+-]?\d{1,20}" if low < 0 else r"\d{1,20}")
    return lambda v: v if pattern.fullmatch(v) and low <= int(v) <= high else None


#: Checksum syntax (4.5.3 d): the value as stored, or None when it is not one.
CHECKSUM_SYNTAX: dict[str, Callable[[str], str | None]] = {
    "CKSUM": _decimal(0, 2**32 - 1), "ECS": _decimal(-(2**63), 2**63 - 1), "MD5": _hex(32),
    "SHA1": _hex(40), "SHA256": _hex(64), "SHA512": _hex(128),
}


class GroupKind(StrEnum):
    GRANULE = "granule"  # a science granule with its metadata, browse, QA, PH
    FAILED_PGE = "failed PGE"  # DATA_TYPE FAILPGE: the tar file and its metadata
    LINKAGE = "linkage"  # DATA_TYPE Browse, QA or PH: one file linked to granules already archived


@dataclass(frozen=True)
class Thresholds:
    """Table 4.5-5's thresholds: concurrent requests and bytes in flight; None = no limit."""

    provider_requests: int | None = None
    provider_volume: int | None = None
    system_requests: int | None = None
    system_volume: int | None = None


@dataclass(frozen=True)
class Load:
    """What is already in flight when the PDR arrives, for the provider and for the whole system."""

    provider_requests: int = 0
    provider_volume: int = 0
    system_requests: int = 0
    system_volume: int = 0


@dataclass(frozen=True)
class ValidationPolicy:
    """What a DAAC configures per provider (the Operations Agreement of 4.5.1).

    ``known_collections`` maps a DATA_TYPE to its latest version, or None when the
    archive has no such collection; without it any DATA_TYPE is taken and
    DATA_VERSION is required. ``extra_file_types`` and ``metadata_optional`` are keyed
    by DATA_TYPE, ``"*"`` standing for every one.
    """

    known_collections: Callable[[str], str | None] | None = None
    #: (DATA_TYPE, DATA_VERSION as written) -> does the archive hold that collection version?
    known_versions: Callable[[str, str], bool] | None = None
    extra_file_types: Mapping[str, frozenset[str]] = field(default_factory=dict)
    metadata_optional: frozenset[str] = frozenset()
    thresholds: Thresholds = Thresholds()
    checksum_mandatory: bool = False  # for the granule's data files (4.5.3 d: "mandatory for specific SIPS")
    checksum_types: frozenset[str] = frozenset({"CKSUM", "ECS", "MD5"})
    absolute_directories: bool = True
    max_pdr_bytes: int = 1 << 20  # "The maximum allowed file length for a PDR is 1 megabyte"
    max_file_size: int | None = 2**31 - 1  # "< 2 GB" (Table 4.5-2); None for no limit
    max_statement_length: int | None = 256  # "PVL statements are ASCII strings, having at most 256 characters"

    def file_types(self, kind: GroupKind, data_type: str) -> frozenset[str]:
        """The FILE_TYPE values a group of this data type may hold."""
        if kind is GroupKind.LINKAGE:
            linked, meta = LINKED[data_type.upper()]
            return frozenset({linked, "LINKAGE"} | ({meta} if meta else set()))
        if kind is GroupKind.FAILED_PGE:
            return frozenset({"SCIENCE", "METADATA"})
        extra = set(self.extra_file_types.get(data_type, ())) | set(self.extra_file_types.get("*", ()))
        return GRANULE_TYPES | {t.upper() for t in extra}

    def needs_metadata(self, data_type: str) -> bool:
        return data_type not in self.metadata_optional and "*" not in self.metadata_optional


@dataclass(frozen=True)
class FileSpec:
    directory_id: str
    file_id: str
    file_type: str  # upper-cased
    size: int
    checksum_type: str | None = None  # upper-cased
    checksum_value: str | None = None  # as written; hex digests lower-cased

    @property
    def path(self) -> str:
        """Where the file is in the provider's area (DIRECTORY_ID, then FILE_ID)."""
        return f"{self.directory_id.rstrip('/') or '/'}/{self.file_id}".replace("//", "/")


@dataclass(frozen=True)
class FileGroup:
    data_type: str
    data_version: str  # as written, or the default when ``version_defaulted``
    node_name: str | None  # None: the provider's own host
    files: tuple[FileSpec, ...]
    kind: GroupKind = GroupKind.GRANULE
    version_defaulted: bool = False
    problem: str | None = None  # the PAN disposition every file of the group gets (Table 4.5-4 make-up)
    problem_detail: str = ""

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class Pdr:
    originating_system: str
    total_file_count: int
    expiration_time: datetime | None  # naive UTC
    groups: tuple[FileGroup, ...]
    expiration_text: str | None = None  # as written, also when it is not a time

    @property
    def files(self) -> list[FileSpec]:
        return [f for g in self.groups for f in g.files]

    @property
    def total_size(self) -> int:
        return sum(g.size for g in self.groups)


class PdrRejected(PermanentError):
    """The PDR is invalid; ``pdrd`` is the discrepancy to send back."""

    def __init__(self, pdrd: pan.Pdrd) -> None:
        if isinstance(pdrd, pan.ShortPdrd):
            text = f"{pdrd.disposition}: {pdrd.detail}" if pdrd.detail else pdrd.disposition
        else:
            text = "; ".join(g.detail or g.disposition for g in pdrd.groups if g.disposition != pan.SUCCESSFUL)
        super().__init__(text)
        self.pdrd = pdrd


class _Invalid(Exception):
    def __init__(self, disposition: str, detail: str) -> None:
        super().__init__(detail)
        self.disposition = disposition
        self.detail = detail


Params = dict[str, list[Statement]]


def _params(statements: list[Statement] | Block) -> Params:
    out: Params = {}
    for st in statements.statements() if isinstance(statements, Block) else statements:
        out.setdefault(st.name, []).append(st)
    return out


def _one(params: Params, key: str, disposition: str) -> str | None:
    """The value of ``key`` stripped of blanks, None when absent; twice is the given disposition."""
    found = params.get(key)
    if not found:
        return None
    if len(found) > 1:
        raise _Invalid(disposition, f"{key} is given {len(found)} times (lines {found[0].line}, {found[1].line})")
    value = found[0].value
    return value.text.strip() if value is not None else ""


def _required(params: Params, key: str, disposition: str) -> str:
    value = _one(params, key, disposition)
    if not value:
        raise _Invalid(disposition, f"{key} is {'missing' if value is None else 'empty'}")
    return value


def _count(text: str, low: int, high: int | None) -> int | None:
    """A decimal count (leading zeros allowed), or None when it is not one within bounds."""
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > 20:
        return None
    n = int(text)
    return n if n >= low and (high is None or n <= high) else None


def _expiration(text: str | None) -> datetime | None:
    m = _TIME.fullmatch(text or "")
    if m is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def is_pdr_name(path: str) -> bool:
    """A file the poller takes as a PDR (4.5.2): a name before ``.PDR``, at most 255 characters with its path."""
    name = path.rsplit("/", 1)[-1]
    return len(path) <= 255 and len(name) > 4 and name[-4:].upper() == ".PDR"


def _kind(data_type: str) -> GroupKind:
    upper = data_type.upper()
    if upper in LINKED:
        return GroupKind.LINKAGE
    return GroupKind.FAILED_PGE if upper == FAILED_PGE else GroupKind.GRANULE


def _directory(params: Params, policy: ValidationPolicy) -> str:
    directory = _required(params, "DIRECTORY_ID", pan.INVALID_DIRECTORY)
    why = None
    if ".." in directory.split("/"):
        why = "has a '..' part"
    elif "\\" in directory:
        why = "has a backslash"
    elif directory.startswith("~") or re.match(r"[A-Za-z]:", directory):
        why = "starts outside the provider's area"
    elif directory.startswith("/") and not policy.absolute_directories:
        why = "is absolute"
    if why:
        raise _Invalid(pan.INVALID_DIRECTORY, f"DIRECTORY_ID {directory!r} {why}")
    return directory


def _file_id(params: Params) -> str:
    file_id = _required(params, "FILE_ID", pan.INVALID_FILE_ID)
    if "/" in file_id or "\\" in file_id or file_id in (".", ".."):
        raise _Invalid(pan.INVALID_FILE_ID, f"FILE_ID {file_id!r} is not a plain file name")
    return file_id


def _checksum(params: Params, data_file: bool, policy: ValidationPolicy) -> tuple[str | None, str | None]:
    """FILE_CKSUM_TYPE/FILE_CKSUM_VALUE in Table 4.5-6's order; an empty value counts as absent."""
    ctype = _one(params, "FILE_CKSUM_TYPE", pan.UNSUPPORTED_CHECKSUM_TYPE) or None
    value = _one(params, "FILE_CKSUM_VALUE", pan.INVALID_CHECKSUM_VALUE) or None
    if ctype is None:
        if value is not None:
            raise _Invalid(pan.MISSING_CHECKSUM_TYPE, "FILE_CKSUM_VALUE is given without FILE_CKSUM_TYPE")
        if policy.checksum_mandatory and data_file:
            raise _Invalid(pan.MISSING_CHECKSUM_TYPE, "a checksum is mandatory for this provider's data files")
        return None, None
    upper = ctype.upper()
    syntax = CHECKSUM_SYNTAX.get(upper)
    if syntax is None or upper not in {t.upper() for t in policy.checksum_types}:
        raise _Invalid(pan.UNSUPPORTED_CHECKSUM_TYPE, f"FILE_CKSUM_TYPE {ctype} is not supported")
    if value is None:
        raise _Invalid(pan.MISSING_CHECKSUM_VALUE, f"FILE_CKSUM_TYPE {ctype} is given without FILE_CKSUM_VALUE")
    stored = syntax(value)
    if stored is None:
        raise _Invalid(pan.INVALID_CHECKSUM_VALUE, f"{value!r} is not a {upper} value")
    return upper, stored


def _file(block: Block, allowed: frozenset[str], policy: ValidationPolicy) -> FileSpec:
    p = _params(block)
    directory = _directory(p, policy)
    file_id = _file_id(p)
    written = _required(p, "FILE_TYPE", pan.INVALID_FILE_TYPE)
    file_type = written.upper()
    if file_type not in allowed:
        raise _Invalid(pan.INVALID_FILE_TYPE, f"FILE_TYPE {written} is not allowed here")
    size_text = _required(p, "FILE_SIZE", pan.INVALID_FILE_SIZE)
    size = _count(size_text, 1, policy.max_file_size)
    if size is None:
        raise _Invalid(pan.INVALID_FILE_SIZE, f"FILE_SIZE {size_text!r} is not a size from 1 to {policy.max_file_size}")
    data_file = file_type in SCIENCE_TYPES or file_type not in ICD_TYPES
    ctype, cvalue = _checksum(p, data_file, policy)
    return FileSpec(directory, file_id, file_type, size, ctype, cvalue)


def duplicate_file_name(file_ids: Iterable[str]) -> str | None:
    """The rule validation and ingest share: a FILE_ID named twice in one group (whatever the DIRECTORY_ID).

    The files of a granule are archived and staged by FILE_ID, so two of one name
    cannot both be kept: PAN disposition DUPLICATE FILE NAME IN GRANULE (Table 4.5-7).
    """
    counts = Counter(file_ids)
    return next((name for name, n in counts.items() if n > 1), None)


def _make_up(kind: GroupKind, data_type: str, files: tuple[FileSpec, ...],
             policy: ValidationPolicy) -> tuple[str, str] | None:
    """Table 4.5-4 and Appendix B: the PAN disposition for a group made up wrongly, or None."""
    counts = Counter(f.file_type for f in files)
    twice = duplicate_file_name(f.file_id for f in files)
    if twice is not None:
        return pan.DUPLICATE_FILE_NAME, f"{twice} is listed twice"
    if kind is GroupKind.LINKAGE:
        linked, meta = LINKED[data_type.upper()]
        if counts["LINKAGE"] != 1 or counts[linked] != 1 or (meta is not None and counts[meta] > 1):
            return pan.WRONG_FILE_COUNT, f"a {data_type} linkage group holds one {linked} and one LINKAGE file"
        return None
    if kind is GroupKind.FAILED_PGE:
        if counts["SCIENCE"] != 1:
            return pan.WRONG_SCIENCE_COUNT, "a failed PGE group holds one SCIENCE file"
        if counts["METADATA"] != 1:
            return pan.WRONG_METADATA_COUNT, "a failed PGE group holds one METADATA file"
        return None
    data = sum(n for t, n in counts.items() if t in SCIENCE_TYPES or t not in ICD_TYPES)
    if data == 0:
        return pan.WRONG_SCIENCE_COUNT, "the group has no data file"
    science = sum(counts[t] for t in SCIENCE_TYPES)
    if counts["METADATA"] > 1 or (counts["METADATA"] == 0 and science and policy.needs_metadata(data_type)):
        return pan.WRONG_METADATA_COUNT, f"{counts['METADATA']} METADATA files where one is required"
    for meta, of in (("BROWSE_METADATA", "BROWSE"), ("QA_METADATA", "QA")):
        if counts[meta] and not counts[of]:
            return pan.WRONG_FILE_COUNT, f"{meta} without a {of} file"
    return None


def _group(block: Block, policy: ValidationPolicy) -> FileGroup:
    p = _params(block)
    data_type = _required(p, "DATA_TYPE", pan.INVALID_DATA_TYPE)
    version_key = "DATA_VERSION" if "DATA_VERSION" in p else "VERSION_ID"
    version = _one(p, version_key, pan.INVALID_DATA_TYPE)
    if version == "":
        raise _Invalid(pan.INVALID_DATA_TYPE, f"{version_key} is empty")
    kind = _kind(data_type)
    defaulted = version is None
    if kind is not GroupKind.GRANULE:
        version = version or GENERIC_VERSION
    elif policy.known_collections is not None:
        latest = policy.known_collections(data_type)
        if latest is None:
            raise _Invalid(pan.INVALID_DATA_TYPE, f"{data_type} is not a collection of this archive")
        version = version or latest
        if policy.known_versions is not None and not policy.known_versions(data_type, version):
            raise _Invalid(pan.INVALID_DATA_TYPE, f"{data_type} has no version {version} in this archive")
    elif version is None:
        raise _Invalid(pan.INVALID_DATA_TYPE, "DATA_VERSION is missing and no collection list gives the latest")
    node = _one(p, "NODE_NAME", pan.INVALID_NODE_NAME)
    if node is not None and not _NODE.fullmatch(node):
        raise _Invalid(pan.INVALID_NODE_NAME, f"NODE_NAME {node!r} is not a host name" if node else
                       "NODE_NAME is empty")
    allowed = policy.file_types(kind, data_type)
    specs = [b for b in block.blocks() if b.name.upper() == "FILE_SPEC"]
    if not specs:
        raise _Invalid(pan.INVALID_FILE_ID, "the file group has no FILE_SPEC")
    files = []
    for i, spec in enumerate(specs, 1):
        try:
            files.append(_file(spec, allowed, policy))
        except _Invalid as e:
            raise _Invalid(e.disposition, f"file {i} (line {spec.line}): {e.detail}") from None
    problem = _make_up(kind, data_type, tuple(files), policy)
    return FileGroup(data_type, version, node, tuple(files), kind, defaulted,
                     problem[0] if problem else None, problem[1] if problem else "")


def _misplaced(block: Block) -> Block | None:
    """A FILE_GROUP or FILE_SPEC anywhere inside ``block``: they may not stand there.

    Iterative, as a 1 MB PDR can nest a hundred thousand objects.
    """
    pending = list(block.blocks())
    while pending:
        inner = pending.pop()
        if inner.name.upper() in ("FILE_GROUP", "FILE_SPEC"):
            return inner
        pending.extend(inner.blocks())
    return None


def _layout(root: Block) -> tuple[list[Statement], list[Block]]:
    """The top-level statements and the FILE_GROUPs, the PRODUCT_DELIVERY_RECORD wrapper opened."""
    statements: list[Statement] = []
    groups: list[Block] = []
    pending: deque[Statement | Block] = deque(root.items)
    while pending:
        item = pending.popleft()
        if isinstance(item, Statement):
            statements.append(item)
            continue
        name = item.name.upper()
        bad: Block | None = None
        if item.kind == "GROUP" and name == WRAPPER:
            pending.extendleft(reversed(item.items))
        elif item.kind == "OBJECT" and name == "FILE_GROUP":
            groups.append(item)
            for inner in item.blocks():
                inner_name = inner.name.upper()
                if inner_name in ("FILE_GROUP", "FILE_SPEC") and (inner_name, inner.kind) != ("FILE_SPEC", "OBJECT"):
                    bad = inner
                else:
                    bad = _misplaced(inner)
                if bad is not None:
                    break
        else:
            bad = item if name in ("FILE_GROUP", "FILE_SPEC") else _misplaced(item)
        if bad is not None:
            raise PvlError(f"{bad.kind} = {bad.name} may not stand here", bad.line, bad.column)
    return statements, groups


def _drop_stray_wrapper_end(statements: list[Statement]) -> list[Statement]:
    """A final END_GROUP = PRODUCT_DELIVERY_RECORD whose BEGIN_GROUP was left out (legacy Cumulus PDRs)."""
    def names_wrapper(st: Statement) -> bool:
        return st.value is not None and st.value.text.strip().upper() == WRAPPER

    if (statements and statements[-1].name == "END_GROUP" and names_wrapper(statements[-1])
            and not any(s.name in ("GROUP", "BEGIN_GROUP") and names_wrapper(s) for s in statements)):
        return statements[:-1]
    return statements


def _threshold(size: int, t: Thresholds, load: Load) -> str | None:
    checks = ((t.provider_requests, load.provider_requests + 1, pan.PROVIDER_REQUEST_THRESHOLD),
              (t.provider_volume, load.provider_volume + size, pan.PROVIDER_VOLUME_THRESHOLD),
              (t.system_requests, load.system_requests + 1, pan.SYSTEM_REQUEST_THRESHOLD),
              (t.system_volume, load.system_volume + size, pan.SYSTEM_VOLUME_THRESHOLD))
    return next((d for limit, wanted, d in checks if limit is not None and wanted > limit), None)


def validate_pdr(source: bytes | str, policy: ValidationPolicy | None = None,
                 load: Load | None = None) -> Pdr | pan.Pdrd:
    """The valid PDR, or the PDRD to send back; never raises for any input bytes."""
    policy = policy or ValidationPolicy()
    size = len(source)
    if size == 0:
        return pan.ShortPdrd(pan.ECS_INTERNAL_ERROR, "the PDR is empty")
    if size > policy.max_pdr_bytes:
        return pan.ShortPdrd(pan.INVALID_PVL_STATEMENT, f"the PDR has {size} bytes; at most {policy.max_pdr_bytes}")
    try:
        statements, blocks = _layout(build(_drop_stray_wrapper_end(
            tokenize(source, max_statement=policy.max_statement_length))))
    except PvlError as e:
        return pan.ShortPdrd(pan.INVALID_PVL_STATEMENT, str(e))
    top = _params(statements)
    specs = sum(1 for g in blocks for b in g.blocks() if b.name.upper() == "FILE_SPEC")
    try:
        count_text = _required(top, "TOTAL_FILE_COUNT", pan.INVALID_FILE_COUNT)
        count = _count(count_text, 1, 9999)
        if count is None:
            raise _Invalid(pan.INVALID_FILE_COUNT, f"TOTAL_FILE_COUNT {count_text!r} is not from 1 to 9999")
        if count != specs:
            raise _Invalid(pan.INVALID_FILE_COUNT, f"TOTAL_FILE_COUNT is {count} but the PDR lists {specs} files")
        origin = _required(top, "ORIGINATING_SYSTEM", pan.INVALID_ORIGINATING_SYSTEM)
    except _Invalid as e:
        return pan.ShortPdrd(e.disposition, e.detail)
    groups: list[FileGroup] = []
    verdicts: list[pan.PdrdGroup] = []
    for i, block in enumerate(blocks, 1):
        try:
            group = _group(block, policy)
            groups.append(group)
            verdicts.append(pan.PdrdGroup(group.data_type, pan.SUCCESSFUL))
        except _Invalid as e:
            named = [s for s in block.statements() if s.name == "DATA_TYPE"]
            data_type = named[0].value.text.strip() if len(named) == 1 and named[0].value else ""
            verdicts.append(pan.PdrdGroup(data_type, e.disposition, f"file group {i} (line {block.line}): {e.detail}"))
    if len(groups) < len(verdicts):
        return pan.pdrd_for(verdicts)
    expiration = top.get("EXPIRATION_TIME", [])
    expiration_text = expiration[0].value.text.strip() if len(expiration) == 1 and expiration[0].value else None
    pdr = Pdr(origin, count, _expiration(expiration_text), tuple(groups), expiration_text)
    exceeded = _threshold(pdr.total_size, policy.thresholds, load or Load())
    if exceeded:
        return pan.ShortPdrd(exceeded, f"{pdr.total_size} bytes in {count} files")
    return pdr


def parse_pdr(source: bytes | str, policy: ValidationPolicy | None = None, load: Load | None = None) -> Pdr:
    """Like :func:`validate_pdr`, for callers that want an exception: raises PdrRejected."""
    result = validate_pdr(source, policy, load)
    if isinstance(result, Pdr):
        return result
    raise PdrRejected(result)


# Writing PDRs (Table 4.5-2): the inverse of validate_pdr; the demo provider, tests and benchmarks send real ones.
# Values are written bare where PVL reads them back the same, quoted otherwise, one statement a line.


def _render_spec(f: FileSpec) -> list[tuple[str, str]]:
    lines = [("DIRECTORY_ID", f.directory_id), ("FILE_ID", f.file_id), ("FILE_TYPE", f.file_type),
             ("FILE_SIZE", str(f.size))]
    if f.checksum_type:
        lines.append(("FILE_CKSUM_TYPE", f.checksum_type))
    if f.checksum_value is not None:
        lines.append(("FILE_CKSUM_VALUE", f.checksum_value))
    return [("OBJECT", "FILE_SPEC"), *lines, ("END_OBJECT", "FILE_SPEC")]


def _render_group(g: FileGroup) -> list[tuple[str, str]]:
    lines = [("OBJECT", "FILE_GROUP"), ("DATA_TYPE", g.data_type)]
    if not g.version_defaulted:
        lines.append(("DATA_VERSION", g.data_version))
    if g.node_name is not None:
        lines.append(("NODE_NAME", g.node_name))
    for f in g.files:
        lines += _render_spec(f)
    return [*lines, ("END_OBJECT", "FILE_GROUP")]


def render_pdr(pdr: Pdr) -> str:
    """The PDR's text, LF line ends; TOTAL_FILE_COUNT is the number of files it lists."""
    lines = [("ORIGINATING_SYSTEM", pdr.originating_system), ("TOTAL_FILE_COUNT", str(len(pdr.files)))]
    if pdr.expiration_text is not None:
        lines.append(("EXPIRATION_TIME", pdr.expiration_text))
    for g in pdr.groups:
        lines += _render_group(g)
    return "".join(f"{key} = {pan.pvl_word(value)};\n" for key, value in lines)
