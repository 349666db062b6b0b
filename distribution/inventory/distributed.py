"""The metadata file a user gets with a granule (ICD 4.3.6.2, 5.2.2).

Whatever the provider sent (``.met`` or ``.xml``), the user gets the format the archive
holds for them (XML unless set otherwise), with each distributed file's stored checksum
type, origin and value added.
"""

from __future__ import annotations

from pathlib import Path

from distribution.errors import FileVanished
from distribution.inventory.document import FileChecksum, MetadataDocument, with_data_files
from distribution.inventory.odl import parse_odl_document, render_odl_document
from distribution.inventory.xml_metadata import parse_xml_document, render_xml_document


def read_document(path: Path) -> MetadataDocument:
    """The archived metadata file as a tree (``.xml`` read as XML, anything else as ODL)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError as e:
        raise FileVanished(f"archive file is missing: {path}") from e
    return parse_xml_document(text) if path.suffix.lower() == ".xml" else parse_odl_document(text)


def distributed_metadata(source: Path, fmt: str, files: list[FileChecksum]) -> str:
    """The text of the metadata file to distribute, in ``fmt`` (``xml`` or ``met``)."""
    document = with_data_files(read_document(source), files)
    return render_xml_document(document) if fmt == "xml" else render_odl_document(document)
