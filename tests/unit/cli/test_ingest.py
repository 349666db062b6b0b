"""``ardis pdr validate`` (exit 0 / 1 / 2 through the installed script), providers and collections."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from distribution.ingest import pan
from distribution.cli.main import main
from distribution.config import Settings

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "pdr"
GOOD = """ORIGINATING_SYSTEM = SIPS1;
TOTAL_FILE_COUNT = 2;
OBJECT = FILE_GROUP;
DATA_TYPE = MOD09GHK;
DATA_VERSION = 003;
OBJECT = FILE_SPEC;
DIRECTORY_ID = /DATA;
FILE_ID = a.hdf;
FILE_TYPE = SCIENCE;
FILE_SIZE = 10;
END_OBJECT = FILE_SPEC;
OBJECT = FILE_SPEC;
DIRECTORY_ID = /DATA;
FILE_ID = a.hdf.met;
FILE_TYPE = METADATA;
FILE_SIZE = 5;
END_OBJECT = FILE_SPEC;
END_OBJECT = FILE_GROUP;
"""


def _ardis(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("ardis")
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=60)


def test_validate_prints_valid_or_the_pdrd_with_exit_status(tmp_path: Path) -> None:
    good = tmp_path / "GOOD.PDR"
    good.write_text(GOOD)
    bad = tmp_path / "BAD.PDR"
    bad.write_text(GOOD.replace("TOTAL_FILE_COUNT = 2", "TOTAL_FILE_COUNT = 3"))
    done = _ardis("pdr", "validate", str(good))
    assert (done.returncode, done.stdout) == (0, f"{good}: VALID: 1 file groups, 2 files\n")
    done = _ardis("pdr", "validate", str(good), str(bad))
    assert done.returncode == 1
    pdrd_text = done.stdout.split(f"{bad}: INVALID\n")[1]
    assert pan.parse_pdrd(pdrd_text.split("/*")[0]) == pan.ShortPdrd(pan.INVALID_FILE_COUNT)
    assert "/* TOTAL_FILE_COUNT is 3 but the PDR lists 2 files */" in pdrd_text
    done = _ardis("pdr", "validate", str(good), str(tmp_path / "MISSING.PDR"))
    assert done.returncode == 2 and "cannot read" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared/corpus/pdr not present")
def test_validate_the_corpus_long_pdrd() -> None:
    done = _ardis("pdr", "validate", str(CORPUS / "cumulus" / "MOD09GQ.PDR"),
                  str(CORPUS / "cumulus" / "MOD09GQ-with-invalid-file-type.PDR"))
    assert done.returncode == 1
    assert "MOD09GQ.PDR: VALID: 1 file groups, 2 files" in done.stdout
    assert 'DISPOSITION = "INVALID FILE TYPE";' in done.stdout


def test_provider_and_collection_commands_and_validation_with_a_provider(
        sqlite_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdr = tmp_path / "X.PDR"
    pdr.write_text(GOOD.replace("DATA_VERSION = 003;\n", ""))
    assert main(["provider", "add", "SIPS1", "--root", str(tmp_path), "--polling-dir", "/PDR",
                 "--email", "ops@example.org", "--extra-file-type", "MOD09GHK=TGZ"]) == 0
    assert "provider SIPS1: local" in capsys.readouterr().out
    assert main(["pdr", "validate", "--provider", "SIPS1", str(pdr)]) == 1  # MOD09GHK unknown to the archive
    assert "INVALID DATA TYPE" in capsys.readouterr().out
    assert main(["collection", "add", "MOD09GHK.003"]) == 0
    assert main(["pdr", "validate", "--provider", "SIPS1", str(pdr)]) == 0  # latest version taken
    capsys.readouterr()
    assert main(["provider", "list"]) == 0
    assert "SIPS1" in capsys.readouterr().out
    assert main(["provider", "add", "BAD", "--method", "ftp", "--polling-dir", "/PDR"]) == 1
    assert "needs a host or a connection id" in capsys.readouterr().err
