"""media._isoread on real images (xorriso, pycdlib, media.iso): trees, names, modes, times, data, bad images, memory."""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import shutil
import stat
import subprocess
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pycdlib
import pytest
from pycdlib import rockridge

from media._checksum import ChecksumSink, expected_checksum
from media.errors import ReadBackMismatch
from media.iso import build_iso
from media._iso_pycdlib import build_with_pycdlib
from media._isonames import NameTable
from media._isoread import BLOCK, IsoFile, read_extent, walk_joliet, walk_rock_ridge
from media.layout import mode_of
from media.volumes import CD, plan_volumes
from tests.media_helpers import Md5, make_granule

XORRISO = shutil.which("xorriso")
needs_xorriso = pytest.mark.skipif(XORRISO is None, reason="xorriso is not installed")
Walker = Callable[[BinaryIO], Iterator[IsoFile]]
DEEP = "/".join(f"d{i}" for i in range(1, 13))  # 12 levels below the root
UNICODE = ("Ünïcode naïve.txt", "日本語のファイル.dat", "emoji 😀.txt")


def xorriso(tree: Path | None, out: Path, *options: str, compliance: str | None = None,
            tz: str | None = None) -> Path:
    """``xorriso -as mkisofs -R -J`` (and more options) of ``tree`` (None: the options name the files)."""
    assert XORRISO is not None
    pre = ["-compliance", compliance] if compliance else []
    env = dict(os.environ, **({"TZ": tz} if tz else {}))
    subprocess.run([XORRISO, *pre, "-as", "mkisofs", "-quiet", "-R", "-J", *options, "-o", str(out),
                    *([str(tree)] if tree else [])],
                   check=True, capture_output=True, env=env)
    return out


def walked(image: Path | bytes, walker: Walker = walk_rock_ridge) -> dict[str, IsoFile]:
    """Walk an image, checking the order: depth first, every entry right inside the directory opened last."""
    with (io.BytesIO(image) if isinstance(image, bytes) else image.open("rb")) as f:
        items = list(walker(f))
    open_dirs: list[str] = []
    for item in items:
        while open_dirs and not item.path.startswith(open_dirs[-1] + "/"):
            open_dirs.pop()
        assert item.path.rsplit("/", 1)[0] == (open_dirs[-1] if open_dirs else ""), item.path
        if item.is_dir:
            open_dirs.append(item.path)
    found = {i.path: i for i in items}
    assert len(found) == len(items), "a path is yielded twice"
    return found


def source_tree(root: Path) -> dict[str, os.stat_result]:
    """What os.walk sees below ``root``, by absolute path inside the tree."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(d, name)
            out["/" + p.relative_to(root).as_posix()] = p.lstat()
    return out


def md5_of(image: Path, item: IsoFile) -> str:
    """The MD5 of a file's data, as read_extent copies it out."""
    sink = ChecksumSink(Md5)
    with image.open("rb") as f:
        assert read_extent(f, item.extent, item.size, sink) == item.size == sink.size
    return sink.value()


def assert_same_tree(image: Path, src: Path, walker: Walker = walk_rock_ridge, *, attributes: bool = True,
                     found: dict[str, IsoFile] | None = None) -> None:
    """The walk lists exactly the source tree, with its sizes, data and (Rock Ridge) modes and mtimes."""
    tree = source_tree(src)
    found = walked(image, walker) if found is None else found
    assert sorted(found) == sorted(tree)
    for path, st in tree.items():
        item = found[path]
        assert item.is_dir == stat.S_ISDIR(st.st_mode), path
        if attributes:
            assert (item.mode, item.mtime) == (st.st_mode, int(st.st_mtime)), path
        else:
            assert (item.mode, item.mtime) == (None, None), path
        if not item.is_dir:
            assert item.size == st.st_size, path
            assert md5_of(image, item) == hashlib.md5((src / path[1:]).read_bytes()).hexdigest(), path


def stamp(root: Path) -> None:
    """Give every entry its own known mtime (directories too, after their contents are made), atime apart."""
    for i, p in enumerate(sorted(root.rglob("*"))):
        t = 1_000_000_000 + 3_607 * i
        os.utime(p, (t + 86_400, t))  # TF records ACCESS too: a reader taking it instead of MODIFY is off by a day
    os.utime(root / "when" / "y2100.txt", (4_102_444_800, 4_102_444_800))  # past 2038


def make_tree(root: Path, *, long_names: bool = True) -> Path:
    """Names of 1..255 bytes, unicode names, 12 levels, 3,000 files in one directory, empty files, modes, times."""
    names = root / "names"
    names.mkdir(parents=True)
    for k in range(1, 256 if long_names else 65):
        (names / (f"{k}-" + "x" * 255)[:k]).write_bytes(os.urandom(k))
    if long_names:
        (names / ("é" * 127 + "z")).write_bytes(b"255 bytes of UTF-8")  # 128 characters, 255 bytes
    for name in UNICODE:
        (root / name).write_text(name, encoding="utf-8")
    (root / DEEP).mkdir(parents=True)
    (root / DEEP / "leaf.txt").write_bytes(b"twelve levels down\n")
    many = root / "many"
    many.mkdir()
    for i in range(3_000):
        (many / f"file_{i:05d}.dat").write_bytes(b"" if i % 7 == 0 else f"{i}\n".encode())
    (root / "empty dir").mkdir()
    (root / "empty.dat").touch()
    sizes = root / "sizes"
    sizes.mkdir()
    for n in (1, 2_047, 2_048, 2_049, 2_600_000):  # the last one crosses read_extent's 1 MiB chunks
        (sizes / f"{n}.bin").write_bytes(os.urandom(n))
    (root / "when").mkdir()
    (root / "when" / "y2100.txt").write_bytes(b"later")
    (sizes / "2049.bin").chmod(0o600)
    (sizes / "1.bin").chmod(0o755)
    (root / "names").chmod(0o750)
    (root / "empty dir").chmod(0o700)
    stamp(root)
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("tree") / "src")


@needs_xorriso
def test_xorriso_image_reads_back_like_the_source(tree: Path, tmp_path: Path) -> None:
    image = xorriso(tree, tmp_path / "a.iso")
    assert_same_tree(image, tree)
    found = walked(image)
    assert found["/" + DEEP].is_dir and found["/many"].size > 20 * BLOCK  # 3,000 records: many sectors
    assert {p.rsplit("/", 1)[1] for p in found if p.startswith("/names/")} >= {"1", ("255-" + "x" * 255)[:255]}


@needs_xorriso
def test_long_names_live_in_continuation_areas(tree: Path, tmp_path: Path) -> None:
    """The premise of the long-name checks: the 200- and 255-byte names really are split into CE areas."""
    image = xorriso(tree, tmp_path / "a.iso")
    iso = pycdlib.PyCdlib()
    iso.open(str(image))
    try:
        for k in (200, 255):
            rec = iso.get_record(rr_path=f"/names/{(f'{k}-' + 'x' * 255)[:k]}")
            assert rec.rock_ridge is not None and rec.rock_ridge.dr_entries.ce_record is not None, k
    finally:
        iso.close()
    found = walked(image)
    for k in (200, 255):
        assert f"/names/{(f'{k}-' + 'x' * 255)[:k]}" in found


@needs_xorriso
@pytest.mark.parametrize(("options", "joliet_reloc"), [
    (("-rr_reloc_dir", "RELOC"), "/RELOC"),
    (("-hide-rr-moved",), "/.rr_moved"),
    (("-rr_reloc_dir", "rr_moved"), None),  # xorriso merges it into the user's rr_moved: keep.txt and RE entries
], ids=["reloc_dir", "hidden", "merged"])
def test_xorriso_relocated_deep_tree_reads_at_its_original_places(tmp_path: Path, options: tuple[str, ...],
                                                                   joliet_reloc: str | None) -> None:
    src = tmp_path / "src"
    (src / DEEP).mkdir(parents=True)
    (src / DEEP / "leaf.txt").write_bytes(b"deep")
    (src / "d1/d2/d3/d4/d5/d6/d7/d8").chmod(0o701)  # the first relocated directory: its own mode
    (src / "rr_moved").mkdir()  # a user's directory of that name is not the relocation directory
    (src / "rr_moved" / "keep.txt").write_bytes(b"mine")
    for i, p in enumerate(sorted(src.rglob("*"))):
        os.utime(p, (1_200_000_000 + i, 1_200_000_000 + i))
    image = xorriso(src, tmp_path / "deep.iso", *options)
    plain = walked(image.read_bytes().replace(b"SP\x07\x01\xbe\xef", b"XX\x07\x01\xbe\xef"))  # no Rock Ridge
    assert max(p.count("/") for p in plain) <= 8, "xorriso did not relocate"
    assert_same_tree(image, src)
    joliet = walked(image, walk_joliet)
    if joliet_reloc:
        joliet = without_empty_reloc_dir(joliet, joliet_reloc)
    assert_same_tree(image, src, attributes=False, found=joliet)


def without_empty_reloc_dir(joliet: dict[str, IsoFile], reloc: str) -> dict[str, IsoFile]:
    """xorriso also puts its relocation directory, empty, into the Joliet tree (which relocates nothing)."""
    assert joliet.pop(reloc).is_dir and not any(p.startswith(reloc + "/") for p in joliet)
    return joliet


def pycdlib_image(src: Path, out: Path) -> dict[str, str]:
    """An image built the way Ardis calls pycdlib, relocating > 8 levels; returns Rock Ridge -> Joliet paths."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, rock_ridge="1.09", joliet=3)
    iso.set_relocated_name("RR_MOVED", ".rr_moved")
    joliet: dict[str, str] = {}
    isodirs = {"": ""}
    for n, (path, st) in enumerate(sorted(source_tree(src).items())):
        parent, name = path.rsplit("/", 1)
        jname = name[:30] + name[-30:] if len(name) > 64 else name
        joliet[path] = f"{joliet.get(parent, '')}/{jname}"
        iso_path = f"{isodirs[parent]}/F{n}"
        common = {"rr_name": name, "joliet_path": joliet[path], "file_mode": st.st_mode}
        if stat.S_ISDIR(st.st_mode):
            isodirs[path] = iso_path
            iso.add_directory(iso_path=iso_path, **common)
        else:
            iso.add_file(str(src / path[1:]), iso_path=iso_path + ".;1", **common)
    iso.set_hidden(iso_path="/RR_MOVED")
    iso.write(str(out))
    iso.close()
    return joliet


def test_pycdlib_relocated_tree_reads_at_its_original_places(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / DEEP).mkdir(parents=True)
    (src / DEEP / ("n" * 255)).write_bytes(os.urandom(5_000))
    (src / "d1" / "d2" / "short.txt").write_bytes(b"short")
    for name in UNICODE:
        (src / "d1" / name).write_text(name, encoding="utf-8")
    joliet = pycdlib_image(src, tmp_path / "p.iso")
    image = tmp_path / "p.iso"
    rr, jo = walked(image), walked(image, walk_joliet)
    tree = source_tree(src)
    assert sorted(rr) == sorted(tree) and not any(".rr_moved" in p for p in rr)
    assert sorted(jo) == sorted(joliet.values())
    for path, st in tree.items():
        assert rr[path].is_dir == jo[joliet[path]].is_dir == stat.S_ISDIR(st.st_mode)
        assert rr[path].mode == st.st_mode
        if not stat.S_ISDIR(st.st_mode):
            assert (rr[path].extent, rr[path].size) == (jo[joliet[path]].extent, jo[joliet[path]].size)
            assert md5_of(image, rr[path]) == hashlib.md5((src / path[1:]).read_bytes()).hexdigest()
    assert rr["/" + "/".join(DEEP.split("/")[:8])].extent != jo["/" + "/".join(DEEP.split("/")[:8])].extent


@needs_xorriso
def test_joliet_tree_has_the_same_files_as_rock_ridge(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", long_names=False)  # Joliet keeps names of <= 64 characters whole
    image = xorriso(src, tmp_path / "j.iso", "-hide-rr-moved", compliance="joliet_utf16")  # the emoji as UTF-16
    rr, jo = walked(image), without_empty_reloc_dir(walked(image, walk_joliet), "/.rr_moved")
    assert_same_tree(image, src, attributes=False, found=jo)
    files = [p for p, i in rr.items() if not i.is_dir]
    assert len(files) > 3_000
    assert all((rr[p].extent, rr[p].size) == (jo[p].extent, jo[p].size) for p in files)


@needs_xorriso
def test_joliet_of_long_names_points_at_the_same_data(tree: Path, tmp_path: Path) -> None:
    """Joliet shortens names past 64 characters; the files are still the Rock Ridge tree's."""
    image = xorriso(tree, tmp_path / "a.iso")
    rr, jo = walked(image), walked(image, walk_joliet)
    assert all(len(p.rsplit("/", 1)[1]) <= 64 for p in jo)
    assert (Counter((i.extent, i.size) for i in jo.values() if not i.is_dir)
            == Counter((i.extent, i.size) for i in rr.values() if not i.is_dir))


@needs_xorriso
def test_rrip_1_12_and_a_local_gmt_offset(tmp_path: Path) -> None:
    """xorriso's new_rr: 44-byte PX, NM CURRENT/PARENT on "." and ".." (read on relocated directories);
    always_gmt_off with TZ +5:30 records offset 22 in TF."""
    src = tmp_path / "src"
    (src / DEEP).mkdir(parents=True)
    (src / DEEP / "f.txt").write_bytes(b"x")
    os.utime(src / DEEP / "f.txt", (1_234_567_890, 1_234_567_890))
    for i, p in enumerate(sorted(src.rglob("*"), reverse=True)):
        if p.is_dir():
            os.utime(p, (1_111_111_111 + i, 1_111_111_111 + i))
    image = xorriso(src, tmp_path / "n.iso", "-hide-rr-moved", compliance="new_rr:always_gmt_off", tz="IST-5:30")
    data = image.read_bytes()
    assert b"PX\x2c\x01" in data and b"PX\x24\x01" not in data and b"NM\x05\x01\x02" in data
    assert bytes([0x0E]) + bytes([109, 2, 14, 5, 1, 30, 22]) in data  # TF MODIFY 2009-02-14 05:01:30 +05:30
    assert_same_tree(image, src)


def test_long_form_tf_takes_modify_not_creation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """17-byte TF dates with CREATION recorded first: the reader skips it and takes MODIFY."""
    monkeypatch.setattr(rockridge, "TF_FLAGS", 0x8F)  # LONG_FORM | ATTRIBUTES | ACCESS | MODIFY | CREATION
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, rock_ridge="1.09", joliet=3)
    iso.add_fp(io.BytesIO(b"dated"), 5, iso_path="/F.;1", rr_name="dated.txt", joliet_path="/dated.txt")
    tf = rockridge.RRTFRecord()
    tf.new(0x8F, 1_300_000_000, creation_seconds=1_000_000_000)  # the same length: the layout stands
    entries = iso.get_record(rr_path="/dated.txt").rock_ridge
    holder = entries.dr_entries if entries.dr_entries.tf_record is not None else entries.ce_entries
    holder.tf_record = tf
    out = tmp_path / "tf.iso"
    iso.write(str(out))
    iso.close()
    assert b"TF" + bytes([5 + 4 * 17, 1, 0x8F]) in out.read_bytes()
    assert walked(out)["/dated.txt"].mtime == 1_300_000_000


def test_cd_rom_xa_records_are_skipped(tmp_path: Path) -> None:
    """pycdlib's xa=True puts a 14-byte XA record before SP and every record's Rock Ridge (SP skip length 14)."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, rock_ridge="1.09", joliet=3, xa=True)
    iso.add_directory(iso_path="/SUB", rr_name="sub dir", joliet_path="/sub dir", file_mode=0o40711)
    iso.add_fp(io.BytesIO(b"xa"), 2, iso_path="/SUB/F.;1", rr_name="a file", joliet_path="/sub dir/a file",
               file_mode=0o100640)
    out = tmp_path / "xa.iso"
    iso.write(str(out))
    iso.close()
    assert b"SP\x07\x01\xbe\xef\x0e" in out.read_bytes()
    found = walked(out)
    assert sorted(found) == ["/sub dir", "/sub dir/a file"]
    assert (found["/sub dir"].mode, found["/sub dir/a file"].mode) == (0o40711, 0o100640)
    assert md5_of(out, found["/sub dir/a file"]) == hashlib.md5(b"xa").hexdigest()


def test_ardis_long_form_tf_with_gmt_offset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pycdlib writer's (UDF volumes) TF dates in the 17-byte form (CREATION first, then MODIFY), local time +5:30."""
    g = make_granule(tmp_path / "src", "SC:X.1:1", "1", [("a.hdf", 100), ("b.hdf", 0)])
    os.utime(g.files[0].source, (1_000_000_000, 1_000_000_000))
    os.utime(g.files[1].source, (1_500_000_123, 1_500_000_123))
    monkeypatch.setattr(rockridge, "TF_FLAGS", 0x8F)  # LONG_FORM | ATTRIBUTES | ACCESS | MODIFY | CREATION
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = "IST-5:30"
    time.tzset()
    try:
        plan = plan_volumes("0300000001", [g], CD)[0]
        image = tmp_path / "l.iso"
        build_with_pycdlib(plan.entries(), image, capacity=CD.capacity, volume_id="V")
    finally:
        os.environ.pop("TZ") if old_tz is None else os.environ.__setitem__("TZ", old_tz)
        time.tzset()
    data = image.read_bytes()
    assert b"TF" + bytes([5 + 4 * 17, 1, 0x8F]) + b"2001090907164000" + bytes([22]) in data
    found = walked(image)
    assert (found["/1/a.hdf"].mtime, found["/1/b.hdf"].mtime) == (1_000_000_000, 1_500_000_123)


@needs_xorriso
def test_chained_continuation_areas(tmp_path: Path) -> None:
    """xorriso --xattr records xattrs as AAIP entries: a long name plus 3 KB of them chains two CE areas."""
    src = tmp_path / "src"
    src.mkdir()
    f = src / ("L" * 255)
    f.write_bytes(b"chained")
    try:
        for i in range(2):
            os.setxattr(f, f"user.big{i}", b"v" * 1_500)
    except OSError as e:
        pytest.skip(f"no user xattrs here: {e}")
    image = xorriso(src, tmp_path / "x.iso", "--xattr")
    assert image.read_bytes().count(b"CE\x1c\x01") >= 3  # the root's, the file's and the chained one
    assert_same_tree(image, src)


@needs_xorriso
def test_without_rock_ridge_the_iso_names_are_used(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "readme.txt").write_bytes(b"read me")
    (src / "noext").write_bytes(b"")
    image = tmp_path / "plain.iso"
    subprocess.run([XORRISO, "-rockridge", "off", "-as", "mkisofs", "-quiet", "-o", str(image), str(src)],
                   check=True, capture_output=True)
    found = walked(image)
    assert sorted(found) == ["/NOEXT", "/SUB", "/SUB/README.TXT"]
    assert (found["/SUB/README.TXT"].size, found["/SUB/README.TXT"].mode) == (7, None)
    assert md5_of(image, found["/SUB/README.TXT"]) == hashlib.md5(b"read me").hexdigest()
    with pytest.raises(ReadBackMismatch, match="no Joliet"):
        list(walk_joliet(image.open("rb")))


def test_ardis_volume_image_reads_back(tmp_path: Path) -> None:
    """media.iso.build_iso's images: Rock Ridge and Joliet names as planned, modes, mtimes, the data."""
    long = "MOD09GHK.A2000055.h15v05.003.2000057160103_with_a_rather_long_tail_for_joliet.hdf"
    g = make_granule(tmp_path / "src", "SC:MOD09GHK.003:1", "1", [
        ("MOD09GHK.A2000055.hdf", 300_000), (long, 5_000), ("mod09ghk.a2000055.hdf", 10),
        ("a/b/c/d/e/f/g/h/i/deep file.dat", 70_000), ("Ünïcode name.txt", 3)])
    os.utime(g.files[0].source, (1_000_000_000, 1_000_000_000))
    plan = plan_volumes("0300018199", [g], CD)[0]
    image = build_iso(plan.entries(), tmp_path / "v.iso", capacity=CD.capacity, volume_id="V")
    rr, jo = walked(image.path), walked(image.path, walk_joliet)
    entries = plan.entries()
    table = NameTable()  # the names Ardis gives (media._isonames)
    names = {e.path: table.add(e.path, e.is_dir) for e in entries}
    assert sorted(rr) == sorted(names[e.path].rr_path for e in entries)
    assert sorted(jo) == sorted(names[e.path].joliet_path for e in entries)
    for e in entries:
        item, other = rr[names[e.path].rr_path], jo[names[e.path].joliet_path]
        assert item.is_dir == other.is_dir == e.is_dir and item.mode == mode_of(e)
        if not e.is_dir:
            assert (item.extent, item.size) == (other.extent, other.size) == (item.extent, e.size)
            assert md5_of(image.path, item) == expected_checksum(e, Md5)
    assert rr["/1/MOD09GHK.A2000055.hdf"].mtime == 1_000_000_000


# --- malformed images -----------------------------------------------------------------------------------------

def _both(value: int) -> bytes:
    return value.to_bytes(4, "little") + value.to_bytes(4, "big")


def _records(data: bytes | bytearray, extent: int, size: int = BLOCK) -> list[tuple[int, bytes]]:
    """(absolute offset, identifier) of a directory's records: where to corrupt an image."""
    out = []
    for block in range(extent, extent + size // BLOCK):
        pos = 0
        while pos < BLOCK and data[block * BLOCK + pos]:
            at = block * BLOCK + pos
            out.append((at, bytes(data[at + 33:at + 33 + data[at + 32]])))
            pos += data[at]
    return out


def _extent(data: bytes | bytearray, at: int) -> tuple[int, int]:
    return int.from_bytes(data[at + 2:at + 6], "little"), int.from_bytes(data[at + 10:at + 14], "little")


ROOT = 16 * BLOCK + 156


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if XORRISO is None:
        pytest.skip("xorriso is not installed")
    tmp = tmp_path_factory.mktemp("small")
    src = tmp / "src"
    (src / "sub").mkdir(parents=True)
    for i in range(200):
        (src / "sub" / f"file_{i:03d}.txt").write_bytes(b"%d" % i)
    (src / ("N" * 255)).write_bytes(b"long")
    return xorriso(src, tmp / "s.iso").read_bytes()


def _child(data: bytearray, ident: bytes) -> int:
    """The offset of the root's child record whose ISO 9660 identifier starts with ``ident``."""
    return next(at for at, name in _records(data, *_extent(data, ROOT)) if name.startswith(ident))


def _ce_of(data: bytearray, ident: bytes) -> int:
    """The offset of the CE entry in that child's record (the 255-byte name has one)."""
    at = _child(data, ident)
    return data.index(b"CE\x1c\x01", at, at + data[at])


def _record_past_the_sector(data: bytearray) -> None:
    records = _records(data, *_extent(data, _child(data, b"SUB")))
    at = next(a for a, b in itertools.pairwise(records) if a[0] // BLOCK != b[0] // BLOCK)[0]  # a sector's last
    data[at] = BLOCK - at % BLOCK + 1
    assert data[at] <= 255


def _file_past_the_end(data: bytearray) -> None:
    at = _child(data, b"NNNNNNNN")
    data[at + 2:at + 10] = _both(len(data) // BLOCK - 1)
    data[at + 10:at + 18] = _both(10 * BLOCK)


def _cycle(data: bytearray) -> None:
    at = _child(data, b"SUB")
    data[at + 2:at + 18] = data[ROOT + 2:ROOT + 18]  # the root's extent and size


def _set(at: Callable[[bytearray], int], value: Callable[[bytearray], bytes]) -> Callable[[bytearray], None]:
    """A corruption: write ``value(data)`` at offset ``at(data)``."""
    def change(data: bytearray) -> None:
        where, what = at(data), value(data)
        data[where:where + len(what)] = what
    return change


def _beyond(data: bytearray) -> bytes:
    return _both(len(data) // BLOCK + 10)


MALFORMED = {
    "short record": (_set(lambda d: _child(d, b"SUB"), lambda d: b"\x14"), "has length 20, shorter than 34"),
    "record past the sector": (_record_past_the_sector, "past the sector"),
    "root past the end": (_set(lambda d: ROOT + 2, _beyond), "past the image end"),
    "file past the end": (_file_past_the_end, "runs past the image end"),
    "CE outside": (_set(lambda d: _ce_of(d, b"NNNNNNNN") + 4, _beyond), "CE at block .* points outside the image"),
    "NM continued into nothing": (_set(lambda d: _ce_of(d, b"NNNNNNNN"), lambda d: b"ZZ"),  # CE now unknown
                                  "continued but no NM follows"),
    "directory cycle": (_cycle, "directory cycle"),
    "no primary descriptor": (_set(lambda d: 16 * BLOCK, lambda d: b"\x02"),  # an SVD without Joliet escapes
                              "no primary volume descriptor"),
    "both-endian halves differ": (_set(lambda d: _child(d, b"NNNNNNNN") + 14, lambda d: (12_345).to_bytes(4, "big")),
                                  "inconsistent"),
    "multi-extent": (_set(lambda d: _child(d, b"NNNNNNNN") + 25, lambda d: b"\x80"),
                     "multi-extent files are not supported"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_image_is_refused(small: bytes, name: str) -> None:
    change, message = MALFORMED[name]
    data = bytearray(small)
    change(data)
    assert walked(small) and data != small
    with pytest.raises(ReadBackMismatch, match=message):
        walked(bytes(data))


def test_truncated_or_no_iso_image(small: bytes) -> None:
    with pytest.raises(ReadBackMismatch, match="truncated"):
        walked(small[:len(small) // 2])
    with pytest.raises(ReadBackMismatch, match="ends inside the volume descriptors"):
        walked(small[:16 * BLOCK + 100])
    with pytest.raises(ReadBackMismatch, match="not an ISO 9660 volume descriptor"):
        walked(bytes(32 * BLOCK))


def test_read_extent_past_the_end(small: bytes) -> None:
    f = io.BytesIO(small)
    with pytest.raises(ReadBackMismatch, match="ends 2,048 bytes into the extent"):
        read_extent(f, len(small) // BLOCK - 1, 3 * BLOCK, ChecksumSink(Md5))


# --- memory -----------------------------------------------------------------------------------------------------

def _flat_image(tmp: Path, files: int) -> Path:
    """``files`` 16-byte files in 20 directories, grafted from one source (making 20,000 files takes longer)."""
    one = tmp / "one.hdf"
    one.write_bytes(b"0123456789abcdef")
    paths = tmp / f"paths{files}"
    paths.write_text("".join(f"{d:02d}/MOD09GHK.A2000055.h{i:05d}.hdf={one}\n"
                             for d in range(20) for i in range(files // 20)))
    return xorriso(None, tmp / f"flat{files}.iso", "-graft-points", "-path-list", str(paths))


def _peak(image: Path) -> tuple[int, int]:
    """(entries walked, traced peak bytes) — the walk's items are counted, not kept."""
    with image.open("rb") as f:
        tracemalloc.start()
        try:
            count = sum(1 for _ in walk_rock_ridge(f))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return count, peak


@needs_xorriso
def test_memory_does_not_grow_with_the_file_count(tmp_path: Path) -> None:
    small_count, small_peak = _peak(_flat_image(tmp_path, 2_000))
    big_count, big_peak = _peak(_flat_image(tmp_path, 20_000))
    assert (small_count, big_count) == (2_020, 20_020)
    assert big_peak < 4 << 20
    assert big_peak < 2 * small_peak + (1 << 20), (small_peak, big_peak)
