"""Staging: the files of a request, under the names the ICD gives them, ready to go.

ICD 4.3.6.4: a distributed file is named after the granule's LocalGranuleID when it
has one ("the LocalGranuleID overrides the insert name"); a granule of several
files gets a sequence number added to the end of the LocalGranuleID for each file.
Ardis reads that as: metadata files keep their ``.met``/``.xml`` extension after the
LocalGranuleID (as in the ICD's media example, ``labtest_13683`` and
``labtest_13683.xml``); when a granule has one data file it is named exactly the
LocalGranuleID, and when it has several they are ``<LocalGranuleID>.1``, ``.2``, ….
Without a LocalGranuleID the archive file name is kept.

Staged files are hard links when the staging area is on the archive's filesystem
(no data copied, same bytes the archive holds) and copies otherwise.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from distribution.errors import FileVanished, PermanentError, RetryableError
from distribution.inventory.metadata import is_metadata_name
from distribution.models import GranuleFile
from distribution.paths import under


def distribution_names(local_granule_id: str | None, files: Sequence[GranuleFile],
                       metadata_suffix: str | None = None) -> list[str]:
    """The distribution name of each file of one granule, in file order.

    ``metadata_suffix`` (``.xml`` or ``.met``) is the format the user gets the metadata in
    (ICD 4.3.6.2); None keeps the archived file's own suffix.
    """
    if not local_granule_id:
        return [_with_suffix(f.name, metadata_suffix) if _is_metadata(f) else f.name for f in files]
    data = [f for f in files if not _is_metadata(f)]
    names = []
    for f in files:
        if _is_metadata(f):
            suffix = Path(f.name).suffix.lower() if is_metadata_name(f.name) else ".met"
            names.append(local_granule_id + (metadata_suffix or suffix))
        elif len(data) == 1:
            names.append(local_granule_id)
        else:
            names.append(f"{local_granule_id}.{data.index(f) + 1}")
    if len(set(names)) != len(names):
        # Two metadata files of one kind: fall back to the archive names for clarity.
        return [f.name for f in files]
    return names


def with_version(names: list[str], base: str, version: int) -> list[str]:
    """Names of an older version's files: ``.v<N>`` before the extension of ``base`` (the LocalGranuleID),
    ``X.hdf`` -> ``X.v1.hdf``, ``X.hdf.xml`` -> ``X.v1.hdf.xml``, ``L.2`` (no extension) -> ``L.v1.2``."""
    stem, ext = os.path.splitext(base)
    if not (ext[1:].isalnum() and len(ext) <= 6) or not stem:
        stem, ext = base, ""
    return [f"{stem}.v{version}{ext}{name[len(base):]}" if name.startswith(base) else f"{name}.v{version}"
            for name in names]


def _is_metadata(f: GranuleFile) -> bool:
    return f.file_type == "METADATA"


def _with_suffix(name: str, suffix: str | None) -> str:
    """An insert name with the metadata format's suffix (``x.hdf.met`` -> ``x.hdf.xml``)."""
    if suffix is None:
        return name
    return (name[:-4] if is_metadata_name(name) else name) + suffix


def write_staged_text(dst: Path, text: str) -> int:
    """Write a file Ardis makes for the request (the user's metadata) whole or not at all; its size."""
    data = text.encode("utf-8")
    dst.parent.mkdir(parents=True, exist_ok=True)
    part = dst.with_name(dst.name + ".part")
    part.write_bytes(data)
    os.replace(part, dst)
    return len(data)


def place(source: str | Path, destination: str | Path) -> str:
    """Hard-link ``source`` at ``destination`` (copy across filesystems); idempotent.

    Returns ``"link"``, ``"copy"`` or ``"present"`` (already staged by an earlier try). Strings are
    welcome: the usual case is one ``link`` system call and no ``Path`` made.
    """
    try:
        os.link(source, destination)
        return "link"
    except OSError:
        pass  # the paths are needed from here on
    src, dst = Path(source), Path(destination)
    for _ in range(3):
        try:
            os.link(src, dst)
            return "link"
        except FileExistsError:
            src_stat = _source_stat(src)
            try:
                dst_stat = dst.stat()
                if dst_stat.st_ino == src_stat.st_ino and dst_stat.st_dev == src_stat.st_dev:
                    return "present"
                dst.unlink()  # a partial copy from an interrupted try: redo it
            except FileNotFoundError:
                pass
        except FileNotFoundError:
            _source_stat(src)  # the archive file is gone, or only the staging directory is missing
            dst.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise _os_error(e, dst) from e
            break
    _source_stat(src)
    tmp = dst.with_name(dst.name + ".part")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise _os_error(e, dst) from e
    return "copy"


def _source_stat(src: Path) -> os.stat_result:
    try:
        return src.stat()
    except FileNotFoundError as e:
        raise FileVanished(f"archive file is missing: {src}") from e


def _os_error(e: OSError, path: Path) -> Exception:
    """The cause in words a DN can carry (``reasons.public_reason`` drops the path)."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return RetryableError(f"no space left on the disk for {path}")
    if e.errno in (errno.EACCES, errno.EROFS):
        return PermanentError(f"cannot write {path}: {e.strerror}")
    return RetryableError(f"cannot write {path}: {e.strerror}")


@contextmanager
def discarded_on_failure(placed: Sequence[str | Path]) -> Iterator[None]:
    """Files a try placed (listed in ``placed`` as it goes) are removed when the try fails."""
    try:
        yield
    except BaseException:
        discard(placed)
        raise


def discard(paths: Iterable[str | Path]) -> int:
    """Remove files a failed try placed (and their folders left empty), so they hold no space; returns the count."""
    removed = 0
    for path in map(Path, paths):
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
        try:
            path.parent.rmdir()
        except OSError:
            pass  # not empty: other files stay
    return removed


def remove_tree(path: Path, root: Path) -> bool:
    """Remove a staging or pull directory; True if something was removed.

    Refused (``PathEscape``) unless ``path`` is inside ``root``: a chore never removes anything else.
    """
    under(root, path.relative_to(root) if path.is_relative_to(root) else path)
    if not path.exists():
        return False
    shutil.rmtree(path)
    return True
