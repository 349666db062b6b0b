"""Assembling one Data Product: fetch the sources, merge keywords and extensions, verify, name the file.

The DPS's ``target``: the product is ``filePrefix + fileId + .fits``; with a
``target.source`` that file is the base ("the in-place target when merging"),
else "a new empty source file will be created automatically". Only the target
may have a Data Unit in its primary HDU; its extensions stay first, as-is,
then every ``FitsFileSource``'s extensions in source order, byte for byte.
The source files are never changed: the target is merged in a copy of its own.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from distribution.orders.delivery import Credentials, endpoint_with
from distribution.errors import PermanentError, RetryableError
from distribution.products._header import HduSpan, HeaderWrite, pad_header, primary_header, scan_hdus, write_product
from distribution.products.dictionary import Dictionaries
from distribution.products.merge import (
    KeywordClass,
    Kw,
    MergeError,
    apply_dictionaries,
    apply_rules,
    classify,
    merge_keywords,
    source_keywords,
    with_extend,
)
from distribution.products.spec import (
    DpSpecification,
    EsoKeyword,
    FitsFileSource,
    FitsKeywordsSource,
    LiteralKeyword,
    Location,
    ValueKeyword,
)
from distribution.remote import Endpoint, LocalWriteFailed, RemoteNotFound, open_remote

#: An empty primary HDU, for a specification without ``target.source``.
_EMPTY_PRIMARY = b"".join(c.ljust(80).encode() for c in (
    "SIMPLE  =                    T / conforms to FITS standard",
    "BITPIX  =                    8 / array data type",
    "NAXIS   =                    0 / number of array dimensions",
    "EXTEND  =                    T"))


class SourceMissing(PermanentError):
    """A source file that is not where its ``location`` says."""


class ProductInvalid(PermanentError):
    """The merged product does not pass the independent FITS verification."""


@dataclass(frozen=True)
class MergeResult:
    """A merged product: where it is, how its header was written, what went into it."""

    path: Path
    write: HeaderWrite
    keywords: int
    extensions: int

    @property
    def summary(self) -> str:
        how = "in place" if self.write.in_place else (
            f"header grown from {self.write.old_header_size} to {self.write.new_header_size} bytes "
            f"({self.write.bytes_moved} bytes moved)")
        return f"{self.path.name}: {self.keywords} keywords, {self.extensions} extensions, {how}"


#: Credentials for a remote host of a ``location`` (None: none configured).
CredentialsFor = Callable[[str], Credentials | None]


def source_endpoint(location: Location, credentials_for: CredentialsFor | None) -> Endpoint:
    """The SFTP endpoint of a remote ``host:/path`` with its host's credentials (``user@`` when they name none)."""
    credentials = credentials_for(location.host) if credentials_for else None
    if credentials is not None and location.user and not credentials.username:
        credentials = Credentials(**{**credentials.__dict__, "username": location.user})
    return endpoint_with(credentials, "sftp", location.host, None, "")


def fetch_source(location: Location, dst: Path, credentials_for: CredentialsFor | None = None) -> Path:
    """Copy a source file to ``dst``: a local path, or SFTP (host keys verified) for ``host:/path``."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if location.is_local:  # Ardis's own local client: same size check, .part then rename, errors typed
        path = Path(location.path)
        try:
            with open_remote(Endpoint("local", directory=str(path.parent))) as local:
                if local.is_dir(path.name):
                    raise SourceMissing(f"source {location} is a directory, not a file")
                local.fetch(path.name, dst, None)
        except RemoteNotFound as e:
            raise SourceMissing(f"source file {location} does not exist") from e
        except LocalWriteFailed as e:  # the workspace is full: room may come back, Airflow retries
            raise RetryableError(str(e)) from e
        return dst
    from distribution.ingest.pdrserver import ProviderFileNotFound, open_pdr_server

    endpoint = source_endpoint(location, credentials_for)
    directory, _, name = location.path.rpartition("/")
    try:
        with open_pdr_server(endpoint, "/") as server:
            server.fetch(directory or "/", name, dst, None)
    except ProviderFileNotFound as e:
        raise SourceMissing(f"source file {location} does not exist: {e}") from e
    return dst


def _file_keywords(path: Path, source: str) -> list[Kw]:
    return _header_keywords(primary_header(path), source)


def _header_keywords(raw: bytes, source: str) -> list[Kw]:
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = fits.Header.fromstring(raw.decode("ascii", errors="replace"))
    out = []
    for card in header.cards:
        name = f"HIERARCH {card.keyword}" if card.image.startswith("HIERARCH") else card.keyword
        out.append(classify(name, card.value, card.comment, source))
    return out


def _spec_keywords(source: FitsKeywordsSource) -> list[Kw]:
    from astropy.io import fits

    out = []
    for k in source.keywords:
        if isinstance(k, LiteralKeyword):
            try:
                card = fits.Card.fromstring(k.value.ljust(80))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    name, value, comment = card.keyword, card.value, card.comment
            except (ValueError, fits.VerifyError) as e:
                raise MergeError([f"literal keyword {k.value!r} from source {source.source_name}: {e}"]) from e
            name = f"HIERARCH {name}" if card.image.startswith("HIERARCH") else name
            out.append(classify(name, value, comment, source.source_name))
        elif isinstance(k, EsoKeyword):
            out.append(Kw(KeywordClass.ESO, k.name, k.value, k.comment, source.source_name))
        elif isinstance(k, ValueKeyword):
            out.append(Kw(KeywordClass.VALUE, k.name, k.value, k.comment, source.source_name))
    return out


def render_cards(keywords: list[Kw]) -> bytes:
    """Card images of the keywords (long strings continued, long comments split); MergeError per bad keyword."""
    from astropy.io import fits

    images, problems = [], []
    for k in keywords:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if k.kind is KeywordClass.COMMENTARY:
                    card = fits.Card(k.name, "" if k.value is None else str(k.value))
                else:
                    card = fits.Card(k.fits_name, k.value, k.comment)
                image = card.image
            images.append(image.encode("ascii"))
        except (ValueError, UnicodeEncodeError, fits.VerifyError) as e:
            problems.append(f"keyword {k.fits_name} from source {k.source}: {e}")
    if problems:
        raise MergeError(problems)
    return b"".join(images)


def _spans(path: Path, source: str) -> list[HduSpan]:
    try:
        return scan_hdus(path)
    except ValueError as e:
        raise MergeError([f"source {source}: {e}"]) from e


def merged_keywords(spec: DpSpecification, fetched: Mapping[str, Path], dictionaries: Dictionaries) -> list[Kw]:
    """The product's primary-header keywords: every source's, merged by priority, checked against the dictionaries."""
    groups: list[list[Kw]] = []
    if spec.target.source is not None:
        t = spec.target.source
        groups.append(source_keywords(apply_rules(_file_keywords(fetched[t.source_name], t.source_name),
                                                  t.keyword_rules), target=True))
    else:
        groups.append(_header_keywords(pad_header(_EMPTY_PRIMARY), "target"))
    for s in spec.sources:
        if isinstance(s, FitsKeywordsSource):
            groups.append(source_keywords(_spec_keywords(s), target=False, given=True))
        else:
            groups.append(source_keywords(apply_rules(_file_keywords(fetched[s.source_name], s.source_name),
                                                      s.keyword_rules), target=False))
    return apply_dictionaries(merge_keywords(groups), dictionaries)


def merge_product(spec: DpSpecification, fetched: Mapping[str, Path], out: Path,
                  dictionaries: Dictionaries | None = None, *, verify: bool = True,
                  in_place: bool = False) -> MergeResult:
    """Merge the fetched sources (by ``sourceName``) into ``out``.

    The fetched files are left as they are, unless ``in_place``: then the
    target source's file itself becomes the product (its header rewritten, the
    extensions appended, renamed to ``out``), which moves no data when its header
    has room; only for a target that is Ardis's own copy. Raises MergeError (a
    keyword problem, a source with a primary data unit) or ProductInvalid; a
    partial file is removed either way.
    """
    extensions: list[tuple[Path, HduSpan]] = []
    problems = []
    for s in spec.sources:
        if isinstance(s, FitsFileSource):
            spans = _spans(fetched[s.source_name], s.source_name)
            if spans[0].data_size:
                problems.append(f"source {s.source_name}: its primary HDU has a data unit; only /target/source "
                                "may have one")
            extensions += [(fetched[s.source_name], span) for span in spans[1:]]
    if problems:
        raise MergeError(problems)
    keywords = merged_keywords(spec, fetched, dictionaries or Dictionaries())
    work = out.with_name(out.name + ".partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    if in_place and spec.target.source is not None:
        work = fetched[spec.target.source.source_name]
    try:
        if spec.target.source is not None:
            if not in_place:
                shutil.copyfile(fetched[spec.target.source.source_name], work)
            has_extensions = len(_spans(work, spec.target.source.source_name)) > 1 or bool(extensions)
        else:
            work.write_bytes(pad_header(_EMPTY_PRIMARY))
            has_extensions = bool(extensions)
        keywords = with_extend(keywords, has_extensions)
        written = write_product(work, out, render_cards(keywords), extensions)
    except OSError as e:
        raise RetryableError(f"cannot write {out}: {e.strerror}") from e
    finally:
        if not in_place:
            work.unlink(missing_ok=True)
    if verify:
        try:
            verify_product(out)
        except ProductInvalid:
            out.unlink(missing_ok=True)
            raise
    return MergeResult(out, written, len(keywords), len(extensions))


def verify_product(path: Path) -> str:
    """Check the product with an independent reader: ``fitsverify`` (Debian) when installed, else astropy."""
    tool = shutil.which("fitsverify")
    if tool:
        run = subprocess.run([tool, "-e", "-q", str(path)], capture_output=True, text=True, check=False)
        text = (run.stdout + run.stderr).strip()
        if run.returncode != 0 or "verification OK" not in text:
            raise ProductInvalid(f"fitsverify: {path.name}: {text.splitlines()[-1] if text else run.returncode}")
        return "fitsverify"
    from astropy.io import fits

    try:
        with fits.open(path, memmap=True) as hdul:
            hdul.verify("exception")
    except (OSError, ValueError, fits.VerifyError) as e:
        raise ProductInvalid(f"astropy verify: {path.name}: {e}") from e
    return "astropy"
