"""The Metadata Configuration File check at ingest (ICD 5.2.1).

"In the case where the metadata delivered within a FILE_GROUP is not produced using the
SDP Toolkit metadata tools, the metadata nevertheless must conform to the ODL structures
found in the associated MCF file." A collection may carry its MCF (``ardis collection add
--mcf FILE``); a granule's metadata conforms when

* every GROUP and OBJECT it holds is one the MCF has, at the same place, and
* every OBJECT the MCF marks ``Mandatory = "TRUE"`` is there.

Values are not judged (their valids live in the ESDT descriptor, not in the MCF).
"""

from __future__ import annotations

from distribution.inventory.document import Block, MetadataDocument, Statement, unquote
from distribution.inventory.odl import parse_odl_document
from distribution.errors import UserError

#: Blocks Ardis itself adds on distribution (not the provider's), never held against an MCF.
_ADDED = {"DATAFILES"}


def _blocks(items: list[Statement | Block], prefix: str = "") -> dict[str, Block]:
    found: dict[str, Block] = {}
    for item in items:
        if isinstance(item, Block):
            path = f"{prefix}{item.name.upper()}"
            found.setdefault(path, item)
            found.update({k: v for k, v in _blocks(item.items, path + "/").items() if k not in found})
    return found


def parse_mcf(text: str) -> MetadataDocument:
    """An MCF (ODL); one with no GROUP or OBJECT at all is refused."""
    document = parse_odl_document(text)
    if not _blocks(document.items):
        raise UserError("an MCF holds GROUPs and OBJECTs; this file has none")
    return document


def conformance_problems(mcf: MetadataDocument, metadata: MetadataDocument) -> list[str]:
    """What keeps the metadata from the MCF's structure (empty: it conforms); at most one line per path."""
    template = _blocks(mcf.items)
    present = _blocks(metadata.items)
    problems = [f"{path} is not in the collection's MCF" for path in present
                if path not in template and path.split("/")[-1] not in _ADDED
                and not any(part in _ADDED for part in path.split("/"))]
    for path, block in template.items():
        mandatory = block.statement("MANDATORY")
        if mandatory is not None and unquote(mandatory.value).upper() == "TRUE" and path not in present:
            problems.append(f"mandatory {path} is missing")
    return problems
