"""`demoseed pack` / `unpack`: deterministic archives, unsafe ones refused."""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import subprocess
import tarfile

import pytest

import pipeline.archive as archive
from pipeline.archive import pack, unpack
from pipeline.base.errors import IntegrityError, UserError
from pipeline.base.manifest import write_snapshot
from pipeline.cli import main
from tests.tablefactory import make_snapshot_tables


@pytest.fixture
def snap(tmp_path):
    directory = tmp_path / "src" / "baseline-seed3"
    write_snapshot(directory, make_snapshot_tables(6), name="baseline-seed3", params={"seed": 3})
    return directory


def test_pack_is_deterministic_and_round_trips(snap, tmp_path):
    a = pack(snap, tmp_path / "a.tar.gz")
    b = pack(snap, tmp_path / "b.tar.gz")
    assert a.read_bytes() == b.read_bytes()
    target = unpack(a, tmp_path / "dest")
    assert target == tmp_path / "dest" / "baseline-seed3"
    for f in snap.iterdir():
        assert (target / f.name).read_bytes() == f.read_bytes()
    with pytest.raises(UserError, match="already exists"):
        unpack(a, tmp_path / "dest")
    assert unpack(a, tmp_path / "dest", force=True) == target


def _archive(tmp_path, entries):
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.SYMTYPE:
                info.linkname = payload
                tar.addfile(info)
            else:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return path


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("snap/../../escape.txt", tarfile.REGTYPE, b"x")], "points outside the snapshot"),
        ([("/etc/evil", tarfile.REGTYPE, b"x")], "absolute path"),
        ([("snap/manifest.json", tarfile.SYMTYPE, "/etc/passwd")], "is a link"),
        (
            [("a/manifest.json", tarfile.REGTYPE, b"{}"), ("b/x", tarfile.REGTYPE, b"x")],
            "exactly one snapshot directory",
        ),
        ([("snap/sub/deep.txt", tarfile.REGTYPE, b"x")], "not a file directly inside"),
    ],
)
def test_unsafe_archives_are_refused_before_writing(tmp_path, entries, message):
    archive = _archive(tmp_path, entries)
    dest = tmp_path / "dest"
    with pytest.raises(UserError, match=message):
        unpack(archive, dest)
    assert not dest.exists() or list(dest.iterdir()) == []
    assert not (tmp_path / "escape.txt").exists()


def test_tampered_archive_content_is_refused(snap, tmp_path):
    good = pack(snap, tmp_path / "good.tar.gz")
    with tarfile.open(good) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        for m, data in members:
            if m.name.endswith("metrics_commit.parquet"):
                data = data[:-9] + b"corrupted"
            tar.addfile(m, io.BytesIO(data) if data is not None else None)
    dest = tmp_path / "dest"
    assert main(["unpack", str(bad), "--dest", str(dest)]) == 2
    assert not (dest / "baseline-seed3").exists()
    assert [p for p in dest.iterdir()] == []


def test_unpack_cli_rejects_non_archives(tmp_path, capsys):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"hello")
    assert main(["unpack", str(junk), "--dest", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1


def _flip_byte_of_member(good, bad, member):
    """``good`` with one byte inside ``member``'s data flipped (its size and every header unchanged)."""
    raw = bytearray(good.read_bytes())
    with tarfile.open(good) as tar:
        m = tar.getmember(member)
    raw[m.offset_data + m.size // 2] ^= 0xFF
    bad.write_bytes(bytes(raw))
    return bad


@pytest.fixture
def small_chunks(monkeypatch):
    """Copy in 1,000-byte chunks: every file takes many, and the few copy buffers are reused many times."""
    monkeypatch.setattr(archive, "COPY_BUFFER", 1000)


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz"])
def test_the_archive_bytes_do_not_depend_on_the_copy_and_round_trip(snap, tmp_path, monkeypatch, suffix):
    default = pack(snap, tmp_path / f"default{suffix}").read_bytes()
    monkeypatch.setattr(archive, "COPY_BUFFER", 1000)
    small = pack(snap, tmp_path / f"small{suffix}")
    assert small.read_bytes() == default == pack(snap, tmp_path / f"again{suffix}").read_bytes()
    with tarfile.open(small) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    assert files == {f"baseline-seed3/{p.name}": p.read_bytes() for p in snap.iterdir()}
    out = unpack(small, tmp_path / "dest")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in snap.iterdir())
    assert all((out / p.name).read_bytes() == p.read_bytes() for p in snap.iterdir())


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz"])
def test_a_member_whose_bytes_differ_from_the_manifest_is_refused_and_nothing_appears(
    snap, tmp_path, small_chunks, suffix
):
    good = pack(snap, tmp_path / "good.tar")
    bad = _flip_byte_of_member(good, tmp_path / "bad.tar", "baseline-seed3/metrics_commit.parquet")
    if suffix == ".tar.gz":
        bad = tmp_path / "bad.tar.gz"
        bad.write_bytes(gzip.compress((tmp_path / "bad.tar").read_bytes()))
    dest = tmp_path / "dest"
    with pytest.raises(IntegrityError, match="metrics_commit: sha256 of the file differs from the manifest"):
        unpack(bad, dest)
    assert list(dest.iterdir()) == []  # neither the snapshot nor the temporary directory


def test_a_cut_short_plain_archive_is_damaged_and_leaves_nothing(snap, tmp_path, small_chunks, capsys):
    good = pack(snap, tmp_path / "good.tar")
    with tarfile.open(good) as tar:
        last = [m for m in tar.getmembers() if m.isfile()][-1]
    cut = tmp_path / "cut.tar"
    cut.write_bytes(good.read_bytes()[: last.offset_data + last.size // 2])
    dest = tmp_path / "dest"
    assert main(["unpack", str(cut), "--dest", str(dest)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is damaged" in err, err
    assert not dest.exists() or list(dest.iterdir()) == []


def test_pack_refuses_a_changed_file_and_leaves_no_archive(snap, tmp_path, small_chunks, capsys):
    changed = snap / "metrics_commit.parquet"
    data = bytearray(changed.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte differs
    changed.write_bytes(bytes(data))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(IntegrityError, match="metrics_commit: sha256 of the file differs from the manifest"):
        pack(snap, out / "x.tar")
    assert main(["pack", str(snap), "-o", str(out / "x.tar.gz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sha256 of the file differs" in err, err
    assert list(out.iterdir()) == []


def test_pack_of_a_snapshot_missing_a_file_says_so_and_leaves_no_archive(snap, tmp_path):
    (snap / "metrics_commit.parquet").unlink()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(IntegrityError, match="metrics_commit: file is missing"):
        pack(snap, out / "x.tar")
    assert list(out.iterdir()) == []


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs GNU tar to write a sparse member")
def test_a_sparse_member_of_a_plain_tar_is_read_through_tarfile(tmp_path, small_chunks):
    src = tmp_path / "snap"
    src.mkdir()
    holes = src / "holes.parquet"
    with open(holes, "wb") as fh:
        fh.write(b"head")
        fh.seek(1 << 20)  # a hole tar stores as such
        fh.write(b"tail")
    made = subprocess.run(
        ["tar", "--sparse", "-cf", str(tmp_path / "s.tar"), "-C", str(tmp_path), "snap"], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"tar cannot write a sparse member here: {made.stderr!r}")
    out = tmp_path / "out"
    out.mkdir()
    with open(tmp_path / "s.tar", "rb") as fh, tarfile.open(fileobj=fh) as tar:
        files = [m for m in tar.getmembers() if m.isfile()]
        if not files[0].issparse():
            pytest.skip("the file system made no hole")
        digests = archive._extract(tar, files, out, tmp_path / "s.tar", fh)
    assert (out / "holes.parquet").read_bytes() == holes.read_bytes()
    assert digests == {"holes.parquet": hashlib.sha256(holes.read_bytes()).hexdigest()}
