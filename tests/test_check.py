"""``demoseed check`` runs the whole load in its transaction and rolls it back: exit 0 exactly when ``load`` with
the same arguments succeeds, with load's own one-line refusal otherwise, and the database as it was (no file it
would create is left behind). ``--plan-only`` runs only the plan (schema and data fit), writing no rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import psycopg
import pytest

from pipeline.base.schemas import APP_LOAD_ORDER
from pipeline.cli import main
from pipeline.runners.load import run_load
from stages.load import ddl as ddl_mod
from stages.load.ddl import APP_SCHEMA_SQL
from tests.loaddata import write_test_snapshot
from tests.test_load import AS_OF
from tests.test_load_refusals import _state, changed, one_line_error

WHEN = "2026-03-04T12:00"


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_snapshot(tmp_path_factory.mktemp("checksnap") / "two-teams")


def check_json(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, dict]:
    code = main(["check", *args, "--as-of", WHEN, "--json"])
    return code, json.loads(capsys.readouterr().out)


def load_refusal(capsys: pytest.CaptureFixture, *args: str) -> str:
    assert main(["load", *args, "--as-of", WHEN]) != 0
    return one_line_error(capsys)


def pg_app(dsn: str, first: Path | None, setup: str = "") -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(APP_SCHEMA_SQL.read_text())
    if first is not None:
        assert run_load(first, dsn, as_of=AS_OF).ok
    if setup:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(setup)


def refused_alike(capsys: pytest.CaptureFixture, dsn: str, snap: Path) -> str:
    """check refuses with exit 2 and load's own line; the database (rows, next ids, schema) is as it was."""
    before = _state(dsn)
    code, doc = check_json(capsys, str(snap), "--db-url", dsn)
    assert code == 2 and doc["ok"] is False
    assert _state(dsn) == before
    assert doc["refusal"] == load_refusal(capsys, str(snap), "--db-url", dsn)
    assert _state(dsn) == before
    return str(doc["refusal"])


@pytest.mark.postgres
def test_check_finds_a_check_constraint_the_rows_break(
    pg_database: str, snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pg_app(pg_database, snapshot, "ALTER TABLE metrics_commit ADD CONSTRAINT small_commits CHECK (additions < 1000)")
    snap = changed(tmp_path, "metrics_commit", "additions", {5: 5000})
    assert refused_alike(capsys, pg_database, snap).startswith(
        'metrics_commit: snapshot row id 5 has additions = 5000, which breaks CHECK constraint "small_commits"'
    )
    assert main(["check", str(snap), "--db-url", pg_database, "--as-of", WHEN, "--plan-only"]) == 0  # rows unread


@pytest.mark.postgres
def test_check_finds_a_unique_constraint_the_rows_break(
    pg_database: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pg_app(pg_database, None, "ALTER TABLE metrics_prfile ADD CONSTRAINT one_file_per_team UNIQUE (team_id, filename)")
    snap = changed(tmp_path, "metrics_prfile", "filename", {3: "src/same.py", 4: "src/same.py"})
    assert 'which UNIQUE constraint "one_file_per_team" allows once' in refused_alike(capsys, pg_database, snap)


@pytest.mark.postgres
def test_check_on_a_clean_target_exits_0_names_the_rows_and_load_then_succeeds(
    pg_database: str, snapshot: Path, capsys: pytest.CaptureFixture
) -> None:
    pg_app(pg_database, None)
    before = _state(pg_database)
    code, doc = check_json(capsys, str(snapshot), "--db-url", pg_database)
    assert code == 0 and doc["ok"] is True and doc["refusal"] is None
    assert doc["rows"]["metrics_pullrequest"] == 8 and doc["rows"]["teams_team"] == 2
    assert _state(pg_database) == before
    assert main(["load", str(snapshot), "--db-url", pg_database, "--as-of", WHEN]) == 0
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT count(*) FROM metrics_pullrequest").fetchone() == (8,)


def sqlite_counts(db: Path) -> tuple[list[int], list[tuple]]:
    with sqlite3.connect(db) as con:
        counts = [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in APP_LOAD_ORDER]
        schema = con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY 1, 2").fetchall()
    return counts, schema


def test_check_finds_a_trigger_that_changes_the_rows(
    snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as con:
        for stmt in ddl_mod.file_tables(list(APP_LOAD_ORDER), "sqlite"):
            con.execute(stmt)
        con.execute(
            "CREATE TRIGGER bump AFTER INSERT ON metrics_commit BEGIN "
            "UPDATE metrics_commit SET additions = additions + 1 WHERE id = NEW.id; END"
        )
    before = sqlite_counts(db)
    url = f"sqlite:///{db}"
    code, doc = check_json(capsys, str(snapshot), "--db-url", url)
    assert code == 2 and doc["refusal"].startswith(
        f"read-back from {url} differs from the snapshot (metrics_commit: read-back differs in additions)"
    )
    assert sqlite_counts(db) == before
    assert doc["refusal"] == load_refusal(capsys, str(snapshot), "--db-url", url)
    assert sqlite_counts(db) == before


@pytest.mark.parametrize("kind", ["duckdb", "sqlite"])
def test_check_of_a_missing_file_runs_the_load_elsewhere_and_never_creates_it(
    kind: str, snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = tmp_path / f"app.{kind}"
    url = f"{kind}:///{db}"
    code, doc = check_json(capsys, str(snapshot), "--db-url", url, "--no-rebase-dates")
    assert code == 0 and doc["creates_tables"] == list(APP_LOAD_ORDER)
    assert doc["rows"]["metrics_pullrequest"] == 8
    assert any(f"{db} does not exist: load creates it" in n for n in doc["notes"])
    # the load instant holds back every row but the teams: load's refusal, found by check
    empty = ("--no-rebase-dates", "--as-of", "2020-01-01")
    assert main(["check", str(snapshot), "--db-url", url, *empty]) == 2
    out = capsys.readouterr().out
    assert main(["load", str(snapshot), "--db-url", url, *empty]) == 2
    line = one_line_error(capsys)
    assert line.startswith("the load instant (2020-01-01 23:59 UTC) holds back every row but the teams")
    assert out.rstrip().endswith(f"load would fail: {line}")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert main(["load", str(snapshot), "--db-url", url, "--no-rebase-dates", "--as-of", WHEN]) == 0
    assert db.exists()
