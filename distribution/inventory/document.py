"""A granule's metadata as a tree, whatever format it came in (ICD 4.3.6.2, 5.2).

ODL (``.met``) and XML (``.xml``) are two spellings of one tree: GROUPs and OBJECTs
holding ``NAME = value`` statements. ``odl.py`` and ``xml_metadata.py`` read and write
it; this module holds the tree and what distribution adds to it: each file's checksum
type, origin and value (ICD 4.3.6.3, 5.2.2) in a ``DataFiles`` group.

A statement's value is kept as its ODL text (``"Day"``, ``1``, ``("a", "b")``), so a
value goes through either format unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

GROUP = "GROUP"
OBJECT = "OBJECT"
#: Where the checksums of the distributed files go (the ECS XML names: DataFiles/DataFileContainer).
DATA_FILES = "DATAFILES"
DATA_FILE = "DATAFILECONTAINER"
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass
class Statement:
    """``NAME = value``; ``value`` is the ODL text of the value (quotes and parentheses kept)."""

    name: str
    value: str


@dataclass
class Block:
    """A GROUP or an OBJECT and what it holds, in order."""

    kind: str
    name: str
    items: list[Statement | Block] = field(default_factory=list)

    def statement(self, name: str) -> Statement | None:
        return next((s for s in self.items if isinstance(s, Statement) and s.name.upper() == name.upper()), None)

    def blocks(self) -> list[Block]:
        return [b for b in self.items if isinstance(b, Block)]


@dataclass
class MetadataDocument:
    """A whole metadata file: the statements and blocks at its top level."""

    items: list[Statement | Block] = field(default_factory=list)

    def walk(self) -> list[tuple[str, Statement]]:
        """Every statement with its path (``GROUP/OBJECT/NAME``, upper case), in document order."""
        out: list[tuple[str, Statement]] = []

        def visit(items: list[Statement | Block], prefix: str) -> None:
            for item in items:
                if isinstance(item, Statement):
                    out.append((f"{prefix}{item.name.upper()}", item))
                else:
                    visit(item.items, f"{prefix}{item.name.upper()}/")

        visit(self.items, "")
        return out

    def value(self, object_name: str) -> str | None:
        """The unquoted VALUE of the first OBJECT of that name (``LocalGranuleID`` and the like)."""
        for path, statement in self.walk():
            parts = path.split("/")
            if len(parts) >= 2 and parts[-1] == "VALUE" and parts[-2] == object_name.upper():
                return unquote(statement.value)
        return None


@dataclass(frozen=True)
class FileChecksum:
    """What the distributed metadata says of one file of the granule (ICD 5.2.2)."""

    name: str
    size: int
    checksum_type: str | None = None
    checksum_origin: str | None = None
    checksum_value: str | None = None


def unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def quote(text: str) -> str:
    """ODL text of a string value; a number stays a number."""
    return text if _NUMBER.fullmatch(text) else '"' + text.replace('"', "'") + '"'


def is_number(text: str) -> bool:
    return bool(_NUMBER.fullmatch(text))


def _object(name: str, value: str) -> Block:
    return Block(OBJECT, name, [Statement("NUM_VAL", "1"), Statement("VALUE", value)])


def with_data_files(document: MetadataDocument, files: list[FileChecksum]) -> MetadataDocument:
    """The document with a ``DataFiles`` group listing each file and its stored checksum (replacing any).

    The group goes inside the top-level master group (``INVENTORYMETADATA``) when the file has one.
    Files without a checksum are listed with name and size only.
    """
    group = Block(GROUP, DATA_FILES)
    for i, f in enumerate(files, 1):
        container = Block(OBJECT, DATA_FILE, [Statement("CLASS", f'"{i}"')])
        container.items.append(_object("DISTRIBUTEDFILENAME", quote_string(f.name)))
        container.items.append(_object("FILESIZE", str(f.size)))
        if f.checksum_type and f.checksum_value:
            container.items.append(_object("CHECKSUMTYPE", quote_string(f.checksum_type)))
            container.items.append(_object("CHECKSUMORIGIN", quote_string(f.checksum_origin or "")))
            container.items.append(_object("CHECKSUM", quote_string(f.checksum_value)))
        group.items.append(container)
    masters = [b for b in document.items if isinstance(b, Block) and b.kind == GROUP]
    target = masters[0].items if len(masters) == 1 else document.items
    kept = [i for i in target if not (isinstance(i, Block) and i.name.upper() == DATA_FILES)]
    target[:] = [*kept, group]
    return document


def quote_string(text: str) -> str:
    """ODL text of a value that is always a string (a file name, a checksum)."""
    return '"' + text.replace('"', "'") + '"'


def canonical(document: MetadataDocument) -> MetadataDocument:
    """The document as either format gives it back: block names upper case; in each block its
    statements first (VALUE last of them), then its blocks. Two documents that differ only
    in what ``canonical`` changes hold the same metadata."""

    def order(items: list[Statement | Block]) -> list[Statement | Block]:
        statements = [s for s in items if isinstance(s, Statement)]
        statements.sort(key=lambda s: s.name.upper() == "VALUE")
        blocks = [Block(b.kind, b.name.upper(), order(b.items)) for b in items if isinstance(b, Block)]
        return [*statements, *blocks]

    return MetadataDocument(order(document.items))
