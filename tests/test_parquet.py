"""Deterministic, atomic, schema-checked Parquet I/O (pipeline/parquet.py)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.base import atomic, hashing, parquet
from pipeline.base.errors import IntegrityError, SchemaError
from pipeline.base.schemas import METRICS_PRFILE, METRICS_TEAMMEMBER, TEAMS_TEAM
from tests.tablefactory import make_table


def test_same_rows_in_any_order_give_identical_bytes(tmp_path):
    table = make_table(METRICS_PRFILE, 50)
    shuffled = table.take(pa.array([(i * 17) % 50 for i in range(50)]))
    parquet.write_table(table, METRICS_PRFILE, tmp_path / "a.parquet")
    parquet.write_table(shuffled, METRICS_PRFILE, tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    back = parquet.read_table(tmp_path / "b.parquet", METRICS_PRFILE)
    assert back.column("id").to_pylist() == list(range(1, 51))
    assert back.equals(parquet.sort_rows(table, METRICS_PRFILE))


def test_rows_already_in_order_are_not_copied_and_one_swap_is_sorted():
    table = parquet.sort_rows(make_table(METRICS_PRFILE, 50), METRICS_PRFILE)
    assert parquet.sort_rows(table, METRICS_PRFILE) is table  # in order already: returned as it is
    order = list(range(50))
    order[10], order[11] = 11, 10
    swapped = table.take(pa.array(order))
    again = parquet.sort_rows(swapped, METRICS_PRFILE)
    assert again is not swapped and again.equals(table)


def test_representation_differences_are_conformed(tmp_path):
    table = make_table(TEAMS_TEAM, 3)
    loose = table.set_column(table.schema.get_field_index("name"), "name", table.column("name").cast(pa.large_string()))
    loose = loose.set_column(loose.schema.get_field_index("id"), "id", loose.column("id").cast(pa.int32()))
    out = parquet.write_table(loose, TEAMS_TEAM, tmp_path / "t.parquet")
    assert out.schema == TEAMS_TEAM.schema
    assert pq.read_schema(tmp_path / "t.parquet").field("name").type == pa.string()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.drop_columns(["slug"]), "table teams_team: missing column(s) slug"),
        (lambda t: t.append_column("extra", pa.array([1, 2, 3])), "unexpected column(s) extra"),
        (
            lambda t: t.set_column(t.schema.get_field_index("slug"), "slug", pa.array([1, 2, 3])),
            "table teams_team column slug: expected string, got int64",
        ),
        (
            lambda t: t.set_column(t.schema.get_field_index("name"), "name", pa.array(["a", None, "c"])),
            "table teams_team column name: 1 null value(s) in a NOT NULL column",
        ),
        (
            lambda t: t.set_column(t.schema.get_field_index("slug"), "slug", pa.array(["a", "b" * 51, "c"])),
            "table teams_team column slug: a value of 51 characters exceeds varchar(50)",
        ),
        (
            lambda t: t.set_column(
                t.schema.get_field_index("created_at"),
                "created_at",
                pa.array([dt.datetime(2025, 1, 1)] * 3, pa.timestamp("us")),
            ),
            "table teams_team column created_at: expected timestamp[us, tz=UTC], got timestamp[us]",
        ),
    ],
)
def test_schema_mismatch_is_a_clear_error_and_writes_nothing(tmp_path, mutate, message):
    bad = mutate(make_table(TEAMS_TEAM, 3))
    with pytest.raises(SchemaError) as exc:
        parquet.write_table(bad, TEAMS_TEAM, tmp_path / "t.parquet")
    assert message in str(exc.value)
    assert list(tmp_path.iterdir()) == []


def test_a_crash_mid_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "m.parquet"
    parquet.write_table(make_table(METRICS_TEAMMEMBER, 4), METRICS_TEAMMEMBER, target)
    before = target.read_bytes()

    def crash(table, where, **kw):
        if isinstance(where, pa.NativeFile):  # a small table is encoded in memory, then written
            where.write(b"PAR1 half a file")
        else:
            with open(where, "wb") as fh:
                fh.write(b"PAR1 half a file")
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(parquet.pq, "write_table", crash)
        with pytest.raises(OSError, match="disk full"):
            parquet.write_table(make_table(METRICS_TEAMMEMBER, 9, salt=1), METRICS_TEAMMEMBER, target)
        assert target.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["m.parquet"]
        m.setattr(parquet, "ENCODE_IN_MEMORY_MAX", 0)  # a large table streams to the temporary file
        with pytest.raises(OSError, match="disk full"):
            parquet.write_table(make_table(METRICS_TEAMMEMBER, 9, salt=1), METRICS_TEAMMEMBER, target)
        assert target.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["m.parquet"]

    # The disk fails once the new bytes are written (at the fsync): the same.
    def no_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "fsync", no_fsync)
    with pytest.raises(OSError, match="disk full"):
        parquet.write_table(make_table(METRICS_TEAMMEMBER, 9, salt=1), METRICS_TEAMMEMBER, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.parquet"]


def test_a_table_written_again_is_the_same_bytes(tmp_path):
    """write_table remembers the bytes of a table it returned; writing that table again (sorted or not)
    gives the file a fresh encode gives, and a table it did not return is encoded anew."""
    table = make_table(METRICS_TEAMMEMBER, 30, salt=2)
    written = parquet.write_table(table, METRICS_TEAMMEMBER, tmp_path / "a.parquet")
    parquet.write_table(written, METRICS_TEAMMEMBER, tmp_path / "b.parquet")
    parquet.write_table(written, METRICS_TEAMMEMBER, tmp_path / "c.parquet", sort=False)
    parquet.write_table(pa.Table.from_batches(written.to_batches()), METRICS_TEAMMEMBER, tmp_path / "d.parquet")
    first = (tmp_path / "a.parquet").read_bytes()
    assert all((tmp_path / f"{n}.parquet").read_bytes() == first for n in "bcd")
    # Written unsorted first, then asked sorted: sorted anew, as a fresh write would.
    backwards = table.take(pa.array(range(table.num_rows - 1, -1, -1)))
    unsorted = parquet.write_table(backwards, METRICS_TEAMMEMBER, tmp_path / "e.parquet", sort=False)
    parquet.write_table(unsorted, METRICS_TEAMMEMBER, tmp_path / "f.parquet")
    assert (tmp_path / "e.parquet").read_bytes() != first
    assert pq.read_table(tmp_path / "e.parquet").equals(parquet.conform(backwards, METRICS_TEAMMEMBER))
    assert (tmp_path / "f.parquet").read_bytes() == first


def test_unreadable_file_is_an_integrity_error(tmp_path):
    path = tmp_path / "teams_team.parquet"
    path.write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(IntegrityError, match=r"teams_team: .* is not a readable Parquet file"):
        parquet.read_table(path, TEAMS_TEAM)


def test_content_hash_depends_on_values_not_on_encoding(tmp_path):
    table = make_table(METRICS_PRFILE, 40)
    h = hashing.content_hash(table)
    # Same rows, different chunking and a different Parquet encoding: same content hash.
    chunked = pa.concat_tables([table.slice(0, 13), table.slice(13)])
    pq.write_table(chunked, tmp_path / "snappy.parquet", compression="snappy", use_dictionary=False, row_group_size=7)
    assert hashing.content_hash(pq.read_table(tmp_path / "snappy.parquet")) == h
    assert hashing.content_hash(chunked) == h
    # One changed value, one null more, or one row fewer: a different hash.
    adds = table.column("additions").to_pylist()
    changed = table.set_column(
        table.schema.get_field_index("additions"), "additions", pa.array([adds[0] + 1, *adds[1:]], pa.int32())
    )
    assert hashing.content_hash(changed) != h
    assert hashing.content_hash(table.slice(1)) != h
    fname = table.column("filename").to_pylist()
    moved = table.set_column(
        table.schema.get_field_index("filename"),
        "filename",
        pa.array([fname[0] + fname[1][0], fname[1][1:], *fname[2:]]),
    )
    assert hashing.content_hash(moved) != h  # boundary between strings moved, same bytes overall


def test_atomic_directory_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "out"
    with atomic.atomic_directory(target) as tmp:
        parquet.write_table(make_table(TEAMS_TEAM, 2), TEAMS_TEAM, tmp / "a.parquet")
        (tmp / "b.json").write_text("old")
    assert sorted(p.name for p in target.iterdir()) == ["a.parquet", "b.json"]
    # A failure halfway through a rewrite: the old directory stays exactly as it was.
    with pytest.raises(RuntimeError, match="crash"), atomic.atomic_directory(target) as tmp:
        (tmp / "b.json").write_text("new")
        raise RuntimeError("crash")
    assert (target / "b.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    # A successful rewrite drops files the new content does not have.
    with atomic.atomic_directory(target) as tmp:
        (tmp / "c.json").write_text("c")
    assert sorted(p.name for p in target.iterdir()) == ["c.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_files_of_an_atomic_directory_are_on_disk_before_it_is_renamed(tmp_path, monkeypatch):
    """Files written with atomic_target inside the directory go straight to their names (no temporary
    file of their own); each is fsynced, and so is the directory, before it is renamed into place."""
    events: list[tuple[str, object]] = []
    real_fsync, real_replace = atomic.os.fsync, atomic.os.replace

    def fsync(fd):
        events.append(("fsync", os.fstat(fd).st_ino))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    target = tmp_path / "out"
    with atomic.atomic_directory(target) as tmp:
        parquet.write_table(make_table(TEAMS_TEAM, 2), TEAMS_TEAM, tmp / "a.parquet")
        atomic.atomic_write_bytes(tmp / "b.json", b"{}")
        assert sorted(p.name for p in tmp.iterdir()) == ["a.parquet", "b.json"]  # no temporary names
        inodes = {p.name: p.stat().st_ino for p in tmp.iterdir()}
        tmp_inode = tmp.stat().st_ino
    assert [e for e in events if e[0] == "replace"] == [("replace", "out")]  # the files were never renamed
    renamed = events.index(("replace", "out"))
    synced = {ino for kind, ino in events[:renamed] if kind == "fsync"}
    assert {inodes["a.parquet"], inodes["b.json"], tmp_inode} <= synced
    assert (target / "b.json").read_bytes() == b"{}"


def test_a_failed_fsync_in_an_atomic_directory_leaves_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "out"
    with atomic.atomic_directory(target) as tmp:
        (tmp / "old.json").write_text("old")

    def no_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(atomic.os, "fsync", no_fsync)
    with pytest.raises(OSError, match="I/O error"), atomic.atomic_directory(target) as tmp:
        atomic.atomic_write_bytes(tmp / "new.json", b"new")
    assert sorted(p.name for p in target.iterdir()) == ["old.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
