"""Writing PDRs (Table 4.5-2): the demo's provider, the tests and the benchmarks send real ones.

The writer is the validator's inverse: ``validate_pdr(render_pdr(pdr))`` gives
``pdr`` back (a round-trip test holds it to that). Values are written bare where
PVL reads them back the same, quoted otherwise, one statement a line.
"""

from __future__ import annotations

from distribution.pan import pvl_word
from distribution.pdr import FileGroup, FileSpec, Pdr


def _spec(f: FileSpec) -> list[tuple[str, str]]:
    lines = [("DIRECTORY_ID", f.directory_id), ("FILE_ID", f.file_id), ("FILE_TYPE", f.file_type),
             ("FILE_SIZE", str(f.size))]
    if f.checksum_type:
        lines.append(("FILE_CKSUM_TYPE", f.checksum_type))
    if f.checksum_value is not None:
        lines.append(("FILE_CKSUM_VALUE", f.checksum_value))
    return [("OBJECT", "FILE_SPEC"), *lines, ("END_OBJECT", "FILE_SPEC")]


def _group(g: FileGroup) -> list[tuple[str, str]]:
    lines = [("OBJECT", "FILE_GROUP"), ("DATA_TYPE", g.data_type)]
    if not g.version_defaulted:
        lines.append(("DATA_VERSION", g.data_version))
    if g.node_name is not None:
        lines.append(("NODE_NAME", g.node_name))
    for f in g.files:
        lines += _spec(f)
    return [*lines, ("END_OBJECT", "FILE_GROUP")]


def render_pdr(pdr: Pdr) -> str:
    """The PDR's text, LF line ends; TOTAL_FILE_COUNT is the number of files it lists."""
    lines = [("ORIGINATING_SYSTEM", pdr.originating_system), ("TOTAL_FILE_COUNT", str(len(pdr.files)))]
    if pdr.expiration_text is not None:
        lines.append(("EXPIRATION_TIME", pdr.expiration_text))
    for g in pdr.groups:
        lines += _group(g)
    return "".join(f"{key} = {pvl_word(value)};\n" for key, value in lines)
