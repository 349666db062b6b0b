"""ODL metadata (``.met``) as a tree: ``parse_odl_document`` / ``render_odl_document`` (ICD 4.3.6.2, 5.2).

Reads what the SDP Toolkit writes and what real providers send (quoted or bare names,
missing semicolons, a missing ``END``) with the same linear, bounded tokenizer as
``metadata.py``; writes the Toolkit's layout (two-space indents, names padded to a
column, ``END`` last). ``parse_odl_document(render_odl_document(d)) == d``.
"""

from __future__ import annotations

from distribution.inventory.document import GROUP, OBJECT, Block, MetadataDocument, Statement, unquote
from distribution.inventory.metadata import MAX_DEPTH, odl_statements

_BEGIN = {"GROUP": GROUP, "OBJECT": OBJECT}
_END = {"END_GROUP": GROUP, "END_OBJECT": OBJECT}
NAME_COLUMN = 23


def parse_odl_document(text: str) -> MetadataDocument:
    """Every GROUP, OBJECT and statement of an ODL file, in order; unbalanced ENDs are forgiven."""
    document = MetadataDocument()
    stack: list[Block] = []
    for key, raw in odl_statements(text):
        keyword = key.upper()
        if keyword == "END" and raw is None:
            break
        if keyword in _BEGIN and raw is not None:
            block = Block(_BEGIN[keyword], unquote(raw))
            if len(stack) < MAX_DEPTH:
                (stack[-1].items if stack else document.items).append(block)
                stack.append(block)
            continue
        if keyword in _END:
            name = unquote(raw).upper() if raw is not None else None
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth].kind == _END[keyword] and (name is None or stack[depth].name.upper() == name):
                    del stack[depth:]
                    break
            continue
        if raw is not None:
            (stack[-1].items if stack else document.items).append(Statement(key, raw.strip()))
    return document


def _lines(items: list[Statement | Block], depth: int) -> list[str]:
    pad = "  " * depth
    out: list[str] = []
    for item in items:
        if isinstance(item, Statement):
            out.append(f"{pad}{item.name.ljust(NAME_COLUMN - len(pad))}= {item.value}")
            continue
        if depth == 0 and out:
            out.append("")
        out.append(f"{pad}{item.kind.ljust(NAME_COLUMN - len(pad))}= {item.name}")
        out += _lines(item.items, depth + 1)
        out.append(f"{pad}{('END_' + item.kind).ljust(NAME_COLUMN - len(pad))}= {item.name}")
        if item.kind == GROUP:
            out.append("")
    return out


def render_odl_document(document: MetadataDocument) -> str:
    """The document as ODL text, ending in ``END``."""
    lines = _lines(document.items, 0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join([*lines, "", "END", ""])
