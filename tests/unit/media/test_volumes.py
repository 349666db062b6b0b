"""Volume planning: capacities, whole granules, Media_ID, headroom, exact tar sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.errors import BadName, GranuleTooLarge, MediaError, NameClash
from media.layout import GranuleItem, TextFile, VolumeFile
from media.volumes import BD, CD, DVD, DVD9, MEDIA, largest_file, media_id, plan_volumes, tape


def granule(n: int, size: int, files: int = 1) -> GranuleItem:
    return GranuleItem(f"SC:MOD09GHK.003:{n}", str(n),
                       tuple(VolumeFile(Path(f"/nowhere/{n}-{i}"), f"F{i}.hdf", size // files) for i in range(files)))


def test_capacities_are_the_media_sizes() -> None:
    assert (CD.capacity, DVD.capacity, DVD9.capacity, BD.capacity) == (
        681_984_000, 4_700_372_992, 8_547_991_552, 25_025_314_816)
    assert MEDIA["CDROM"] is CD and MEDIA["DVD"] is DVD
    assert tape(800 * 10**9).capacity == 800 * 10**9
    with pytest.raises(MediaError):
        tape(0)


def test_media_id_and_label() -> None:
    assert media_id("0300018199", 1) == "0300018199_001"
    plans = plan_volumes("0300018199", [granule(i, 300_000_000) for i in range(1, 6)], CD)
    assert [p.media_id for p in plans] == ["0300018199_001", "0300018199_002", "0300018199_003"]
    assert [p.label for p in plans] == ["Media 1 of 3", "Media 2 of 3", "Media 3 of 3"]
    assert [[g.directory for g in p.items] for p in plans] == [["1", "2"], ["3", "4"], ["5"]]


def test_granules_are_never_split_and_first_fit_fills_gaps() -> None:
    sizes = [400_000_000, 400_000_000, 200_000_000, 250_000_000]
    plans = plan_volumes("R1", [granule(i, s) for i, s in enumerate(sizes, 1)], CD)
    assert [[g.key.rsplit(":", 1)[1] for g in p.items] for p in plans] == [["1", "3"], ["2", "4"]]
    for p in plans:
        assert p.planned_bytes <= CD.capacity * 0.99


def test_granule_bigger_than_a_volume_is_rejected_with_the_reason() -> None:
    with pytest.raises(GranuleTooLarge, match=r"granule SC:MOD09GHK.003:7 needs .* more than one volume holds"):
        plan_volumes("R1", [granule(7, CD.capacity)], CD)


def test_a_caller_can_collect_the_too_large_granules_and_plan_the_rest() -> None:
    rejected: list[GranuleTooLarge] = []
    plans = plan_volumes("R1", [granule(1, 1000), granule(2, CD.capacity), granule(3, 1000)], CD, rejected=rejected)
    assert [e.key for e in rejected] == ["SC:MOD09GHK.003:2"] and "more than one volume holds" in str(rejected[0])
    assert [[g.directory for g in p.items] for p in plans] == [["1", "3"]]


def test_headroom_is_kept_free() -> None:
    size = int(CD.capacity * 0.985)
    assert len(plan_volumes("R1", [granule(1, size)], CD, headroom=0.01)) == 1
    with pytest.raises(GranuleTooLarge):
        plan_volumes("R1", [granule(1, size)], CD, headroom=0.02)
    with pytest.raises(MediaError):
        plan_volumes("R1", [granule(1, 10)], CD, headroom=1.0)


def test_per_file_overhead_is_charged() -> None:
    """10,000 one-byte files take at least a sector each on an ISO, 1,024 bytes each in tar."""
    iso = plan_volumes("R1", [granule(1, 10_000, files=10_000)], CD)[0]
    assert iso.planned_bytes >= 10_000 * 2048
    tar = plan_volumes("R1", [granule(1, 10_000, files=10_000)], tape(10**9), headroom=0)[0]
    assert tar.planned_bytes >= 10_000 * 1024


def test_text_files_go_on_every_volume_and_are_charged() -> None:
    dn = TextFile("0300018199.txt", "x" * 5000)
    plans = plan_volumes("0300018199", [granule(i, 300_000_000) for i in range(1, 4)], CD, texts=[dn])
    assert all(p.texts == (dn,) for p in plans)
    assert plans[0].entries()[0].path == "0300018199.txt"


def test_name_clashes_and_bad_names_are_refused() -> None:
    with pytest.raises(NameClash):
        plan_volumes("R1", [granule(1, 10), granule(1, 10)], CD)
    twice = GranuleItem("G", "1", (VolumeFile(Path("/a"), "X", 1), VolumeFile(Path("/b"), "X", 1)))
    with pytest.raises(NameClash):
        plan_volumes("R1", [twice], CD)
    file_and_dir = GranuleItem("G", "1", (VolumeFile(Path("/a"), "X", 1), VolumeFile(Path("/b"), "X/Y", 1)))
    with pytest.raises(NameClash, match="'1/X' appears twice"):
        plan_volumes("R1", [file_and_dir], CD)
    with pytest.raises(NameClash, match="'1' appears twice"):  # a text named like a granule's directory
        plan_volumes("R1", [granule(1, 10)], CD, texts=[TextFile("1", "DN")])
    with pytest.raises(NameClash, match="'1/F0.hdf' appears twice"):  # a text inside a granule's directory
        plan_volumes("R1", [granule(1, 10)], CD, texts=[TextFile("1/F0.hdf", "DN")])
    for bad in ("../etc/passwd", "/abs", "a//b", "a/./b", ""):
        with pytest.raises(BadName):
            plan_volumes("R1", [GranuleItem("G", "1", (VolumeFile(Path("/a"), bad, 1),))], CD)
    with pytest.raises(BadName):
        plan_volumes("R1", [GranuleItem("G", "1/2", ())], CD)


def test_the_pieces_of_a_granule_go_on_later_volumes_and_share_one_directory_on_each() -> None:
    texts = (TextFile("R1.txt", "x" * 9000),)
    room = largest_file(CD, "7", "R1_00007.tar.gz.001", texts=texts)
    alone = GranuleItem("g7", "7", (VolumeFile(Path("/nowhere/a"), "R1_00007.tar.gz.001", room),))
    assert len(plan_volumes("R1", [alone], CD, texts=texts)) == 1  # the largest file fits
    with pytest.raises(GranuleTooLarge):  # a byte more does not
        plan_volumes("R1", [GranuleItem("g7", "7", (VolumeFile(Path("/a"), alone.files[0].name, room + 1),))], CD,
                     texts=texts)
    size = room // 3
    sizes = [size, size, size, size, size // 4]  # the last piece small: it would fit volume 1 again
    pieces = [GranuleItem("g7", "7", (VolumeFile(Path(f"/nowhere/{i}"), f"R1_00007.tar.gz.{i:03d}", s),))
              for i, s in enumerate(sizes, start=1)]
    small = [GranuleItem(k, d, (VolumeFile(Path(f"/nowhere/{k}"), "f", size // n),)) for k, d, n in
             (("g6", "6", 2), ("g8", "8", 4))]
    plans = plan_volumes("R1", [small[0], *pieces, small[1]], CD, texts=texts)
    assert [[(g.key, [f.name[-3:] for f in g.files]) for g in p.items] for p in plans] == [
        [("g6", ["f"]), ("g7", ["001", "002"]), ("g8", ["f"])],  # another granule fills the gap
        [("g7", ["003", "004", "005"])]]  # a piece never goes back before the piece it follows
