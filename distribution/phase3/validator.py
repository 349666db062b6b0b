"""Seed 000, "validate data release": ``validator.jar -r <dir> -m create|update`` in Python (``ardis phase3 validate``).

What is checked (seed "prepare data release" and issue 17, step 3):

* science data — ``*.fits``, ``*.fits.fz`` — carry ``PRODCATG`` from the allowed
  categories and the mandatory keywords of their category (``categories.py``);
* ancillary data — ``*`` — are "associated to science data" through
  ``ASSONi`` (file name) and ``ASSOCi`` (its category), and every associated file
  exists in the release (or, in ``update`` mode, in ``CONTENT.ESO``); ESO's
  Phase 3 standard pairs them with ``ASSOMi``, the MD5 of the associated file:
  when present it must be 32 hex digits, have its ``ASSONi``, and match the file
  (the file sent, or in ``update`` mode the MD5 ``CONTENT.ESO`` lists for a kept one);
* provenance ``PROVi`` names a file of the release or of the archive;
* FITS checksums ``CHECKSUM``/``DATASUM`` verify when present (the only reason a
  file's data are read; headers are read alone otherwise, so a 2 GiB file costs
  its header);
* description — ``release-description.tar`` — is there (``create``);
* ``update``: ``CONTENT.ESO`` and ``CHANGES.USER`` are consistent with the files
  (a REPLACEd file is present, a DELETEd one is not, an archived file is not sent
  again without a REPLACE line).

Output as the seed's "Output": a summary for the console (``OK`` | ``ERROR``),
``validator.toc`` (table of contents), ``validator.error`` (one line per error:
``file: KEYWORD: message``) and ``validator.log`` (application log messages).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from astropy.io import fits

from distribution.checksums import checksum_file
from distribution.errors import UserError
from distribution.phase3.categories import (
    ANCILLARY_CATEGORIES,
    NUMERIC,
    SCIENCE_CATEGORIES,
    is_fits_name,
    mandatory,
)
from distribution.phase3.content import (
    CHANGES_NAME,
    CONTENT_NAME,
    DESCRIPTION_NAME,
    ContentLine,
    parse_changes,
    parse_content,
)

MODES = ("create", "update")
OUTPUT_NAMES = ("validator.toc", "validator.error", "validator.log")
#: Files of a release directory that are not data: the validator's own outputs and the update's control files.
CONTROL_NAMES = frozenset({*OUTPUT_NAMES, CONTENT_NAME, CHANGES_NAME})
_INDEXED = re.compile(r"(ASSON|ASSOC|ASSOM|PROV)(\d+)")
_MD5 = re.compile(r"[0-9a-fA-F]{32}")


@dataclass(frozen=True)
class Problem:
    """One validation error: the file, the keyword (or ``-``) and what is wrong."""

    file: str
    keyword: str
    message: str

    def render(self) -> str:
        return f"{self.file}: {self.keyword}: {self.message}"


@dataclass(frozen=True)
class Entry:
    """A line of the table of contents."""

    name: str
    category: str
    size: int
    science: str | None = None  # for an ancillary file: the science file it belongs to


@dataclass
class Report:
    """What one validation found."""

    directory: Path
    mode: str
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """The console summary: ``OK`` or ``ERROR`` and the counts."""
        science = sum(1 for e in self.entries if e.category.startswith("SCIENCE."))
        counts = f"{science} science, {len(self.entries) - science} other files"
        if self.ok:
            return f"OK: {self.directory} ({self.mode}): {counts}"
        return f"ERROR: {self.directory} ({self.mode}): {len(self.problems)} errors, {counts} (see validator.error)"

    def science_files(self) -> dict[str, list[str]]:
        """Each science file of the release and the ancillary files associated with it."""
        groups: dict[str, list[str]] = {e.name: [] for e in self.entries if e.category.startswith("SCIENCE.")}
        for e in self.entries:
            if e.science is not None and e.science in groups:
                groups[e.science].append(e.name)
        return groups


def render_toc(report: Report) -> str:
    """``validator.toc``: one line per file — name, category, size, and the science file of an ancillary one."""
    lines = [f"# validator.toc {report.directory} mode={report.mode}"]
    for e in report.entries:
        lines.append(f"{e.name}\t{e.category}\t{e.size}\t{e.science or '-'}")
    lines.extend(f"{name}\tDELETE\t0\t-" for name in report.deleted)
    return "\n".join(lines) + "\n"


def render_errors(report: Report) -> str:
    return "".join(p.render() + "\n" for p in report.problems)


def write_outputs(report: Report, out_dir: Path) -> list[Path]:
    """Write ``validator.toc``, ``validator.error`` and ``validator.log`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = (render_toc(report), render_errors(report), "".join(line + "\n" for line in report.log))
    paths = [out_dir / name for name in OUTPUT_NAMES]
    for path, text in zip(paths, texts, strict=True):
        path.write_text(text, encoding="utf-8")
    return paths


def read_headers(path: Path) -> fits.Header:
    """The keywords of a FITS file, header only: the primary header, and for a tile-compressed
    (``.fits.fz``) file the compressed image's header over it (where its keywords live)."""
    with fits.open(path, memmap=True, lazy_load_hdus=True) as hdul:
        header = hdul[0].header.copy()
        if path.name.lower().endswith(".fz") and len(hdul) > 1 and isinstance(hdul[1], fits.CompImageHDU):
            for card in hdul[1].header.cards:
                if card.keyword and card.keyword not in ("COMMENT", "HISTORY", ""):
                    header[card.keyword] = (card.value, card.comment)
    return header


def has_checksums(path: Path) -> bool:
    with fits.open(path, memmap=True, lazy_load_hdus=True) as hdul:
        return any("CHECKSUM" in hdu.header or "DATASUM" in hdu.header for hdu in hdul)


def checksum_failures(path: Path) -> list[str]:
    """astropy's CHECKSUM/DATASUM verification of every HDU (reads the data): the failures it reports."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fits.open(path, checksum=True, memmap=True) as hdul:
            hdul.readall()
    return [str(w.message).strip() for w in caught if "verification failed" in str(w.message)]


def _indexed(header: fits.Header) -> dict[str, dict[int, str]]:
    found: dict[str, dict[int, str]] = {"ASSON": {}, "ASSOC": {}, "ASSOM": {}, "PROV": {}}
    for key in header:
        m = _INDEXED.fullmatch(key)
        if m:
            found[m.group(1)][int(m.group(2))] = str(header[key]).strip()
    return found


class _Run:
    """One validation in progress."""

    def __init__(self, directory: Path, mode: str, in_archive: Callable[[str], bool], verify_checksums: bool):
        self.report = Report(directory, mode)
        self.in_archive = in_archive
        self.verify_checksums = verify_checksums
        self.archived: dict[str, ContentLine] = {}
        self.md5s: dict[str, str] = {}

    def error(self, file: str, keyword: str, message: str) -> None:
        self.report.problems.append(Problem(file, keyword, message))
        self.report.log.append(f"ERROR {file}: {keyword}: {message}")

    def info(self, message: str) -> None:
        self.report.log.append(f"INFO {message}")

    def files(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for path in sorted(self.report.directory.iterdir()):
            if path.is_dir():
                self.error(path.name, "-", "a release is one flat directory: subdirectories are not allowed")
            elif path.name not in CONTROL_NAMES:
                found[path.name] = path
        return found

    def science(self, name: str, path: Path) -> tuple[str | None, fits.Header | None]:
        """Check one FITS file's keywords; its category (None when it has none) and its header."""
        try:
            header = read_headers(path)
        except (OSError, ValueError) as e:
            self.error(name, "-", f"not a readable FITS file: {e}")
            return None, None
        category = str(header.get("PRODCATG", "")).strip() or None
        if category is None:
            return None, header
        if category in ANCILLARY_CATEGORIES:
            return category, header
        if category not in SCIENCE_CATEGORIES:
            self.error(name, "PRODCATG", f"{category!r} is not an allowed category")
            return category, header
        for key in mandatory(category):
            if key not in header or str(header[key]).strip() == "":
                self.error(name, key, f"mandatory for {category}, missing")
            elif key in NUMERIC and not isinstance(header[key], (int, float)):
                self.error(name, key, f"must be a number, not {header[key]!r}")
        return category, header

    def checksums(self, name: str, path: Path) -> None:
        try:
            if not has_checksums(path):
                return
            self.info(f"{name}: verifying CHECKSUM/DATASUM")
            for failure in checksum_failures(path):
                keyword = "DATASUM" if failure.startswith("Datasum") else "CHECKSUM"
                self.error(name, keyword, failure)
        except (OSError, ValueError) as e:
            self.error(name, "CHECKSUM", f"cannot verify: {e}")

    def md5_of(self, other: str, files: dict[str, Path]) -> str | None:
        """The associated file's MD5: of the file sent, else CONTENT.ESO's for a kept one (None: not known)."""
        if other in files:
            if other not in self.md5s:
                self.md5s[other] = checksum_file(files[other], "MD5")
            return self.md5s[other]
        kept = self.archived.get(other)
        kind, _, value = kept.checksum.partition(":") if kept else ("", "", "")
        return value.lower() if kind.upper() == "MD5" and _MD5.fullmatch(value) else None

    def assom(self, name: str, indexed: dict[str, dict[int, str]], files: dict[str, Path]) -> None:
        """``ASSOMi`` (MD5 of the associated file), when present: well formed, paired, and the file's."""
        for i, given in sorted(indexed["ASSOM"].items()):
            other = indexed["ASSON"].get(i)
            if other is None:
                self.error(name, f"ASSOM{i}", f"ASSOM{i} has no ASSON{i} naming its file")
            elif not _MD5.fullmatch(given):
                self.error(name, f"ASSOM{i}", f"{given!r} is not an MD5 (32 hex digits)")
            elif other in files or other in self.archived:
                try:
                    actual = self.md5_of(other, files)
                except OSError as e:
                    self.error(name, f"ASSOM{i}", f"cannot read {other}: {e}")
                    continue
                if actual is None:
                    self.info(f"{name}: ASSOM{i}: no MD5 of the archived {other} to compare with")
                elif actual != given.lower():
                    self.error(name, f"ASSOM{i}", f"{other} has MD5 {actual}, not {given}")

    def update_rules(self, files: dict[str, Path]) -> None:
        directory = self.report.directory
        content = directory / CONTENT_NAME
        if not content.is_file():
            self.error(CONTENT_NAME, "-", "an update needs the release description file CONTENT.ESO (download it)")
            return
        try:
            self.archived = parse_content(content.read_text(encoding="utf-8"))
            changes = parse_changes((directory / CHANGES_NAME).read_text(encoding="utf-8")
                                    if (directory / CHANGES_NAME).is_file() else "")
        except (UserError, UnicodeDecodeError) as e:
            self.error(CONTENT_NAME if "CONTENT" in str(e) else CHANGES_NAME, "-", str(e))
            return
        for change in changes:
            if change.name not in self.archived:
                self.error(CHANGES_NAME, change.action, f"{change.name} is not in CONTENT.ESO")
            elif change.action == "REPLACE" and change.name not in files:
                self.error(CHANGES_NAME, "REPLACE", f"{change.name}: the replacement is not in the release")
            elif change.action == "DELETE" and change.name in files:
                self.error(CHANGES_NAME, "DELETE", f"{change.name} is deleted but also sent again")
        self.report.deleted = [c.name for c in changes if c.action == "DELETE"]
        self.report.replaced = [c.name for c in changes if c.action == "REPLACE"]
        for name in files:
            if name in self.archived and name not in self.report.replaced:
                self.error(name, "-", "already archived: list it as 'REPLACE file' in CHANGES.USER or leave it out")

    def run(self) -> Report:
        report = self.report
        if not report.directory.is_dir():
            raise UserError(f"{report.directory} is not a directory")
        self.info(f"validating {report.directory} mode={report.mode}")
        files = self.files()
        if report.mode == "update":
            self.update_rules(files)
        elif DESCRIPTION_NAME not in files:
            self.error(DESCRIPTION_NAME, "-", "the release description release-description.tar is missing")
        present = set(files) | (set(self.archived) - set(report.deleted))
        headers: dict[str, tuple[str | None, fits.Header | None]] = {}
        for name, path in files.items():
            if is_fits_name(name):
                headers[name] = self.science(name, path)
                if self.verify_checksums and headers[name][1] is not None:
                    self.checksums(name, path)
        owner: dict[str, str] = {}
        for name, (category, header) in headers.items():
            if header is None or category not in SCIENCE_CATEGORIES:
                continue
            indexed = _indexed(header)
            for i, other in sorted(indexed["ASSON"].items()):
                kind = indexed["ASSOC"].get(i)
                if kind is None:
                    self.error(name, f"ASSOC{i}", f"ASSON{i} = {other} has no category")
                elif kind not in ANCILLARY_CATEGORIES:
                    self.error(name, f"ASSOC{i}", f"{kind!r} is not an ancillary category")
                if other not in present:
                    self.error(name, f"ASSON{i}", f"associated file {other} is not in the release")
                elif other in owner and owner[other] != name:
                    self.error(name, f"ASSON{i}", f"{other} is associated with {owner[other]} already")
                else:
                    owner[other] = name
            self.assom(name, indexed, files)
            for i, source in sorted(indexed["PROV"].items()):
                if source not in present and not self.in_archive(source):
                    self.error(name, f"PROV{i}", f"{source} is neither a file of the release nor of the archive")
        for name, path in files.items():
            category, header = headers.get(name, (None, None))
            size = path.stat().st_size
            if name == DESCRIPTION_NAME:
                report.entries.append(Entry(name, "DESCRIPTION", size))
            elif category in SCIENCE_CATEGORIES:
                report.entries.append(Entry(name, str(category), size))
            elif name in owner:
                kind = category or _assoc_category(headers[owner[name]][1], name) or "ANCILLARY.OTHER"
                report.entries.append(Entry(name, kind, size, owner[name]))
            elif is_fits_name(name) and header is None:
                continue  # unreadable: said already
            elif is_fits_name(name) and category is None:
                self.error(name, "PRODCATG", "missing: a FITS file is science (PRODCATG) or associated ancillary data")
            elif category is None or category in ANCILLARY_CATEGORIES:
                self.error(name, "ASSON", "ancillary file not associated with any science file (ASSONi)")
        self.info(report.summary())
        return report


def _assoc_category(header: fits.Header | None, name: str) -> str | None:
    if header is None:
        return None
    indexed = _indexed(header)
    return next((indexed["ASSOC"].get(i) for i, n in indexed["ASSON"].items() if n == name), None)


def validate_release(directory: Path, mode: str = "create", *, in_archive: Callable[[str], bool] | None = None,
                     verify_checksums: bool = True) -> Report:
    """Validate a release directory; ``in_archive(name)`` says whether a PROVi file is in the archive."""
    if mode not in MODES:
        raise UserError(f"-m is create or update, not {mode!r}")
    return _Run(directory, mode, in_archive or (lambda _name: False), verify_checksums).run()
