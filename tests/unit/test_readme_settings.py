"""README's settings table names every ``ARDIS_*`` variable the code reads, and only those.

"Reads" is found in the syntax tree: a string literal that is exactly a variable name
(``os.environ.get("ARDIS_X")``, ``_env("ARDIS_X", …)``, ``SECRET_ENV = "ARDIS_X"``) in the
shipped code (``distribution``, ``media``, ``plugins``, ``dags``) and the development harness
(``devkit``, ``scripts``); a row may also name one only the tests read (the harness's own rows).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"ARDIS_[A-Z0-9_]*[A-Z0-9]")
CODE = ("distribution", "media", "plugins", "dags", "devkit", "scripts")


def read_in(*folders: str, root: Path = ROOT) -> set[str]:
    names = set()
    for folder in folders:
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.fullmatch(node.value):
                    names.add(node.value)
    return names


def section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n{title}\n")
    end = text.find("\n#", start + len(title) + 2)
    return text[start:end if end > 0 else None]


def table_names() -> set[str]:
    rows = [line for line in section("### Every setting").splitlines() if line.startswith("| `ARDIS_")]
    return {name for row in rows for name in NAME.findall(row.split("|")[1])}


def test_every_variable_the_code_reads_is_in_the_table() -> None:
    missing = read_in(*CODE) - table_names()
    assert missing == set(), f"README's settings table lacks {sorted(missing)}"


def test_every_row_names_a_variable_something_reads() -> None:
    stale = table_names() - read_in(*CODE, "tests")
    assert stale == set(), f"README's settings table names what nothing reads: {sorted(stale)}"


def test_the_compose_file_s_own_variables_are_named_beside_the_table() -> None:
    example = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
               if NAME.match(line)}
    compose_only = example - table_names()
    text = section("### Every setting")
    assert compose_only and all(f"`{name}`" in text for name in compose_only), sorted(compose_only)
    assert not compose_only & read_in(*CODE), "a variable Ardis reads belongs in the table"


def test_the_scan_sees_a_read(tmp_path: Path) -> None:
    """The scan finds a variable read as the code reads them (a docstring mention is not a read)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "probe.py").write_text(
        '"""Mentions ARDIS_DOC_ONLY."""\nimport os\nos.environ.get("ARDIS_PROBE_ONLY")\n')
    found = read_in("pkg", root=tmp_path)
    assert "ARDIS_PROBE_ONLY" in found and "ARDIS_DOC_ONLY" not in found


def test_set_up_keeps_its_two_commands() -> None:
    commands = [line.strip() for line in section("## Set up").splitlines() if line.startswith("    ")]
    assert commands == ["make demo", "make test"]
