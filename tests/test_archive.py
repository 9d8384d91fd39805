"""`demoseed pack` / `unpack`: deterministic archives, unsafe ones refused."""

from __future__ import annotations

import io
import tarfile

import pytest

from pipeline.archive import pack, unpack
from pipeline.base.errors import UserError
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
