"""pack / unpack with untrusted archives and full disks (issues 12.7, 12.9, 12.10).

A full disk is injected: the archive module's ``open`` is wrapped so that
writes fail with ENOSPC after a few bytes, as a full filesystem does.
"""

from __future__ import annotations

import errno
import io
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

import pipeline.archive as archive
from pipeline.archive import pack, unpack
from pipeline.base.atomic import SyncBehind
from pipeline.base.errors import UserError
from pipeline.base.manifest import write_snapshot
from pipeline.cli import main
from tests.tablefactory import make_snapshot_tables

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'


@pytest.fixture
def snap(tmp_path: Path) -> Path:
    directory = tmp_path / "src" / "baseline-seed3"
    write_snapshot(directory, make_snapshot_tables(6), name="baseline-seed3", params={"seed": 3})
    return directory


class Spy:
    """Wraps ``open`` in pipeline.archive: records files opened for writing; optionally a disk that fills up."""

    def __init__(self, full_after: int | None = None) -> None:
        self.written: list[str] = []
        self.full_after = full_after
        self.total = 0

    def __call__(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        fh = open(file, mode, *args, **kwargs)
        if "w" not in mode:
            return fh
        self.written.append(Path(file).name)
        if self.full_after is None:
            return fh
        spy = self
        real_write = fh.write

        def write(data: bytes) -> int:
            spy.total += len(data)
            if spy.total > (spy.full_after or 0):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(data)

        fh.write = write  # type: ignore[method-assign]
        return fh


def with_extra_member(good: Path, out: Path, name: str, size: int, *, first: bool = True) -> Path:
    """``good`` plus one member ``name`` of ``size`` zero bytes (compresses to almost nothing)."""
    with tarfile.open(good) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]  # type: ignore[union-attr]
    top = members[0][0].name
    extra = tarfile.TarInfo(f"{top}/{name}")
    extra.size = size
    with tarfile.open(out, "w:gz") as tar:
        if first:
            tar.addfile(members[0][0])
            tar.addfile(extra, io.BytesIO(bytes(size)))
            rest = members[1:]
        else:
            rest = members
        for m, data in rest:
            tar.addfile(m, io.BytesIO(data) if data is not None else None)
        if not first:
            tar.addfile(extra, io.BytesIO(bytes(size)))
    return out


def test_an_unlisted_member_is_refused_before_a_byte_of_it_is_written(
    snap: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evil = with_extra_member(pack(snap, tmp_path / "good.tar.gz"), tmp_path / "evil.tar.gz", "blob.bin", 30 << 20)
    spy = Spy()
    monkeypatch.setattr(archive, "open", spy, raising=False)
    dest = tmp_path / "dest"
    with pytest.raises(
        UserError, match=re.escape("'baseline-seed3/blob.bin' is not listed in the snapshot's manifest")
    ):
        unpack(evil, dest)
    assert spy.written == []  # nothing at all was written: the manifest is read first
    assert not dest.exists() or list(dest.iterdir()) == []


@pytest.mark.parametrize("name", ["bad\nname.parquet", "bell\x07.parquet", "del\x7f.parquet", "esc\x1b[31m.parquet"])
def test_member_names_with_control_characters_are_refused(snap: Path, tmp_path: Path, name: str) -> None:
    evil = with_extra_member(pack(snap, tmp_path / "good.tar.gz"), tmp_path / "evil.tar.gz", name, 3)
    with pytest.raises(UserError, match="control character"):
        unpack(evil, tmp_path / "dest")
    assert not (tmp_path / "dest").exists() or list((tmp_path / "dest").iterdir()) == []


def test_unpack_on_a_full_disk_says_so_and_leaves_nothing(
    snap: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    good = pack(snap, tmp_path / "good.tar.gz")
    monkeypatch.setattr(archive, "open", Spy(full_after=4096), raising=False)
    dest = tmp_path / "dest"
    assert main(["unpack", str(good), "--dest", str(dest)]) == 1  # a full disk: exit 1 in every command
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no space left" in err and "damaged" not in err, err
    assert list(dest.iterdir()) == []


def test_pack_on_a_full_disk_is_one_line_and_leaves_nothing(
    snap: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    monkeypatch.setattr(archive, "open", Spy(full_after=1000), raising=False)
    assert main(["pack", str(snap), "-o", str(out_dir / "x.tar.gz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "no space left" in err, err
    assert list(out_dir.iterdir()) == []


def test_pack_into_an_existing_directory_writes_the_archive_inside(snap: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "dist"
    out_dir.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "pack", str(snap), "-o", str(out_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in out_dir.iterdir()] == ["baseline-seed3.tar"]
    assert "Traceback" not in proc.stderr


def test_pack_does_not_replace_a_file_without_force(snap: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    mine = tmp_path / "notes.txt"
    mine.write_text("a user's file")
    assert main(["pack", str(snap), "-o", str(mine)]) == 2
    assert "already exists" in capsys.readouterr().err and mine.read_text() == "a user's file"
    assert main(["pack", str(snap), "-o", str(mine), "--force"]) == 0
    assert tarfile.is_tarfile(mine)


def test_a_listed_member_larger_than_its_manifest_size_is_refused_before_a_byte_is_written(
    snap: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """12.9: the manifest gives each file's byte size; a listed member that claims more is never read."""
    good = pack(snap, tmp_path / "good.tar")
    with tarfile.open(good) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]  # type: ignore[union-attr]
    listed = (snap / "metrics_commit.parquet").stat().st_size
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        for m, data in members:
            if m.name.endswith("/metrics_commit.parquet"):
                assert data is not None
                data += bytes(20 << 20)  # the listed name, 20 MiB more than the manifest says
                m.size = len(data)
            tar.addfile(m, io.BytesIO(data) if data is not None else None)
    spy = Spy()
    monkeypatch.setattr(archive, "open", spy, raising=False)
    dest = tmp_path / "dest"
    with pytest.raises(UserError, match=re.escape(f"is {listed + (20 << 20)} bytes, its manifest says {listed}")):
        unpack(evil, dest)
    assert spy.written == []
    assert not dest.exists() or list(dest.iterdir()) == []


def test_pack_writes_a_plain_tar_by_default_and_gzip_when_asked(snap: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    plain = pack(snap, tmp_path / "out")
    assert plain.name == "baseline-seed3.tar"
    assert plain.read_bytes()[257:262] == b"ustar"  # a tar header, not gzip
    gz = pack(snap, tmp_path / "b.tar.gz")
    assert gz.read_bytes()[:2] == b"\x1f\x8b"
    assert pack(snap, tmp_path / "c.tar.gz").read_bytes() == gz.read_bytes()  # deterministic, gzipped too
    for archive_file, where in ((plain, "p"), (gz, "g")):
        out = unpack(archive_file, tmp_path / where)
        assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in snap.iterdir())
        for p in snap.iterdir():
            assert (out / p.name).read_bytes() == p.read_bytes()


@pytest.mark.parametrize(
    ("code", "said", "status"), [(errno.EIO, "cannot write", 2), (errno.ENOSPC, "no space left", 1)]
)
def test_a_failed_background_sync_of_the_archive_is_one_line_and_leaves_nothing(
    snap: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    code: int,
    said: str,
    status: int,
) -> None:
    def fail(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fdatasync", fail)
    monkeypatch.setattr(archive, "SyncBehind", lambda fd: SyncBehind(fd, every=1000))  # syncs while it copies
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert main(["pack", str(snap), "-o", str(out_dir / "x.tar")]) == status
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and said in err, err
    assert list(out_dir.iterdir()) == []
