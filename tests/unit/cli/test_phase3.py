"""``ardis phase3``: the validator's command line, and programs, collections and releases with their permissions."""

from __future__ import annotations

from pathlib import Path

import pytest

from distribution.cli.main import main
from distribution.config import Settings
from distribution.db import session_scope
from tests.unit.phase3.conftest import add_users
from tests.unit.phase3.fits_files import good_release, science_image


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_validate_like_the_seeds_validator_jar(sqlite_settings: Settings, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    directory = good_release(tmp_path / "DR1")
    science_image(directory / "img3.fits", drop=("FILTER",), PROV1="img1.fits")
    status, out, _ = _run(capsys, "phase3", "validate", "-r", str(directory), "-m", "create")
    assert status == 1 and out.startswith(f"ERROR: {directory} (create): 2 errors")
    assert (directory / "validator.error").read_text().splitlines() == [
        "img3.fits: FILTER: mandatory for SCIENCE.IMAGE, missing",
        "img1.fits: PROV1: raw1.fits is neither a file of the release nor of the archive"]
    science_image(directory / "img3.fits", PROV1="img1.fits")
    science_image(directory / "img1.fits", ASSON1="img1.weight.fits", ASSOC1="ANCILLARY.WEIGHTMAP",
                  ASSON2="img1.png", ASSOC2="ANCILLARY.PREVIEW", PROV1="img3.fits")
    status, out, _ = _run(capsys, "phase3", "validate", "-r", str(directory), "-m", "create", "--out",
                          str(tmp_path / "out"))
    assert status == 0 and out == f"OK: {directory} (create): 3 science, 3 other files\n"
    assert (tmp_path / "out" / "validator.error").read_text() == ""
    assert _run(capsys, "phase3", "validate", "-r", str(directory), "-m", "update")[0] == 1


def test_programs_collections_releases_and_who_may(sqlite_settings: Settings,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with session_scope(sqlite_settings.database_url) as session:
        add_users(session)
    assert _run(capsys, "phase3", "program", "create", "196.B-0001", "--pi", "pi1")[0] == 0
    status, _, err = _run(capsys, "phase3", "program", "grant", "196.B-0001", "coi1", "--as", "coi1")
    assert status == 1 and err == "ardis: coi1 may not grant access in program 196.B-0001: only ESO/EDP, PI may\n"
    assert _run(capsys, "phase3", "program", "grant", "196.B-0001", "coi1", "--as", "pi1")[0] == 0
    assert _run(capsys, "phase3", "collection", "create", "196.B-0001", "SURVEY1", "--as", "coi1")[0] == 0
    status, out, _ = _run(capsys, "phase3", "release", "create", "196.B-0001", "SURVEY1", "DR1", "--as", "coi1")
    assert status == 0 and out.startswith("release 1: 196.B-0001/SURVEY1/DR1 (create) Open")
    status, _, err = _run(capsys, "phase3", "release", "close", "196.B-0001/SURVEY1/DR1", "--as", "coi1")
    assert status == 1 and "only PI may" in err
    assert _run(capsys, "phase3", "release", "list", "--as", "stranger1")[1] == ""
    status, _, err = _run(capsys, "phase3", "release", "show", "1", "--as", "stranger1")
    assert status == 1 and "not published" in err
    assert _run(capsys, "phase3", "release", "close", "1", "--as", "pi1")[0] == 0
    status, out, _ = _run(capsys, "phase3", "release", "show", "1", "--as", "coi1")
    assert status == 0 and "pi1" in out and "Open -> Closed" in out
    status, _, err = _run(capsys, "phase3", "release", "content", "1")
    assert status == 1 and "CONTENT.ESO exists for archived releases only" in err
    status, out, _ = _run(capsys, "phase3", "program", "show", "196.B-0001")
    assert out.splitlines()[1:] == ["  PI  pi1", "  CoI coi1", "  collection SURVEY1 -> SURVEY1.001"]


def test_an_archived_releases_description_comes_back(sqlite_settings: Settings, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from distribution.phase3.archiving import archive_release
    from tests.unit.phase3.conftest import make_world
    from tests.unit.phase3.test_archiving import archive_raw, in_upload_area, to_be_archived

    world = make_world(sqlite_settings)
    archive_raw(world)
    tar = (in_upload_area(world, world.release_id, good_release) / "release-description.tar").read_bytes()
    out = tmp_path / "got.tar"
    status, _, err = _run(capsys, "phase3", "release", "description", "1", "--out", str(out), "--as", "pi1")
    assert status == 1 and "archived releases only" in err
    to_be_archived(world, world.release_id)
    archive_release(world.settings, world.release_id)
    status, _, err = _run(capsys, "phase3", "release", "description", "1", "--out", str(out), "--as", "stranger1")
    assert status == 1 and "not published" in err and not out.exists()
    assert _run(capsys, "phase3", "release", "description", "196.B-0001/SURVEY1/DR1", "--out", str(out),
                "--as", "coi1")[0] == 0
    assert out.read_bytes() == tar
