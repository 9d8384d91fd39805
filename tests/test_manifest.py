"""Snapshots and `demoseed verify`: every kind of tampering is named."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest

from pipeline.base.errors import IntegrityError
from pipeline.base.hashing import content_hash
from pipeline.base.manifest import read_snapshot_tables, snapshot_id, verify_snapshot, write_snapshot
from pipeline.base.schemas import SNAPSHOT_TABLES
from pipeline.cli import main
from tests.tablefactory import make_snapshot_tables


@pytest.fixture
def snap(tmp_path):
    directory = tmp_path / "demo-seed1"
    write_snapshot(directory, make_snapshot_tables(12), name="demo-seed1", params={"seed": 1}, inputs={"raw": "abc"})
    return directory


def test_manifest_records_every_table(snap):
    manifest = json.loads((snap / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    assert manifest["tool"]["name"] == "demoseed"
    assert list(manifest["tables"]) == sorted(SNAPSHOT_TABLES)
    tables = read_snapshot_tables(snap)
    for name, entry in manifest["tables"].items():
        assert entry["rows"] == 12
        assert entry["content_sha256"] == content_hash(tables[name])
    assert manifest["snapshot_id"] == snapshot_id(manifest)
    assert verify_snapshot(snap).snapshot_id == manifest["snapshot_id"]


def test_snapshot_id_is_derived_from_content(tmp_path):
    a = write_snapshot(tmp_path / "a", make_snapshot_tables(5), name="a", params={"seed": 1})
    b = write_snapshot(tmp_path / "b", make_snapshot_tables(5), name="b", params={"seed": 1})
    c = write_snapshot(tmp_path / "c", make_snapshot_tables(5, salt=1), name="c", params={"seed": 1})
    d = write_snapshot(tmp_path / "d", make_snapshot_tables(5), name="d", params={"seed": 2})
    assert a.snapshot_id == b.snapshot_id
    assert len({a.snapshot_id, c.snapshot_id, d.snapshot_id}) == 3


def _fails(snap, *fragments):
    with pytest.raises(IntegrityError) as exc:
        verify_snapshot(snap)
    for fragment in fragments:
        assert fragment in str(exc.value)
    return str(exc.value)


def test_flipped_byte_is_detected(snap):
    path = snap / "metrics_prreview.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    msg = _fails(snap, "metrics_prreview: sha256 of the file differs")
    assert "metrics_commit" not in msg


def test_dropped_row_is_detected(snap):
    path = snap / "metrics_commit.parquet"
    table = pq.read_table(path)
    pq.write_table(table.slice(1), path)
    _fails(snap, "metrics_commit:")


def test_dropped_row_with_manifest_hash_updated_is_caught_by_row_count(snap):
    from pipeline.base.hashing import file_sha256

    path = snap / "metrics_commit.parquet"
    pq.write_table(pq.read_table(path).slice(1), path)
    manifest = json.loads((snap / "manifest.json").read_text())
    manifest["tables"]["metrics_commit"]["sha256"] = file_sha256(path)
    manifest["tables"]["metrics_commit"]["bytes"] = path.stat().st_size
    (snap / "manifest.json").write_text(json.dumps(manifest))
    _fails(snap, "metrics_commit: 11 rows, the manifest says 12")


def test_swapped_files_are_detected(snap):
    a, b = snap / "metrics_prfile.parquet", snap / "metrics_commit.parquet"
    tmp = snap.parent / "tmp.parquet"
    shutil.move(a, tmp)
    shutil.move(b, a)
    shutil.move(tmp, b)
    _fails(snap, "metrics_commit: sha256", "metrics_prfile: sha256")


def test_edited_manifest_is_detected(snap):
    manifest = json.loads((snap / "manifest.json").read_text())
    manifest["params"]["seed"] = 2
    (snap / "manifest.json").write_text(json.dumps(manifest))
    _fails(snap, "snapshot_id does not match its contents")


def test_missing_and_extra_files_are_named(snap):
    (snap / "metrics_jiraissue.parquet").unlink()
    (snap / "stray.parquet").write_bytes(b"x")
    _fails(snap, "metrics_jiraissue: file is missing", "stray.parquet: not listed in the manifest")


def test_corrupt_manifest_is_one_clear_error(snap):
    (snap / "manifest.json").write_text("{not json")
    _fails(snap, "manifest is not valid JSON")


def test_verify_cli_exit_codes(snap, capsys):
    assert main(["verify", str(snap)]) == 0
    assert "ok" in capsys.readouterr().out
    path = snap / "teams_team.parquet"
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    assert main(["verify", str(snap)]) == 2
    err = capsys.readouterr().err
    assert "teams_team: sha256" in err
    assert "Traceback" not in err


def test_rewrite_replaces_the_snapshot_atomically(snap):
    before = verify_snapshot(snap).snapshot_id
    write_snapshot(snap, make_snapshot_tables(3), name="demo-seed1", params={"seed": 1})
    after = verify_snapshot(snap)
    assert after.snapshot_id != before
    assert after.tables["teams_team"].rows == 3
    assert sorted(p.name for p in snap.parent.iterdir()) == ["demo-seed1"]


def test_incomplete_snapshot_is_refused_on_write(tmp_path):
    tables = make_snapshot_tables(2)
    del tables["metrics_prreview"]
    with pytest.raises(IntegrityError, match="missing table"):
        write_snapshot(tmp_path / "x", tables, name="x", params={})
    assert not (tmp_path / "x").exists()


def test_manifest_gives_every_file_its_byte_size(snap):
    manifest = json.loads((snap / "manifest.json").read_text())
    for name, entry in manifest["tables"].items():
        assert entry["bytes"] == (snap / f"{name}.parquet").stat().st_size


def test_a_size_edited_in_the_manifest_is_named(snap):
    manifest = json.loads((snap / "manifest.json").read_text())
    manifest["tables"]["metrics_commit"]["bytes"] += 1
    (snap / "manifest.json").write_text(json.dumps(manifest))
    size = (snap / "metrics_commit.parquet").stat().st_size
    _fails(snap, f"metrics_commit: {size} bytes, the manifest says {size + 1}")


def test_rows_changed_under_a_consistently_edited_manifest_only_the_content_check_sees(snap, capsys):
    """The default check trusts the manifest's sha256 and row counts; --content re-hashes the rows."""
    from pipeline.base.hashing import file_sha256
    from pipeline.base.manifest import manifest_digest

    path = snap / "metrics_commit.parquet"
    table = pq.read_table(path)
    changed = table.set_column(table.schema.get_field_index("message"), "message", table.column("message")[::-1])
    pq.write_table(changed, path)
    manifest = json.loads((snap / "manifest.json").read_text())
    manifest["tables"]["metrics_commit"].update(sha256=file_sha256(path), bytes=path.stat().st_size)
    manifest["manifest_sha256"] = manifest_digest(manifest)  # consistently: every digest the manifest records
    (snap / "manifest.json").write_text(json.dumps(manifest))
    assert main(["verify", str(snap)]) == 0
    capsys.readouterr()
    assert main(["verify", "--content", str(snap)]) == 2
    assert "metrics_commit: content hash differs from the manifest" in capsys.readouterr().err
