"""The validator (seed 000 "validate data release") on small releases made here: golden outputs and error lines."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from distribution.phase3.content import ContentLine, render_content
from distribution.phase3.validator import validate_release, write_outputs
from tests.unit.phase3.fits_files import good_release, science_image, weight_map

IN_ARCHIVE = {"raw1.fits"}.__contains__


def _errors(directory: Path, mode: str = "create") -> list[str]:
    return [p.render() for p in validate_release(directory, mode, in_archive=IN_ARCHIVE).problems]


def test_a_good_release_is_ok_with_its_table_of_contents(tmp_path: Path) -> None:
    directory = good_release(tmp_path / "DR1")
    report = validate_release(directory, "create", in_archive=IN_ARCHIVE)
    assert report.ok, report.problems
    assert report.summary() == f"OK: {directory} (create): 2 science, 3 other files"
    out = write_outputs(report, tmp_path / "out")
    toc, error, log = (p.read_text() for p in out)
    assert toc.splitlines()[1:] == [
        "img1.fits\tSCIENCE.IMAGE\t5760\t-",
        "img1.png\tANCILLARY.PREVIEW\t16\timg1.fits",
        "img1.weight.fits\tANCILLARY.WEIGHTMAP\t5760\timg1.fits",
        f"img2.fits.fz\tSCIENCE.IMAGE\t{(directory / 'img2.fits.fz').stat().st_size}\t-",
        "release-description.tar\tDESCRIPTION\t10240\t-",
    ]
    assert error == ""
    assert "INFO img1.fits: verifying CHECKSUM/DATASUM" in log and log.rstrip().endswith(report.summary())
    assert report.science_files() == {"img1.fits": ["img1.png", "img1.weight.fits"], "img2.fits.fz": []}


def test_validator_outputs_in_the_release_are_not_files_of_it(tmp_path: Path) -> None:
    directory = good_release(tmp_path / "DR1")
    write_outputs(validate_release(directory, in_archive=IN_ARCHIVE), directory)
    assert validate_release(directory, in_archive=IN_ARCHIVE).ok


@pytest.mark.parametrize(("damage", "expected"), [
    (lambda d: science_image(d / "img2.fits.fz", compressed=True, drop=("FILTER", "PROG_ID"), PROV1="img1.fits"),
     ["img2.fits.fz: PROG_ID: mandatory for SCIENCE.IMAGE, missing",
      "img2.fits.fz: FILTER: mandatory for SCIENCE.IMAGE, missing"]),
    (lambda d: science_image(d / "img2.fits.fz", compressed=True, PRODCATG="SCIENCE.PICTURE"),
     ["img2.fits.fz: PRODCATG: 'SCIENCE.PICTURE' is not an allowed category"]),
    (lambda d: science_image(d / "img2.fits.fz", compressed=True, PROV1="img1.fits", RA="10:00:00"),
     ["img2.fits.fz: RA: must be a number, not '10:00:00'"]),
    (lambda d: science_image(d / "img2.fits.fz", compressed=True, PROV1="raw9.fits"),
     ["img2.fits.fz: PROV1: raw9.fits is neither a file of the release nor of the archive"]),
    (lambda d: science_image(d / "img2.fits.fz", compressed=True, drop=("PRODCATG",)),
     ["img2.fits.fz: PRODCATG: missing: a FITS file is science (PRODCATG) or associated ancillary data"]),
    (lambda d: (d / "img1.png").unlink(),
     ["img1.fits: ASSON2: associated file img1.png is not in the release"]),
    (lambda d: (d / "notes.txt").write_text("left over\n"),
     ["notes.txt: ASSON: ancillary file not associated with any science file (ASSONi)"]),
    (lambda d: weight_map(d / "orphan.weight.fits"),
     ["orphan.weight.fits: ASSON: ancillary file not associated with any science file (ASSONi)"]),
    (lambda d: science_image(d / "img2.fits.fz", compressed=True, PROV1="img1.fits", ASSON1="img1.png"),
     ["img2.fits.fz: ASSOC1: ASSON1 = img1.png has no category",
      "img2.fits.fz: ASSON1: img1.png is associated with img1.fits already"]),
    (lambda d: science_image(d / "img2.fits.fz", compressed=True, PROV1="img1.fits", ASSON1="x.png",
                             ASSOC1="SCIENCE.IMAGE"),
     ["img2.fits.fz: ASSOC1: 'SCIENCE.IMAGE' is not an ancillary category",
      "img2.fits.fz: ASSON1: associated file x.png is not in the release"]),
    (lambda d: (d / "release-description.tar").unlink(),
     ["release-description.tar: -: the release description release-description.tar is missing"]),
    (lambda d: (d / "broken.fits").write_bytes(b"not FITS at all"),
     ["broken.fits: -: not a readable FITS file: "]),
    (lambda d: (d / "sub").mkdir(),
     ["sub: -: a release is one flat directory: subdirectories are not allowed"]),
], ids=["keywords", "prodcatg", "numeric", "prov", "no-prodcatg", "asson-missing", "unassociated-text",
        "unassociated-fits", "assoc-missing", "assoc-not-ancillary", "no-description", "not-fits", "subdir"])
def test_one_error_line_per_problem_with_file_and_keyword(tmp_path: Path, damage, expected: list[str]) -> None:
    directory = good_release(tmp_path / "DR1")
    damage(directory)
    errors = _errors(directory)
    assert [e[:len(x)] for e, x in zip(errors, expected, strict=False)] == expected and len(errors) == len(expected)
    report = validate_release(directory, in_archive=IN_ARCHIVE)
    assert report.summary().startswith("ERROR: ")


def test_checksums_verify_when_present(tmp_path: Path) -> None:
    directory = good_release(tmp_path / "DR1")
    raw = bytearray((directory / "img1.fits").read_bytes())
    raw[-20] ^= 0xFF  # one byte of the data unit
    (directory / "img1.fits").write_bytes(bytes(raw))
    errors = _errors(directory)
    assert [e.split(":")[1].strip() for e in errors] == ["CHECKSUM", "DATASUM"]
    assert all(e.startswith("img1.fits: ") for e in errors)
    assert validate_release(directory, in_archive=IN_ARCHIVE, verify_checksums=False).ok


def _update(directory: Path, changes: str) -> Path:
    lines = [ContentLine("img1.fits", "SCIENCE.IMAGE", 5760, "MD5:x", None, "DR1"),
             ContentLine("img1.weight.fits", "ANCILLARY.WEIGHTMAP", 5760, "CKSUM:1", "img1.fits", "DR1"),
             ContentLine("img1.png", "ANCILLARY.PREVIEW", 16, "CKSUM:2", "img1.fits", "DR1"),
             ContentLine("img2.fits.fz", "SCIENCE.IMAGE", 8640, "MD5:y", None, "DR1")]
    directory.mkdir(parents=True)
    (directory / "CONTENT.ESO").write_text(render_content("196.B-0001/SURVEY1", lines))
    (directory / "CHANGES.USER").write_text(changes)
    return directory


def test_update_replaces_one_file_deletes_another_and_adds_one(tmp_path: Path) -> None:
    directory = _update(tmp_path / "DR1.1", "# fixes\nREPLACE img1.fits\nDELETE img2.fits.fz\n")
    science_image(directory / "img1.fits", ASSON1="img1.weight.fits", ASSOC1="ANCILLARY.WEIGHTMAP",
                  ASSON2="img1.png", ASSOC2="ANCILLARY.PREVIEW", PROV1="raw1.fits", seed=3)
    science_image(directory / "img3.fits", PROV1="img1.fits", seed=4)
    report = validate_release(directory, "update", in_archive=IN_ARCHIVE)
    assert report.ok, report.problems
    assert (report.replaced, report.deleted) == (["img1.fits"], ["img2.fits.fz"])
    assert [e.name for e in report.entries] == ["img1.fits", "img3.fits"]


@pytest.mark.parametrize(("changes", "extra", "expected"), [
    ("REPLACE img9.fits\n", (), ["CHANGES.USER: REPLACE: img9.fits is not in CONTENT.ESO"]),
    ("REPLACE img1.fits\n", (), ["CHANGES.USER: REPLACE: img1.fits: the replacement is not in the release"]),
    ("DELETE img2.fits.fz\n", ("img2.fits.fz",),
     ["CHANGES.USER: DELETE: img2.fits.fz is deleted but also sent again",
      "img2.fits.fz: -: already archived: list it as 'REPLACE file' in CHANGES.USER or leave it out"]),
    ("DELETE img1.png\n", ("img3.fits",), ["img3.fits: ASSON1: associated file img1.png is not in the release"]),
    ("MOVE img1.fits\n", (), ["CHANGES.USER: -: CHANGES.USER line 1 is not 'DELETE file' or 'REPLACE file'"]),
])
def test_update_consistency_with_content_eso(tmp_path: Path, changes: str, extra: tuple[str, ...],
                                             expected: list[str]) -> None:
    directory = _update(tmp_path / "DR1.1", changes)
    for name in extra:
        science_image(directory / name, compressed=name.endswith(".fz"), PROV1="img1.fits",
                      ASSON1="img1.png", ASSOC1="ANCILLARY.PREVIEW")
    errors = _errors(directory, "update")
    assert [e[:len(x)] for e, x in zip(errors, expected, strict=False)] == expected and len(errors) == len(expected)


def test_update_needs_content_eso(tmp_path: Path) -> None:
    directory = tmp_path / "DR1.1"
    directory.mkdir()
    assert _errors(directory, "update") == [
        "CONTENT.ESO: -: an update needs the release description file CONTENT.ESO (download it)"]


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _with_assom(directory: Path, weight_md5: str | None, png_md5: str | None, **extra: object) -> None:
    """img1.fits again, its associations carrying ASSOMi (None: that one left out)."""
    md5s = {k: v for k, v in (("ASSOM1", weight_md5), ("ASSOM2", png_md5)) if v is not None}
    science_image(directory / "img1.fits", ASSON1="img1.weight.fits", ASSOC1="ANCILLARY.WEIGHTMAP",
                  ASSON2="img1.png", ASSOC2="ANCILLARY.PREVIEW", PROV1="raw1.fits", checksum=True,
                  **md5s, **extra)


def test_assom_that_matches_the_associated_file_is_ok(tmp_path: Path) -> None:
    directory = good_release(tmp_path / "DR1")
    _with_assom(directory, _md5(directory / "img1.weight.fits"), _md5(directory / "img1.png").upper())
    report = validate_release(directory, in_archive=IN_ARCHIVE)
    assert report.ok, report.problems
    _with_assom(directory, _md5(directory / "img1.weight.fits"), None)  # ASSOMi is optional, one by one
    assert validate_release(directory, in_archive=IN_ARCHIVE).ok


def test_assom_that_does_not_match_is_an_error_line_with_file_and_keyword(tmp_path: Path) -> None:
    directory = good_release(tmp_path / "DR1")
    weight, png = _md5(directory / "img1.weight.fits"), _md5(directory / "img1.png")
    _with_assom(directory, weight, png)
    (directory / "img1.png").write_bytes(b"\x89PNG\r\n\x1a\n another preview")  # the file changed after
    now = _md5(directory / "img1.png")
    assert _errors(directory) == [f"img1.fits: ASSOM2: img1.png has MD5 {now}, not {png}"]
    assert not validate_release(directory, in_archive=IN_ARCHIVE).ok


@pytest.mark.parametrize(("keywords", "expected"), [
    ({"ASSOM1": "not-an-md5"}, ["img1.fits: ASSOM1: 'not-an-md5' is not an MD5 (32 hex digits)"]),
    ({"ASSOM3": "0" * 32}, ["img1.fits: ASSOM3: ASSOM3 has no ASSON3 naming its file"]),
], ids=["malformed", "unpaired"])
def test_assom_malformed_or_unpaired(tmp_path: Path, keywords: dict[str, str], expected: list[str]) -> None:
    directory = good_release(tmp_path / "DR1")
    science_image(directory / "img1.fits", ASSON1="img1.weight.fits", ASSOC1="ANCILLARY.WEIGHTMAP",
                  ASSON2="img1.png", ASSOC2="ANCILLARY.PREVIEW", PROV1="raw1.fits", **keywords)
    assert _errors(directory) == expected


def test_assom_of_a_kept_file_is_checked_against_content_eso(tmp_path: Path) -> None:
    """An update sends img1.fits again; its weight map stays archived: CONTENT.ESO's MD5 is the one to match."""
    kept = "MD5:" + "a" * 32
    directory = tmp_path / "DR1.1"
    directory.mkdir()
    (directory / "CONTENT.ESO").write_text(render_content("196.B-0001/SURVEY1", [
        ContentLine("img1.fits", "SCIENCE.IMAGE", 5760, "MD5:" + "b" * 32, None, "DR1"),
        ContentLine("img1.weight.fits", "ANCILLARY.WEIGHTMAP", 5760, kept, "img1.fits", "DR1"),
        ContentLine("img1.png", "ANCILLARY.PREVIEW", 16, "CKSUM:2", "img1.fits", "DR1")]))
    (directory / "CHANGES.USER").write_text("REPLACE img1.fits\n")
    _with_assom(directory, "a" * 32, "c" * 32)  # img1.png's archived checksum is no MD5: nothing to compare
    report = validate_release(directory, "update", in_archive=IN_ARCHIVE)
    assert report.ok, report.problems
    assert "INFO img1.fits: ASSOM2: no MD5 of the archived img1.png to compare with" in report.log
    _with_assom(directory, "d" * 32, None)
    assert _errors(directory, "update") == [
        f"img1.fits: ASSOM1: img1.weight.fits has MD5 {'a' * 32}, not {'d' * 32}"]
