"""A small PVL lexer for PDRs, PDRDs and PANs that keeps the raw text of every value.

Why not the ``pvl`` package: it turns ``DATA_VERSION = 006`` into the integer 6,
an MD5 made only of digits into an int and one like ``8e12…`` into a float, and
refuses what real producers send (``OBJECT = "FILE_GROUP"``, ``DESCRIPTOR = NOT
USED``). Here a value is never converted: :class:`Value` holds the characters as
written, and the PDR validator decides what they must look like.

The dialect, as the ICD (4.5.3 b) and the PVL standard it cites define it, with the
latitude real producers need:

* ``NAME = value;`` statements; names are case-insensitive. The semicolon may be
  left out where the line ends (the PVL standard makes it optional; real PDRs drop
  it, most often on the last statement).
* Values are unquoted text, ``"text"`` or ``'text'`` on one line. Unquoted text
  runs to ``;``, the line end or a comment and may hold blanks (S4PA writes
  ``DESCRIPTOR = NOT USED;``); it may not hold ``= " ' ( ) { } < > , # &`` — PVL's
  reserved characters that would make the statement mean something else (two
  statements run together, a sequence, a set, units, a foreign comment).
  ``NAME = ;`` gives an empty value, left to the validator to reject.
* ``/* … */`` comments anywhere blanks may stand; CR, LF and CRLF line ends.
* ``OBJECT``/``BEGIN_OBJECT`` … ``END_OBJECT`` and ``GROUP``/``BEGIN_GROUP`` …
  ``END_GROUP`` aggregates, their names quoted or not, the closing name optional but
  checked when given. ``END`` ends the module; what follows it is not read (but
  must still be free of control characters).
* Statements are printable ASCII and the PVL blanks (HT, LF, VT, FF, CR): a PDR is
  "ASCII strings" (4.5.3 b), so a binary EDOS header or a curly quote in a value is
  an error. A comment is not a statement and may hold other bytes (the ICD's own
  Figure 4.5-3 has a curly quote in one); control characters are refused anywhere.

Every error names the line and column where reading stopped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from distribution.errors import PermanentError

# Blanks and comments are matched in atomic groups: a failing match must not go back
# into a run of blanks and try every way of splitting it (that is exponential).
_BLANKS = r"(?>(?:[ \t\r\n\f\v]+|/\*.*?\*/)*)"
_LINE_BLANKS = r"(?>(?:[ \t\f\v]+|/\*.*?\*/)*)"
_SKIP = re.compile(_BLANKS, re.S)
_NAME = r"[A-Za-z0-9_.:\-]"
_BARE = r"[^;\r\n/\"'=(){}<>,\#&\x7f-\U0010ffff]"
_STATEMENT = re.compile(
    rf"""
    {_BLANKS}
    (?P<key>[A-Za-z_]{_NAME}*(?:/(?!\*){_NAME}*)*)
    (?P<gap>{_LINE_BLANKS})
    (?:={_BLANKS}
       (?:"(?P<dq>[^"\r\n\x7f-\U0010ffff]*)"|'(?P<sq>[^'\r\n\x7f-\U0010ffff]*)'
         |(?P<bare>{_BARE}*(?:/(?!\*){_BARE}*)*))
       (?P<tail>{_LINE_BLANKS})
    )?
    (?P<semi>;?)
    """,
    re.X | re.S,
)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_FORBIDDEN_IN_BARE = "=\"'(){}<>,#&"
BEGIN = {"OBJECT": "OBJECT", "BEGIN_OBJECT": "OBJECT", "GROUP": "GROUP", "BEGIN_GROUP": "GROUP"}
END = {"END_OBJECT": "OBJECT", "END_GROUP": "GROUP"}


class PvlError(PermanentError):
    """The text is not PVL as a PDR may be written; retrying the same bytes cannot help."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.message = message
        self.line = line
        self.column = column


class Value(NamedTuple):
    """A value as written: ``text`` without its quotes, ``quote`` is ``"``, ``'`` or ``""``.

    Named tuples, not dataclasses: a 9,999-file PDR makes 85,000 of them.
    """

    text: str
    quote: str = ""

    def __str__(self) -> str:
        return self.text


class Statement(NamedTuple):
    """``key = value``; ``value`` is None for a bare ``END_OBJECT``/``END_GROUP``."""

    key: str
    value: Value | None
    line: int
    column: int

    @property
    def name(self) -> str:
        """The key upper-cased: PVL names are case-insensitive."""
        return self.key.upper()


@dataclass(slots=True)
class Block:
    """An aggregate (``kind`` OBJECT or GROUP, or ROOT for the whole module) and what it holds, in order."""

    kind: str
    name: str
    line: int = 1
    column: int = 1
    items: list[Statement | Block] = field(default_factory=list)

    def statements(self) -> Iterator[Statement]:
        return (i for i in self.items if isinstance(i, Statement))

    def blocks(self) -> Iterator[Block]:
        return (i for i in self.items if isinstance(i, Block))


def _position(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _error(text: str, pos: int, message: str) -> PvlError:
    return PvlError(message, *_position(text, pos))


def decode(source: bytes | str) -> str:
    """The text of a PVL module; control characters (a binary header, NULs) are an error.

    Bytes are read as Latin-1 so that every byte maps to one character and a column;
    characters beyond ASCII are then refused everywhere but inside comments.
    """
    text = bytes(source).decode("latin-1") if isinstance(source, bytes | bytearray | memoryview) else source
    bad = _CONTROL.search(text)
    if bad:
        raise _error(text, bad.start(), f"control character 0x{ord(bad.group()):02x} may not stand in PVL")
    return text


def _stopped(text: str, pos: int, key: str) -> PvlError:
    """Why reading the statement ``key`` stopped at ``pos``."""
    if pos >= len(text):
        return _error(text, pos, f"the value of {key} was expected before the end of the text")
    ch = text[pos]
    if ord(ch) > 0x7E:
        return _error(text, pos, f"character 0x{ord(ch):02x} is not ASCII (only a comment may hold it)")
    if ch in "\"'":
        line_end = text.find("\n", pos)
        inside = text[pos + 1:line_end if line_end >= 0 else len(text)].split(ch, 1)[0]
        wide = next((i for i, c in enumerate(inside) if ord(c) > 0x7E), None)
        if wide is not None:
            return _stopped(text, pos + 1 + wide, key)
        return _error(text, pos, f"{ch} here opens a string that is never closed on its line, or ends a value")
    if ch in _FORBIDDEN_IN_BARE:
        return _error(text, pos, f"{ch!r} may not stand in an unquoted value")
    return _error(text, pos, f"';' or a line end was expected after the value of {key}")


def tokenize(source: bytes | str, *, max_statement: int | None = None) -> list[Statement]:
    """The statements of a PVL module, in order, up to ``END`` or the end of the text.

    ``max_statement`` caps the length of one statement, name to value (the ICD says
    256 characters); comments do not count.
    """
    text = decode(source)
    n = len(text)
    out: list[Statement] = []
    pos = 0
    line, line_start = 1, 0
    match = _STATEMENT.match
    while True:
        m = match(text, pos)
        if m is None:
            blank = _SKIP.match(text, pos)  # always matches, maybe nothing
            pos = blank.end() if blank else pos
            if pos >= n:
                return out
            if text.startswith("/*", pos):
                raise _error(text, pos, "comment is never closed with */")
            if ord(text[pos]) > 0x7E:
                raise _stopped(text, pos, "")
            raise _error(text, pos, f"a parameter name was expected, not {text[pos]!r}")
        last, pos = pos, m.start(1)
        newlines = text.count("\n", last, pos)  # from the last statement: linear however long the lines
        if newlines:
            line += newlines
            line_start = text.rfind("\n", last, pos) + 1
        key, gap, dq, sq, bare, tail, semi = m.groups()
        end = m.end()
        if dq is not None:
            value = Value(dq, '"')
        elif sq is not None:
            value = Value(sq, "'")
        elif bare is not None:
            value = Value(bare.rstrip(" \t\f\v"))
            if not value.text and not semi:
                raise _stopped(text, m.end(5), key)
        else:  # no '=': only an end statement may stand alone
            if key.upper() not in ("END", "END_OBJECT", "END_GROUP"):
                raise _error(text, m.end(2), f"'=' was expected after {key}")
            value, tail = None, gap
        if not (semi or end >= n or text[end] in "\r\n" or "\n" in tail):
            raise _stopped(text, end, key)
        if max_statement is not None and end - pos > max_statement:
            length = _statement_end(m, value) - pos
            if length > max_statement:
                raise _error(text, pos, f"statement is {length} characters long; at most {max_statement}")
        if len(key) == 3 and key.upper() == "END":
            return out
        out.append(Statement(key, value, line, pos - line_start + 1))
        pos = end


def _statement_end(m: re.Match[str], value: Value | None) -> int:
    """Where the statement read by ``m`` ends, comments and ';' left out."""
    if value is None:
        return m.start(2)
    if value.quote:
        return m.end(3 if value.quote == '"' else 4) + 1
    return m.start(5) + len(value.text)


def build(statements: list[Statement]) -> Block:
    """Nest the statements into their aggregates; unbalanced or misnamed ends are errors."""
    root = Block("ROOT", "")
    stack: list[Block] = [root]
    for st in statements:
        name = st.name
        if name in BEGIN:
            if st.value is None or not st.value.text.strip():
                raise PvlError(f"{st.key} needs a name", st.line, st.column)
            block = Block(BEGIN[name], st.value.text.strip(), st.line, st.column)
            stack[-1].items.append(block)
            stack.append(block)
        elif name in END:
            top = stack[-1]
            if top.kind != END[name]:
                where = f"{top.kind} = {top.name} (line {top.line})" if top.kind != "ROOT" else "nothing"
                raise PvlError(f"{st.key} closes {where}", st.line, st.column)
            if st.value is not None and st.value.text.strip() and st.value.text.strip().upper() != top.name.upper():
                raise PvlError(f"{st.key} = {st.value.text} closes {top.kind} = {top.name} (line {top.line})",
                               st.line, st.column)
            stack.pop()
        else:
            stack[-1].items.append(st)
    if len(stack) > 1:
        top = stack[-1]
        raise PvlError(f"{top.kind} = {top.name} is never closed", top.line, top.column)
    return root


def parse(source: bytes | str, *, max_statement: int | None = None) -> Block:
    """Tokenize and nest a whole module."""
    return build(tokenize(source, max_statement=max_statement))
