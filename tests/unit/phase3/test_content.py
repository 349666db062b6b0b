"""CONTENT.ESO and CHANGES.USER (seed 000 "updating or superseding a release"): parse_x reads what render_x wrote."""

from __future__ import annotations

import pytest

from distribution.errors import UserError
from distribution.phase3.content import (
    Change,
    ContentLine,
    parse_changes,
    parse_content,
    render_changes,
    render_content,
)


def test_content_round_trip() -> None:
    lines = [ContentLine("a.fits", "SCIENCE.IMAGE", 5760, "MD5:0f", None, "DR1"),
             ContentLine("a.png", "ANCILLARY.PREVIEW", 10, "CKSUM:12", "a.fits", "DR1.1")]
    text = render_content("P/C", lines)
    assert text.splitlines()[2] == "FILE\ta.fits\tSCIENCE.IMAGE\t5760\tMD5:0f\t-\tDR1"
    assert list(parse_content(text).values()) == lines


def test_changes_round_trip_and_refusals() -> None:
    changes = [Change("REPLACE", "a.fits"), Change("DELETE", "b.fits")]
    assert parse_changes("# comment\n\n" + render_changes(changes)) == changes
    for bad in ("RENAME a.fits\n", "DELETE\n", "DELETE a b\n", "DELETE a\nREPLACE a\n", "DELETE ../x\n"):
        with pytest.raises(UserError):
            parse_changes(bad)
    with pytest.raises(UserError, match="line 2"):
        parse_content("# x\nFILE\ta\n")
