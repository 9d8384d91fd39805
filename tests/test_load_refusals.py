"""What a load refuses, in one line, with nothing written: the load instant's bounds, an empty URL, a load of
nothing but the team rows, a read-back that differs (before COMMIT), and a row the database refuses for one of
its constraints (CHECK, UNIQUE, NOT NULL, foreign key), named with a value as the snapshot holds it."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from pipeline.base.schemas import APP_LOAD_ORDER, spec
from pipeline.cli import main
from pipeline.runners.load import run_load
from stages.load import ddl as ddl_mod
from stages.load.ddl import APP_SCHEMA_SQL
from stages.load.report import ReadBackMismatch
from tests.loaddata import build_tables, write_test_snapshot
from tests.test_load import AS_OF
from tests.test_load_postgres import dump, schema_signature

pytestmark = pytest.mark.slow  # loads into PostgreSQL and SQLite

DONE = "rolled back, nothing written"
Refuse = Callable[[Path | None, str, Path], str]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_snapshot(tmp_path_factory.mktemp("snap") / "two-teams")


def changed(where: Path, table: str, column: str, values: dict[int, object]) -> Path:
    """A gamma/delta snapshot (a second team set) whose ``table.column`` holds ``values`` by row id."""
    tables = build_tables(("gamma", "delta"))
    rows = tables[table].to_pylist()
    for row in rows:
        row[column] = values.get(row["id"], row[column])
    tables[table] = pa.Table.from_pylist(rows, schema=spec(table).schema)
    return write_test_snapshot(where / "changed", tables, name="changed")


def one_line_error(capsys: pytest.CaptureFixture) -> str:
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1, captured.err
    return captured.err[len("error: ") : -1]


# --------------------------------------------------------------------------- the load instant's bounds


@pytest.mark.parametrize(
    ("when", "day"),
    [
        ("9999-12-31", "9999-12-31"),
        ("0001-01-01", "0001-01-01"),
        ("1980-01-06", "1980-01-06"),
        ("2200-01-06", "2200-01-06"),
        ("0001-01-01T00:00+05:00", None),
    ],
)
def test_an_as_of_out_of_bounds_is_refused_before_the_database_is_opened(
    when: str, day: str | None, snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = tmp_path / "a.db"
    assert main(["load", str(snapshot), "--db-url", f"sqlite:///{db}", "--as-of", when]) == 2
    line = one_line_error(capsys)
    if day is None:  # before year 1 in UTC: not a date at all
        assert "is not a date or date-time" in line
    else:
        assert line == f"--as-of {day}: use a date from 1980-01-07 to 2200-01-05 (the weeks --anchor allows)"
    assert not db.exists()


@pytest.mark.parametrize("when", ["1980-01-07T00:00", "2200-01-05"])
def test_the_as_of_bounds_load_and_read_back_in_sqlite(when: str, snapshot: Path, tmp_path: Path) -> None:
    db = tmp_path / "edge.db"
    assert main(["load", str(snapshot), "--db-url", f"sqlite:///{db}", "--as-of", when]) == 0
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM metrics_pullrequest").fetchone() == (8,)


# --------------------------------------------------------------------------- an empty URL, an empty load


def test_an_empty_db_url_is_refused_not_loaded_into_the_default(
    data_root: Path, snapshot: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    want = (
        "the database URL is empty (--db-url '' or DEMOSEED_DB_URL=''); give a URL, or leave both out for the "
        f"embedded default ({data_root / 'app.duckdb'})"
    )
    assert main(["load", str(snapshot), "--db-url", "", "--as-of", "2026-03-04"]) == 2
    assert one_line_error(capsys) == want
    monkeypatch.setenv("DEMOSEED_DB_URL", "")
    assert main(["load", str(snapshot), "--as-of", "2026-03-04"]) == 2
    assert one_line_error(capsys) == want
    assert not (data_root / "app.duckdb").exists()


def test_a_load_of_nothing_but_the_team_rows_is_refused_unless_allowed(
    snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = tmp_path / "app.duckdb"
    args = ["load", str(snapshot), "--db-url", f"duckdb:///{db}", "--no-rebase-dates", "--as-of", "2020-01-01"]
    assert main(args) == 2
    assert one_line_error(capsys) == (
        "the load instant (2020-01-01 23:59 UTC) holds back every row but the teams and their members (79 rows "
        "dated after it); load with a later --as-of, or without --no-rebase-dates, or pass --allow-empty to load "
        "them alone (nothing was written)"
    )
    assert not db.exists()
    assert main([*args, "--allow-empty"]) == 0
    assert "held back 79 row(s)" in capsys.readouterr().out


# --------------------------------------------------------------------------- the read-back, before COMMIT


def sqlite_bumping_additions(db: Path) -> Path:
    """An SQLite file with the app tables and a trigger that adds 1 to every inserted commit's additions."""
    with sqlite3.connect(db) as con:
        for stmt in ddl_mod.file_tables(list(APP_LOAD_ORDER), "sqlite"):
            con.execute(stmt)
        con.execute(
            "CREATE TRIGGER bump AFTER INSERT ON metrics_commit BEGIN "
            "UPDATE metrics_commit SET additions = additions + 1 WHERE id = NEW.id; END"
        )
    return db


def test_sqlite_read_back_that_differs_is_rolled_back(snapshot: Path, tmp_path: Path) -> None:
    db = sqlite_bumping_additions(tmp_path / "app.db")
    with pytest.raises(ReadBackMismatch) as info:
        run_load(snapshot, f"sqlite:///{db}", as_of=AS_OF)
    assert info.value.exit_code == 1
    assert str(info.value) == (
        f"read-back from sqlite:///{db} differs from the snapshot (metrics_commit: read-back differs in additions): "
        f"{DONE}; a trigger, rule or column default in the database changes the rows as they go in "
        "(drop or disable it for the load)"
    )
    with sqlite3.connect(db) as con:
        assert [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in APP_LOAD_ORDER] == [0] * 13


# --------------------------------------------------------------------------- constraints, in PostgreSQL


@pytest.fixture
def refused(
    pg_database: str, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> Callable[[Path | None, str, Path], str]:
    """refused(first, setup, snap): the app's schema (with ``first`` loaded: the next load's ids move past its
    rows), then ``setup``; the load of ``snap`` is refused with exit 2: its one line. Every table, key and index
    is as it was."""
    return lambda first, setup, snap: _refused(pg_database, first, setup, snap, capsys, caplog)


def _refused(
    dsn: str,
    first: Path | None,
    setup: str,
    snap: Path,
    capsys: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(APP_SCHEMA_SQL.read_text())
    if first is not None:
        assert run_load(first, dsn, as_of=AS_OF).ok
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(setup)
    before = _state(dsn)
    with caplog.at_level(logging.INFO, logger="stages.load.core"):
        assert main(["load", str(snap), "--db-url", dsn, "--as-of", "2026-03-04T12:00"]) == 2
    assert _state(dsn) == before
    return one_line_error(capsys)


def _state(dsn: str) -> tuple[dict[str, list], dict[str, list]]:
    with psycopg.connect(dsn) as conn:
        return dump(dsn), schema_signature(conn, "public")


@pytest.mark.postgres
def test_a_check_the_snapshot_breaks_names_the_row_as_the_snapshot_holds_it(
    refused: Refuse, snapshot: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    snap = changed(tmp_path, "metrics_commit", "additions", {5: 5000})  # loaded as id 13 (8 commits before it)
    setup = "ALTER TABLE metrics_commit ADD CONSTRAINT small_commits CHECK (additions < 1000)"
    assert refused(snapshot, setup, snap) == (
        'metrics_commit: snapshot row id 5 has additions = 5000, which breaks CHECK constraint "small_commits" '
        f"(CHECK ((additions < 1000))); {DONE}; relax or drop the constraint (ALTER TABLE metrics_commit DROP "
        'CONSTRAINT "small_commits") or load a snapshot that satisfies it'
    )
    raw = [r.getMessage() for r in caplog.records if "PostgreSQL refused" in r.getMessage()]
    assert len(raw) == 1 and 'violates check constraint "small_commits"' in raw[0] and "Failing row" in raw[0]


@pytest.mark.postgres
def test_a_unique_the_snapshot_breaks_is_its_duplicate_not_an_index_build(refused: Refuse, tmp_path: Path) -> None:
    """Into empty tables the keys come back after the rows: the line names the snapshot's duplicate."""
    snap = changed(tmp_path, "metrics_prfile", "filename", {3: "src/same.py", 4: "src/same.py"})
    setup = "ALTER TABLE metrics_prfile ADD CONSTRAINT one_file_per_team UNIQUE (team_id, filename)"
    assert refused(None, setup, snap) == (
        "metrics_prfile: the snapshot has 2 rows with (team_id, filename) = (1, src/same.py), which UNIQUE "
        f'constraint "one_file_per_team" allows once; {DONE}; drop the constraint (ALTER TABLE metrics_prfile '
        'DROP CONSTRAINT "one_file_per_team") or load a snapshot without the duplicate'
    )


@pytest.mark.postgres
def test_a_not_null_names_the_row_as_the_snapshot_holds_it(
    refused: Refuse, pg_database: str, snapshot: Path, tmp_path: Path
) -> None:
    setup = (  # empties one row's sha as it goes in (snapshot row 5, after the first load's 8 commits)
        "CREATE FUNCTION drop_sha() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.id = 13 THEN NEW.github_sha := NULL; END IF; RETURN NEW; END $$; "
        "CREATE TRIGGER drop_sha BEFORE INSERT ON metrics_commit FOR EACH ROW EXECUTE FUNCTION drop_sha()"
    )
    snap = changed(tmp_path, "metrics_commit", "additions", {})
    assert refused(snapshot, setup, snap) == (
        f"metrics_commit.github_sha is NOT NULL in {pg_database} but snapshot row id 5 went in without a value "
        f"(its github_sha is {5:040x} in the snapshot): the load instant's cut or a trigger in the database "
        f"emptied it; {DONE}; allow NULLs (ALTER TABLE metrics_commit ALTER COLUMN github_sha DROP NOT NULL), "
        "or load with a later --as-of"
    )


@pytest.mark.postgres
def test_a_foreign_key_names_the_value_as_the_snapshot_holds_it(
    refused: Refuse, snapshot: Path, tmp_path: Path
) -> None:
    setup = (  # every member id but 10 (the second load's member 4)
        "CREATE TABLE app_person (id bigint PRIMARY KEY); "
        "INSERT INTO app_person SELECT i FROM generate_series(1, 12) i WHERE i <> 10; "
        "ALTER TABLE metrics_pullrequest ADD CONSTRAINT pr_author_person FOREIGN KEY (author_id) "
        "REFERENCES app_person (id)"
    )
    snap = changed(tmp_path, "metrics_commit", "additions", {})
    assert refused(snapshot, setup, snap) == (
        'metrics_pullrequest: foreign key "pr_author_person" (author_id -> app_person) fails: the snapshot\'s '
        f"author_id = 4 has no row in app_person; {DONE}; add the missing app_person rows or drop the foreign key "
        '(ALTER TABLE metrics_pullrequest DROP CONSTRAINT "pr_author_person")'
    )
