"""Load stage without a server: URLs, extensions, DDL, and the DuckDB / SQLite targets."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.base.errors import IntegrityError, UserError
from pipeline.base.parquet import conform
from pipeline.base.schemas import APP_LOAD_ORDER, spec
from pipeline.cli import main
from pipeline.runners.load import run_load
from stages.load import ddl as ddl_mod
from stages.load import mask_url, parse_db_url
from stages.load.schema_check import Column, check_table, sqlite_type
from tests.loaddata import LAST_WEEK, build_tables, table, write_test_snapshot

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

TODAY = dt.date(2026, 3, 4)  # a Wednesday; its Monday is 9 weeks after LAST_WEEK
AS_OF = dt.datetime(2026, 3, 4, 12, tzinfo=dt.UTC)  # the load instant: noon that day
SHIFT = dt.timedelta(weeks=9)


# --------------------------------------------------------------------------- helpers


def shifted(tables: dict[str, pa.Table], delta: dt.timedelta, offsets: dict[str, int] | None = None) -> dict[str, list]:
    """The rows the target should hold: dates moved by ``delta``, ids by ``offsets``, JSON parsed."""
    refs_all = ddl_mod.app_ddl()
    out = {}
    for name, t in tables.items():
        s = spec(name)
        refs = refs_all.references(name)
        rows = []
        for row in t.to_pylist():
            for f in s.schema:
                v = row[f.name]
                if v is None:
                    continue
                if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type):
                    row[f.name] = v + delta
                elif f.name in s.json_columns():
                    row[f.name] = json.loads(v)
                elif offsets and f.name == "id":
                    row[f.name] = v + offsets.get(name, 0)
                elif offsets and f.name in refs:
                    row[f.name] = v + offsets.get(refs[f.name], 0)
            rows.append(row)
        out[name] = sorted(rows, key=lambda r: r["id"])
    return out


def dump_duckdb(path: Path, teams: tuple[int, ...] = ()) -> dict[str, list]:
    """Every app table's rows (of ``teams`` only, when given), ordered by id."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for name in APP_LOAD_ORDER:
            key = "id" if name == "teams_team" else "team_id"
            where = f"WHERE {key} IN ({', '.join(map(str, teams))})" if teams else ""
            t = con.execute(f"SELECT * FROM {name} {where} ORDER BY id").to_arrow_table()
            rows = conform(t.cast(spec(name).schema), spec(name)).to_pylist()
            for r in rows:
                for c in spec(name).json_columns():
                    r[c] = json.loads(r[c]) if r[c] is not None else None
            out[name] = rows
        return out
    finally:
        con.close()


def dump_sqlite(path: Path) -> dict[str, list]:
    con = sqlite3.connect(path)
    try:
        return {n: con.execute(f"SELECT * FROM {n} ORDER BY id").fetchall() for n in APP_LOAD_ORDER}
    finally:
        con.close()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_snapshot(tmp_path_factory.mktemp("snap") / "two-teams")


@pytest.fixture(scope="module")
def other_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Same shape, other team slugs (gamma, delta) and tokens: a second team set for one database."""
    return write_test_snapshot(
        tmp_path_factory.mktemp("snap") / "other", build_tables(("gamma", "delta")), name="other"
    )


def bad_snapshot(directory: Path) -> Path:
    """The dataset with a duplicate (team, member, week) in the last table: fails mid-load."""
    tables = build_tables()
    weekly = tables["metrics_weeklymetrics"].to_pylist()
    weekly[1].update(member_id=weekly[0]["member_id"], team_id=weekly[0]["team_id"], week_start=weekly[0]["week_start"])
    tables["metrics_weeklymetrics"] = pa.Table.from_pylist(weekly, schema=spec("metrics_weeklymetrics").schema)
    return write_test_snapshot(directory, tables, name="bad")


# --------------------------------------------------------------------------- URLs and extensions


def test_urls_parse_and_passwords_are_masked(data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(data_root)
    (data_root / "rel").mkdir()
    t = parse_db_url("postgresql://app:s3cr%40t@db.example:6543/appdb?schema=demo&sslmode=require")
    assert (t.kind, t.host, t.port, t.database, t.user, t.password, t.schema) == (
        "postgres",
        "db.example",
        6543,
        "appdb",
        "app",
        "s3cr@t",
        "demo",
    )
    assert t.display == "postgresql://app:***@db.example:6543/appdb?schema=demo&sslmode=require"
    assert "schema" not in t.dsn and "connect_timeout=10" in t.dsn and "sslmode=require" in t.dsn
    assert parse_db_url("postgres://u@h/db", schema="s2").schema_name == "s2"
    assert parse_db_url("postgres://u@h/db").schema_name == "public"
    assert parse_db_url("sqlite:///rel/demo.db").path == Path("rel/demo.db")
    assert parse_db_url(f"sqlite:///{data_root}/demo.db").path == data_root / "demo.db"
    default = parse_db_url(None, default_db=data_root / "app.duckdb")
    assert (default.kind, default.path) == ("duckdb", data_root / "app.duckdb")
    with pytest.raises(UserError, match="no DB URL given"):
        parse_db_url(None)
    assert mask_url("postgresql://u:pw@h:1/d?password=pw2") == "postgresql://u:***@h:1/d?password=***"
    for bad, needle in [
        ("mysql://u:pw@h/db", "scheme 'mysql'"),
        ("localhost:5432/db", "no scheme"),
        ("postgresql://u:pw@h:5432/", "no database name"),
        ("postgresql://u:pw@h:notaport/db", "bad DB_URL"),
        ("sqlite://", "file URL"),
        ("postgres://u@h/db?schema=a", "contradicts"),
    ]:
        with pytest.raises(UserError, match=needle) as info:
            parse_db_url(bad, schema="b" if "schema=a" in bad else None)
        assert "pw" not in str(info.value)
    with pytest.raises(UserError, match="bad schema name"):
        parse_db_url("postgres://u@h/db", schema="x; drop table")


# --------------------------------------------------------------------------- DDL


def test_generated_ddl_fits_the_app_schema_in_every_dialect() -> None:
    tables = list(APP_LOAD_ORDER)
    pg = ddl_mod.postgres_tables(tables, "app") + ddl_mod.postgres_post(tables, "app")
    vendored = ddl_mod.app_ddl()
    assert len(pg) == len(vendored.creates) + len(vendored.indexes) + len(vendored.foreign_keys) == 13 + 78 + 28
    assert all('"app".' in s for s in pg)
    con = duckdb.connect()
    for stmt in ddl_mod.file_tables(tables, "duckdb") + ddl_mod.file_indexes(tables, "duckdb"):
        con.execute(stmt)
    from stages.load.schema_check import duckdb_type

    for name in tables:
        cols = [
            Column(n, duckdb_type(t), t, nullable == "YES", d is not None)
            for n, t, nullable, d in con.execute(
                "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
                f"WHERE table_name = '{name}' ORDER BY ordinal_position"
            ).fetchall()
        ]
        assert [c.name for c in cols] == list(spec(name).column_names)
        assert check_table(spec(name), cols) == []
        nullable = {c.name for c in cols if c.nullable}
        assert nullable == {f.name for f in spec(name).schema if f.nullable}
    sq = sqlite3.connect(":memory:")
    for stmt in ddl_mod.file_tables(tables, "sqlite") + ddl_mod.file_indexes(tables, "sqlite"):
        sq.execute(stmt)
    for name in tables:
        info = sq.execute(f"PRAGMA table_info({name})").fetchall()
        cols = [Column(n, sqlite_type(t), t, not nn, d is not None or pk == 1) for _c, n, t, nn, d, pk in info]
        assert [c.name for c in cols] == list(spec(name).column_names)
        assert check_table(spec(name), cols) == []
    fks = sq.execute("PRAGMA foreign_key_list(metrics_prsurveyreview)").fetchall()
    assert {(r[2], r[3]) for r in fks} == {
        ("teams_team", "team_id"),
        ("metrics_prsurvey", "survey_id"),
        ("metrics_teammember", "reviewer_id"),
    }
    partial = sq.execute("SELECT sql FROM sqlite_master WHERE name = 'unique_team_github_id'").fetchone()[0]
    assert "WHERE \"github_id\" > ''" in partial


def test_schema_check_names_missing_and_mismatched_columns() -> None:
    s = spec("metrics_prfile")
    cols = [Column(f.name, ("int64",) if f.name != "filename" else ("str", 100), "x", True, False) for f in s.schema]
    cols = [c for c in cols if c.name != "file_category"] + [Column("legacy", ("int32",), "integer", False, False)]
    problems = check_table(s, cols)
    assert "metrics_prfile: missing column(s) file_category" in problems
    assert "metrics_prfile.filename: is x, expected varchar(500)" in problems
    assert "metrics_prfile.status: is x, expected varchar(20)" in problems
    assert any("legacy: extra NOT NULL column without a default" in p for p in problems)


# --------------------------------------------------------------------------- DuckDB target


def test_duckdb_load_content_rebase_clear_and_second_team_set(
    tmp_path: Path, snapshot: Path, other_snapshot: Path
) -> None:
    db = tmp_path / "app.duckdb"
    url = f"duckdb:///{db}"
    report = run_load(snapshot, url, as_of=AS_OF)
    assert report.ok and report.rows == 87 and report.rebase_weeks == 9 and report.team_ids == [1, 2]
    expected = shifted(build_tables(), SHIFT)
    first = dump_duckdb(db)
    assert first == expected
    assert {r["week_start"].weekday() for r in first["metrics_weeklymetrics"]} == {0}
    assert max(r["week_start"] for r in first["metrics_weeklymetrics"]) == dt.date(2026, 3, 2)

    with pytest.raises(UserError, match=r"team slug\(s\) alpha, beta already exist.*--clear"):
        run_load(snapshot, url, as_of=AS_OF)
    again = run_load(snapshot, url, as_of=AS_OF, clear=True)
    assert (
        again.ok
        and again.cleared_team_ids == [1, 2]
        and all(t.id_offset == 0 for t in again.tables if t.name != "teams_team")
    )
    assert dump_duckdb(db) == first

    other = run_load(other_snapshot, url, rebase_dates=False)
    assert other.ok and other.team_ids == [3, 4]
    offsets = {t.name: t.id_offset for t in other.tables}
    assert offsets["metrics_pullrequest"] == 8 and offsets["metrics_teammember"] == 6
    assert dump_duckdb(db, (3, 4)) == shifted(build_tables(("gamma", "delta")), dt.timedelta(0), offsets)
    assert dump_duckdb(db, (1, 2)) == first
    con = duckdb.connect(str(db))
    new_id = con.execute(
        "INSERT INTO metrics_teammember (created_at, updated_at, team_id, email, display_name, github_username, github_id, "
        "jira_account_id, slack_user_id, role, is_active) VALUES (now(), now(), 3, '', 'New', 'new', '', '', '', "
        "'developer', true) RETURNING id"
    ).fetchone()[0]
    con.close()
    assert new_id == 13


def test_duckdb_failure_mid_load_leaves_the_database_as_before(tmp_path: Path, snapshot: Path) -> None:
    db = tmp_path / "app.duckdb"
    run_load(snapshot, f"duckdb:///{db}", as_of=AS_OF)
    before = dump_duckdb(db)
    bad = bad_snapshot(tmp_path / "bad")
    with pytest.raises(UserError, match=r"failed and was rolled back.*(?i:constraint)"):
        run_load(bad, f"duckdb:///{db}", as_of=AS_OF, clear=True)
    assert dump_duckdb(db) == before
    fresh = tmp_path / "fresh.duckdb"
    with pytest.raises(UserError, match="rolled back"):
        run_load(bad, f"duckdb:///{fresh}", as_of=AS_OF)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.duckdb", "bad"]  # the file the load created is gone


def test_tampered_snapshot_is_refused_before_anything_is_opened(tmp_path: Path, snapshot: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(snapshot, copy)
    t = pq.read_table(copy / "metrics_prfile.parquet")
    t = t.set_column(t.schema.get_field_index("additions"), "additions", pa.array([9] * t.num_rows, pa.int32()))
    pq.write_table(t, copy / "metrics_prfile.parquet")
    db = tmp_path / "never.duckdb"
    with pytest.raises(IntegrityError, match="metrics_prfile"):
        run_load(copy, f"duckdb:///{db}")
    assert not db.exists()
    (copy / "metrics_prfile.parquet").unlink()
    with pytest.raises(IntegrityError, match="metrics_prfile: file is missing"):
        run_load(copy, f"sqlite:///{tmp_path / 'never.db'}")
    assert not (tmp_path / "never.db").exists()


# --------------------------------------------------------------------------- SQLite target


def test_sqlite_load_clear_failure_and_app_insert(tmp_path: Path, snapshot: Path, other_snapshot: Path) -> None:
    db = tmp_path / "app.db"
    url = f"sqlite:///{db}"
    report = run_load(snapshot, url, as_of=AS_OF)
    assert report.ok and report.rows == 87
    first = dump_sqlite(db)
    con = sqlite3.connect(db)
    merged, cycle, labels, draft = con.execute(
        "SELECT merged_at, cycle_time_hours, labels, is_draft FROM metrics_pullrequest WHERE id = 1"
    ).fetchone()
    pr1 = build_tables()["metrics_pullrequest"].to_pylist()[0]
    assert merged == (pr1["merged_at"] + SHIFT).strftime("%Y-%m-%d %H:%M:%S.%f")
    assert cycle == float(pr1["cycle_time_hours"]) and json.loads(labels) == json.loads(pr1["labels"])
    assert draft == int(pr1["is_draft"])
    assert con.execute("SELECT max(week_start) FROM metrics_weeklymetrics").fetchone()[0] == "2026-03-02"
    con.close()

    assert run_load(snapshot, url, as_of=AS_OF, clear=True).ok
    assert dump_sqlite(db) == first
    with pytest.raises(UserError, match="rolled back"):
        run_load(bad_snapshot(tmp_path / "bad"), url, as_of=AS_OF, clear=True)
    assert dump_sqlite(db) == first

    other = run_load(other_snapshot, url, as_of=AS_OF)
    assert other.ok and other.team_ids == [3, 4]
    con = sqlite3.connect(db)
    con.execute("PRAGMA foreign_keys = ON")
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    cur = con.execute(
        "INSERT INTO metrics_pullrequest (created_at, updated_at, team_id, github_pr_id, github_repo, title, body, state, "
        "additions, deletions, is_revert, is_hotfix, is_draft, labels, milestone_title, assignees, linked_issues, "
        "ai_tools_detected, ai_detection_version, llm_summary_version, has_ai_commits, has_ai_review, has_ai_files, "
        "ai_signals, jira_key, synced_at) VALUES ('2026-01-01 00:00:00', '2026-01-01 00:00:00', 3, 1, 'a/b', 't', '', "
        "'open', 0, 0, 0, 0, 0, '[]', '', '[]', '[]', '[]', '', '', 0, 0, 0, '{}', '', '2026-01-01 00:00:00')"
    )
    assert cur.lastrowid == 17
    con.close()


# --------------------------------------------------------------------------- CLI


def test_cli_loads_latest_into_the_default_duckdb_and_reports(
    data_root: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_test_snapshot(data_root / "snapshots" / "two-teams")
    assert main(["load", "--latest", "--today", "2026-03-04"]) == 0
    out = capsys.readouterr().out
    assert "metrics_pullrequest" in out and "total" in out and "shifted by +9 week(s)" in out
    assert (data_root / "app.duckdb").is_file()
    assert main(["load", "--latest", "--no-rebase-dates"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exist" in err
    assert main(["load", "--latest", "--clear", "--no-rebase-dates"]) == 0
    assert "dates kept exactly" in capsys.readouterr().out
    monkeypatch.setenv("DEMOSEED_DB_URL", f"sqlite:///{data_root / 'from-env.db'}")
    assert main(["load", "--latest"]) == 0
    assert "into sqlite:///" in capsys.readouterr().out and (data_root / "from-env.db").is_file()


def test_cli_connection_errors_are_one_line_without_the_password(
    data_root: Path, capsys: pytest.CaptureFixture
) -> None:
    write_test_snapshot(data_root / "snapshots" / "two-teams")
    for url, needle in [
        ("postgresql://app:hunter2@127.0.0.1:1/app", "cannot reach PostgreSQL at 127.0.0.1:1"),
        ("oracle://app:hunter2@h/x", "bad DB_URL 'oracle://app:***@h/x'"),
    ]:
        assert main(["load", "--latest", "--db-url", url]) == 2
        err = capsys.readouterr().err
        assert needle in err and "hunter2" not in err and err.count("\n") == 1, err


def test_include_rejects_non_app_tables(snapshot: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="only the app tables"):
        run_load(snapshot, f"duckdb:///{tmp_path / 'x.duckdb'}", include=("demoseed_provenance",))
    assert table("teams_team", 1).num_rows == 1 and LAST_WEEK.weekday() == 0


def test_a_read_back_difference_rolls_back_and_exits_1(
    data_root: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read-back runs before COMMIT: a target that returns other values keeps nothing of the load."""
    from stages.load.backend import Backend, aggregate_kinds

    original = Backend.aggregates
    position = [c for c, _k in aggregate_kinds(spec("metrics_prfile"))].index("additions")

    def corrupted(self: Backend, s, team_ids):
        got = list(original(self, s, team_ids))
        if s.name == "metrics_prfile":
            got[position] = str(int(got[position]) + 1)
        return tuple(got)

    write_test_snapshot(data_root / "snapshots" / "two-teams")
    db = data_root / "app.duckdb"
    monkeypatch.setattr(Backend, "aggregates", corrupted)
    assert main(["load", "--latest", "--as-of", "2026-03-04"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"error: read-back from duckdb:///{db} differs from the snapshot (metrics_prfile: read-back differs in "
        "additions): rolled back, nothing written; a trigger, rule or column default in the database changes the "
        "rows as they go in (drop or disable it for the load)\n"
    )
    assert not db.exists() and not Path(f"{db}.wal").exists()  # the database file this load created is removed
    monkeypatch.setattr(Backend, "aggregates", original)
    assert main(["load", "--latest", "--as-of", "2026-03-04"]) == 0
    before = dump_duckdb(db)
    monkeypatch.setattr(Backend, "aggregates", corrupted)
    assert main(["load", "--latest", "--as-of", "2026-03-04", "--clear"]) == 1
    assert dump_duckdb(db) == before  # an existing file stays, as it was


# --------------------------------------------------------------------------- untrusted snapshots (issue 12.9)


@pytest.mark.parametrize("slug", ["x'); DROP TABLE teams_team; --", "a b", "ünïcode", "", "new\nline", 'quo"te'])
def test_a_verified_snapshot_with_a_bad_slug_is_refused_before_anything_is_opened(slug: str, tmp_path: Path) -> None:
    tables = build_tables()
    teams = tables["teams_team"].to_pylist()
    teams[0]["slug"] = slug
    tables["teams_team"] = pa.Table.from_pylist(teams, schema=spec("teams_team").schema)
    snap = write_test_snapshot(tmp_path / "evil", tables, name="evil")  # it verifies: integrity, not safety
    db = tmp_path / "never.duckdb"
    with pytest.raises(UserError, match="is not a slug"):
        run_load(snap, f"duckdb:///{db}", as_of=AS_OF)
    assert not db.exists()


def test_a_snapshot_naming_a_slug_twice_is_refused(tmp_path: Path) -> None:
    tables = build_tables(("same", "same"))
    snap = write_test_snapshot(tmp_path / "twice", tables, name="twice")
    with pytest.raises(UserError, match="'same' more than once"):
        run_load(snap, f"duckdb:///{tmp_path / 'x.duckdb'}", as_of=AS_OF)


@pytest.mark.parametrize("schema", ["information_schema", "pg_catalog", "pg_toast", "PG_temp_3", "Information_Schema"])
def test_system_schemas_are_refused(schema: str) -> None:
    with pytest.raises(UserError, match="belongs to the database system"):
        parse_db_url("postgresql://u@h/db", schema=schema)
    with pytest.raises(UserError, match="belongs to the database system"):
        parse_db_url(f"postgresql://u@h/db?schema={schema}")
    assert parse_db_url("postgresql://u@h/db", schema="pgdemo").schema == "pgdemo"


# --------------------------------------------------------------------------- file URLs and the environment (issue 12.10)


def _cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env}
    full.pop("DEMOSEED_DB_URL", None) if "DEMOSEED_DB_URL" not in env else None
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        cwd=cwd,
        env={**full, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        capture_output=True,
        text=True,
        check=False,
    )


def test_three_slashes_to_a_missing_directory_is_refused_with_the_four_slash_form(tmp_path: Path) -> None:
    """``duckdb:///tmp/x.duckdb`` typed for /tmp used to create ./tmp/x.duckdb in the current directory."""
    work = tmp_path / "repo"
    work.mkdir()
    snap = write_test_snapshot(tmp_path / "snap")
    proc = _cli(["load", str(snap), "--db-url", "duckdb:///tmp/x.duckdb"], work, {"DEMOSEED_DATA": str(tmp_path / "d")})
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "write duckdb:////tmp/x.duckdb (four slashes)" in proc.stderr and "relative to" in proc.stderr
    assert list(work.iterdir()) == []
    proc = _cli(["load", str(snap), "--db-url", f"sqlite:///{tmp_path}/no/such/dir/x.db"], work, {})
    assert proc.returncode == 2 and "directory" in proc.stderr and "does not exist" in proc.stderr
    assert not (tmp_path / "no").exists()
    (work / "rel").mkdir()
    proc = _cli(["load", str(snap), "--db-url", "sqlite:///rel/x.db", "--as-of", "2026-03-04"], work, {})
    assert proc.returncode == 0, proc.stderr
    assert (work / "rel" / "x.db").is_file() and f"(= {work / 'rel' / 'x.db'})" in proc.stdout


def test_the_db_url_comes_from_demoseed_db_url_not_a_generic_db_url(tmp_path: Path) -> None:
    snap = write_test_snapshot(tmp_path / "snap")
    data = tmp_path / "data"
    env = {"DEMOSEED_DATA": str(data), "DEMOSEED_DB_URL": f"sqlite:///{tmp_path / 'env.db'}"}
    proc = _cli(["load", str(snap), "--as-of", "2026-03-04"], tmp_path, env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "env.db").is_file() and not (data / "app.duckdb").exists()
    proc = _cli(
        ["load", str(snap), "--as-of", "2026-03-04"],
        tmp_path,
        {"DEMOSEED_DATA": str(data), "DB_URL": f"sqlite:///{tmp_path / 'generic.db'}"},
    )
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "generic.db").exists() and (data / "app.duckdb").is_file()


def test_a_thousand_teams_summarise_in_short_lines(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from pipeline.base.manifest import write_snapshot
    from stages.aggregate import aggregate
    from stages.generate import GenerateConfig, generate

    result = generate(
        GenerateConfig(scenario=None, teams=1000, members=2, prs=1, real_share=0, anchor=dt.date(2026, 1, 5))
    )
    tables = dict(result.tables)
    tables.update(aggregate(tables, week_starts=list(result.info.week_starts)))
    snap = tmp_path / "many"
    write_snapshot(snap, tables, name="many", params={"generate": result.info.as_json()}, inputs={})
    db = tmp_path / "many.duckdb"
    assert main(["load", str(snap), "--db-url", f"duckdb:///{db}", "--as-of", "2026-03-04"]) == 0
    out = capsys.readouterr().out
    assert "1,000 teams (demo-team, demo-team-2, demo-team-3, ..., demo-team-1000; ids 1..1000)" in out
    assert max(len(line) for line in out.splitlines()) < 400  # the longest: held back per table (13 at most)
    assert main(["load", str(snap), "--db-url", f"duckdb:///{db}", "--as-of", "2026-03-04"]) == 2
    err = capsys.readouterr().err
    assert len(err) < 300 and "(1,000 in all)" in err
