"""Snapshots in partitions of teams (issue 14): the same rows as one run, the same bytes for any
number of workers (local processes or a Dask cluster), every part verified, packed and described."""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.base.errors import IntegrityError
from pipeline.base.manifest import read_manifest, read_snapshot_tables, table_files, verify_snapshot
from pipeline.base.parquet import write_table
from pipeline.base.schemas import spec
from pipeline.cli import main
from tests.test_generate_blend import gh_tables

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

BASE = ["snapshot", "--scenario", "review-bottleneck", "--teams", "5", "--seed", "42"]


def snap(data_root: Path, name: str, *args: str) -> Path:
    out = data_root / "snapshots" / name
    assert main([*BASE, "--no-github", "-o", str(out), *args]) == 0
    return out


def same_files(a: Path, b: Path) -> bool:
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*"))
    if names != sorted(p.relative_to(b).as_posix() for p in b.rglob("*")):
        return False
    return all(filecmp.cmp(a / n, b / n, shallow=False) for n in names if (a / n).is_file())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("partitioned")
    mp = pytest.MonkeyPatch()
    mp.setenv("DEMOSEED_DATA", str(root))
    try:
        return {
            "whole": snap(root, "whole"),  # 5 teams fit the default partition: one file per table
            "p2": snap(root, "p2", "--partition-teams", "2"),
            "p2w2": snap(root, "p2w2", "--partition-teams", "2", "--workers", "2"),
            "p2w4": snap(root, "p2w4", "--partition-teams", "2", "--workers", "4"),
            "p3": snap(root, "p3", "--partition-teams", "3"),
        }
    finally:
        mp.undo()


def test_small_runs_keep_one_file_per_table(runs: dict[str, Path]) -> None:
    doc = json.loads((runs["whole"] / "manifest.json").read_text())
    assert doc["format_version"] == 1
    assert all("parts" not in e and e["file"].endswith(".parquet") for e in doc["tables"].values())
    assert "partition_teams" not in doc["params"]["request"]


def test_partitions_hold_the_rows_of_one_run(runs: dict[str, Path]) -> None:
    whole = read_snapshot_tables(runs["whole"])
    m = read_manifest(runs["p2"])
    assert m.document["format_version"] == 2
    assert m.params["request"]["partition_teams"] == 2
    assert m.generate == read_manifest(runs["whole"]).generate  # teams, row counts, real share, warm-up
    for name in ("p2", "p3"):
        parted = read_snapshot_tables(runs[name])
        assert parted.keys() == whole.keys()
        for table, rows in whole.items():
            assert parted[table].equals(rows), f"{name}: {table}"
    prs = m.tables["metrics_pullrequest"]
    assert [p.file for p in prs.parts] == [f"metrics_pullrequest/part-0000{i}.parquet" for i in range(3)]
    team_ids = [
        sorted(set(pq.read_table(f, columns=["team_id"]).column(0).to_pylist())) for f in table_files(runs["p2"], prs)
    ]
    assert team_ids == [[1, 2], [3, 4], [5]]
    weekly = pq.read_table(table_files(runs["p2"], m.tables["metrics_weeklymetrics"])[1])
    assert weekly.column("id").to_pylist()[0] == 2 * 5 * 8 + 1  # after teams 1-2's member-weeks


def test_same_bytes_whatever_the_workers(runs: dict[str, Path]) -> None:
    ids = {n: read_manifest(runs[n]).snapshot_id for n in ("p2", "p2w2", "p2w4")}
    assert len(set(ids.values())) == 1, ids
    assert same_files(runs["p2"], runs["p2w2"])
    assert same_files(runs["p2"], runs["p2w4"])
    # the partition size is part of the request: other parts, another id, the same rows (above)
    assert read_manifest(runs["p3"]).snapshot_id != ids["p2"]


def test_blended_partitions_match_one_run(data_root: Path) -> None:
    real = data_root / "real"
    for name, table in gh_tables().items():
        write_table(table, spec(name), real / f"{name}.parquet")
    args = ["--real-data", str(real)]
    whole = data_root / "snapshots" / "whole"
    parted = data_root / "snapshots" / "parted"
    assert main([*BASE, "-o", str(whole), *args]) == 0
    assert main([*BASE, "-o", str(parted), "--partition-teams", "2", *args]) == 0
    gen = read_manifest(parted).generate
    assert gen == read_manifest(whole).generate and 0.2 <= gen["real_share"] <= 0.3
    a, b = read_snapshot_tables(whole), read_snapshot_tables(parted)
    assert all(b[t].equals(a[t]) for t in a)


def copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_verify_checks_every_part(runs: dict[str, Path], tmp_path: Path) -> None:
    verify_snapshot(runs["p2"])
    bad = copy(runs["p2"], tmp_path / "bad")
    part = bad / "metrics_commit" / "part-00001.parquet"
    part.write_bytes(part.read_bytes()[:-9] + b"XXXXXXXXX")
    with pytest.raises(IntegrityError, match=r"metrics_commit: metrics_commit/part-00001.parquet: sha256"):
        verify_snapshot(bad)

    gone = copy(runs["p2"], tmp_path / "gone")
    (gone / "metrics_prfile" / "part-00002.parquet").unlink()
    with pytest.raises(IntegrityError, match=r"metrics_prfile/part-00002.parquet: file is missing"):
        verify_snapshot(gone)

    extra = copy(runs["p2"], tmp_path / "extra")
    shutil.copy(extra / "teams_team" / "part-00000.parquet", extra / "teams_team" / "part-00003.parquet")
    with pytest.raises(IntegrityError, match=r"teams_team/part-00003.parquet: not listed in the manifest"):
        verify_snapshot(extra)

    edited = copy(runs["p2"], tmp_path / "edited")
    doc = json.loads((edited / "manifest.json").read_text())
    doc["tables"]["metrics_pullrequest"]["parts"][0]["rows"] += 1
    (edited / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(IntegrityError, match=r"metrics_pullrequest: rows of the table does not match its parts"):
        verify_snapshot(edited)


def test_pack_and_unpack_round_trip_parts(runs: dict[str, Path], tmp_path: Path) -> None:
    import tarfile

    from pipeline.archive import pack, unpack

    one = pack(runs["p2"], tmp_path / "one.tar.gz")
    two = pack(runs["p2"], tmp_path / "two.tar.gz")
    assert one.read_bytes() == two.read_bytes()  # deterministic
    with tarfile.open(one) as tar:
        names = tar.getnames()
    assert "p2/metrics_pullrequest" in names and "p2/metrics_pullrequest/part-00002.parquet" in names
    out = unpack(one, tmp_path / "dest")
    assert out == tmp_path / "dest" / "p2" and same_files(out, runs["p2"])
    assert verify_snapshot(out).snapshot_id == read_manifest(runs["p2"]).snapshot_id


def test_unpack_refuses_a_part_the_manifest_does_not_list(runs: dict[str, Path], tmp_path: Path) -> None:
    import io
    import tarfile

    from pipeline.archive import pack, unpack
    from pipeline.base.errors import UserError

    good = pack(runs["p2"], tmp_path / "good.tar.gz")
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(good) as src, tarfile.open(bad, "w:gz") as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        extra = tarfile.TarInfo("p2/teams_team/part-00009.parquet")
        extra.size = 3
        dst.addfile(extra, io.BytesIO(b"abc"))
    with pytest.raises(UserError, match=r"part-00009.parquet' is not listed in the snapshot's manifest"):
        unpack(bad, tmp_path / "dest")
    assert not (tmp_path / "dest" / "p2").exists()


def test_describe_reads_parts(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["describe", str(runs["p2"])]) == 0
    parted = capsys.readouterr().out
    assert main(["describe", str(runs["whole"])]) == 0
    assert parted == capsys.readouterr().out.replace(str(runs["whole"]), str(runs["p2"]))
    assert "Bottleneck Team 5" in parted


def test_report_draws_a_snapshot_in_parts(runs: dict[str, Path], tmp_path: Path) -> None:
    from tests.test_report import specs_in

    pages = {}
    for name in ("whole", "p2"):
        out = tmp_path / f"{name}.html"
        assert main(["report", str(runs[name]), "-o", str(out), "--team", "bottleneck-team-4"]) == 0
        pages[name] = specs_in(out.read_text("utf-8"))
    assert pages["p2"] == pages["whole"] and pages["p2"]


def test_aggregate_reads_a_snapshot_in_parts(runs: dict[str, Path], tmp_path: Path) -> None:
    assert main(["aggregate", "--input", str(runs["p2"]), "--output", str(tmp_path / "w")]) == 0
    weekly = pq.read_table(tmp_path / "w" / "metrics_weeklymetrics.parquet")
    assert weekly.equals(read_snapshot_tables(runs["whole"], ["metrics_weeklymetrics"])["metrics_weeklymetrics"])


def test_duckdb_load_of_parts_equals_the_load_of_one_file_per_table(runs: dict[str, Path], tmp_path: Path) -> None:
    from pipeline.runners.load import run_load
    from tests.test_load import AS_OF, dump_duckdb

    loaded = {}
    for name in ("whole", "p2"):
        db = tmp_path / f"{name}.duckdb"
        report = run_load(runs[name], f"duckdb:///{db}", as_of=AS_OF)
        assert report.ok
        loaded[name] = dump_duckdb(db)
    assert loaded["p2"] == loaded["whole"]
    assert len(loaded["p2"]["metrics_pullrequest"]) > 1000  # cut at the load instant, as the whole snapshot is


@pytest.mark.postgres
def test_postgres_load_of_parts_is_one_transaction_like_one_file(runs: dict[str, Path], pg_database: str) -> None:
    from pipeline.runners.load import run_load
    from tests.test_load import AS_OF
    from tests.test_load_postgres import dump

    url = pg_database
    assert run_load(runs["whole"], url, as_of=AS_OF).ok
    whole = dump(pg_database)
    assert run_load(runs["p2"], url, as_of=AS_OF, clear=True).ok
    assert dump(pg_database) == whole
    broken = runs["p2"].parent / "p2-broken"
    shutil.copytree(runs["p2"], broken)
    part = broken / "metrics_prfile" / "part-00002.parquet"
    part.write_bytes(part.read_bytes()[:-20] + bytes(20))
    with pytest.raises(IntegrityError):
        run_load(broken, url, as_of=AS_OF, clear=True)
    assert dump(pg_database) == whole
    shutil.rmtree(broken)


@pytest.mark.slow
def test_dask_local_cluster_writes_the_same_bytes(runs: dict[str, Path], data_root: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        out = snap(data_root, "dask", "--partition-teams", "2", "--dask", cluster.scheduler_address)
    assert read_manifest(out).snapshot_id == read_manifest(runs["p2"]).snapshot_id
    assert same_files(out, runs["p2"])


def test_options_are_checked_before_any_work(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--no-github", "--workers", "2", "--dask", "tcp://127.0.0.1:1"]) == 2
    assert "either --workers" in capsys.readouterr().err
    assert main([*BASE, "--no-github", "--partition-teams", "0"]) == 2
    assert not (data_root / "snapshots").exists() or not any((data_root / "snapshots").iterdir())


def test_unreachable_dask_scheduler_is_one_line(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*BASE, "--no-github", "--partition-teams", "2", "--dask", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot reach the Dask scheduler" in err, err


def test_pa_tables_in_parts_read_by_duckdb_and_polars(runs: dict[str, Path]) -> None:
    import duckdb
    import polars as pl

    d = runs["p2"] / "metrics_pullrequest"
    n = read_manifest(runs["p2"]).tables["metrics_pullrequest"].rows
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{d}/*.parquet')").fetchone() == (n,)
    assert pl.scan_parquet(f"{d}/*.parquet").select(pl.len()).collect().item() == n
    assert pq.read_table(d).num_rows == n
    assert isinstance(pq.read_table(d), pa.Table)


def test_a_worker_that_dies_is_one_user_error() -> None:
    import os

    from pipeline.base.errors import UserError
    from pipeline.runners.executors import open_executor

    with pytest.raises(UserError, match=r"a worker process died"), open_executor(2) as pool:
        pool.submit(os._exit, 9).result()


@pytest.mark.parametrize(
    "config",
    [
        {"scenario": None, "members": 4, "prs": 30, "teams": 7, "seed": 3},  # exact PR counts: quota rounding
        {"scenario": "detective-game", "teams": 6, "seed": 9},
    ],
)
def test_a_slice_of_teams_is_those_teams_rows_of_the_whole_run(config: dict) -> None:
    from pipeline.paths import DEFAULT_ANCHOR
    from stages.generate import GenerateConfig, generate, generate_slice, resolve, run_info
    from stages.generate.synthetic.tables import TeamSlice, count_slice_prs

    cfg = GenerateConfig(anchor=DEFAULT_ANCHOR, **config)
    whole = generate(cfg)
    p = resolve(cfg)
    parts, facts, offset = [], None, 0
    for first, last in ((0, 1), (1, 4), (4, p.teams)):
        tables, f = generate_slice(p, None, TeamSlice(first, last - first, offset))
        assert count_slice_prs(p, range(first, last)) == f.prs
        offset += f.prs
        parts.append(tables)
        facts = f if facts is None else facts.plus(f)
    for name, table in whole.tables.items():
        assert pa.concat_tables([t[name] for t in parts]).equals(table), name
    assert facts is not None
    counts = {n: sum(t[n].num_rows for t in parts) for n in whole.tables}
    assert run_info(cfg, p, facts, counts).as_json() == whole.info.as_json()


def test_parts_carry_their_byte_size_and_unpack_stops_a_larger_part(runs: dict[str, Path], tmp_path: Path) -> None:
    import io
    import tarfile

    from pipeline.archive import pack, unpack
    from pipeline.base.errors import UserError

    entry = read_manifest(runs["p2"]).tables["metrics_commit"]
    assert entry.parts and all(p.bytes == (runs["p2"] / p.file).stat().st_size for p in entry.parts)
    good = pack(runs["p2"], tmp_path / "good.tar")
    bad = tmp_path / "bad.tar"
    part = "p2/metrics_commit/part-00001.parquet"
    with tarfile.open(good) as src, tarfile.open(bad, "w") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isfile() else None  # type: ignore[union-attr]
            if m.name == part and data is not None:
                data += bytes(1 << 20)
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data) if data is not None else None)
    with pytest.raises(UserError, match=r"part-00001.parquet' is \d+ bytes, its manifest says \d+"):
        unpack(bad, tmp_path / "dest")
    assert not (tmp_path / "dest" / "p2").exists()
