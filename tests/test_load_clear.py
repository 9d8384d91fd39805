"""``--clear`` in a database where the app attached rows to the demo team (issue 11.5).

The schema gains Django-style tables (DEFERRABLE INITIALLY DEFERRED foreign
keys, no ON DELETE) like the app's: a membership on the team, a comment on PRs
(NOT NULL), a feedback on members (nullable), and a note on comments (NOT
NULL, two steps away from demoseed's rows). A reload with ``--clear`` keeps
the team row (same id, fields updated) and the membership; comments (and
their notes) on replaced PRs are deleted, feedback loses its member; the
summary counts both. PostgreSQL and SQLite.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from pipeline.base.schemas import spec
from pipeline.runners.load import run_load
from tests.loaddata import build_tables, write_test_snapshot

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

AS_OF = dt.datetime(2026, 3, 4, 12, tzinfo=dt.UTC)
D = "DEFERRABLE INITIALLY DEFERRED"
FOREIGN_DDL = [
    f"CREATE TABLE teams_membership (id bigint PRIMARY KEY, team_id bigint NOT NULL REFERENCES teams_team (id) {D}, "
    "username varchar(50) NOT NULL)",
    f"CREATE TABLE metrics_prcomment (id bigint PRIMARY KEY, team_id bigint NOT NULL REFERENCES teams_team (id) {D}, "
    f"pull_request_id bigint NOT NULL REFERENCES metrics_pullrequest (id) {D}, "
    f"author_id bigint NULL REFERENCES metrics_teammember (id) {D}, body text NOT NULL)",
    f"CREATE TABLE feedback_aifeedback (id bigint PRIMARY KEY, team_id bigint NOT NULL REFERENCES teams_team (id) {D}, "
    f"member_id bigint NULL REFERENCES metrics_teammember (id) {D}, note text NOT NULL)",
    f"CREATE TABLE notes_commentnote (id bigint PRIMARY KEY, comment_id bigint NOT NULL "
    f"REFERENCES metrics_prcomment (id) {D}, text text NOT NULL)",
]
FOREIGN_ROWS = [
    "INSERT INTO teams_membership VALUES (1, 1, 'visitor'), (2, 2, 'other'), (3, 3, 'gamma-user')",
    "INSERT INTO metrics_prcomment VALUES (1, 1, 1, 2, 'nice'), (2, 1, 2, NULL, 'hm'), (3, 2, 5, 4, 'ok'), "
    "(4, 3, 9, 7, 'gamma pr')",
    "INSERT INTO feedback_aifeedback VALUES (1, 1, 1, 'a'), (2, 1, NULL, 'b'), (3, 2, 5, 'c'), (4, 3, 8, 'gamma')",
    "INSERT INTO notes_commentnote VALUES (1, 1, 'on comment 1'), (2, 4, 'on the gamma comment')",
]


def renamed_snapshot(directory: Path) -> Path:
    """The alpha/beta dataset with new team names: what a reload must write into the kept team rows."""
    tables = build_tables()
    teams = tables["teams_team"].to_pylist()
    for t in teams:
        t["name"] = t["name"] + " v2"
    tables["teams_team"] = pa.Table.from_pylist(teams, schema=spec("teams_team").schema)
    return write_test_snapshot(directory, tables, name="renamed")


@pytest.fixture(scope="module")
def snaps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clear")
    return {
        "first": write_test_snapshot(root / "first"),
        "gamma": write_test_snapshot(root / "gamma", build_tables(("gamma", "delta")), name="gamma"),
        "renamed": renamed_snapshot(root / "renamed"),
    }


def scenario(url: str, run_sql: Callable[[list[str]], None], query: Callable[[str], list[Any]], snaps: dict) -> None:
    assert run_load(snaps["first"], url, as_of=AS_OF).team_ids == [1, 2]
    assert run_load(snaps["gamma"], url, as_of=AS_OF).team_ids == [3, 4]
    run_sql(FOREIGN_DDL + FOREIGN_ROWS)
    report = run_load(snaps["renamed"], url, as_of=AS_OF, clear=True)
    assert report.ok and report.team_ids == [1, 2] and report.cleared_team_ids == [1, 2]
    assert query("SELECT id, name FROM teams_team ORDER BY id") == [
        (1, "Alpha v2"),
        (2, "Beta v2"),
        (3, "Gamma"),
        (4, "Delta"),
    ]
    assert query("SELECT id, team_id, username FROM teams_membership ORDER BY id") == [
        (1, 1, "visitor"),
        (2, 2, "other"),
        (3, 3, "gamma-user"),
    ]
    assert query("SELECT id FROM metrics_prcomment ORDER BY id") == [(4,)]  # NOT NULL FK to a replaced PR: deleted
    assert query("SELECT id FROM notes_commentnote ORDER BY id") == [(2,)]  # and what depends on it
    assert query("SELECT id, member_id FROM feedback_aifeedback ORDER BY id") == [
        (1, None),
        (2, None),
        (3, None),
        (4, 8),
    ]
    assert report.foreign == {
        "metrics_prcomment": ("deleted", 3),
        "notes_commentnote": ("deleted", 1),
        "feedback_aifeedback.member_id": ("set NULL", 2),
    }
    assert any(
        "metrics_prcomment 3 deleted" in ln and "feedback_aifeedback.member_id 2 set NULL" in ln
        for ln in report.summary_lines()
    )
    # the gamma team, untouched; the reloaded rows match the snapshot again
    assert query("SELECT count(*) FROM metrics_pullrequest WHERE team_id IN (3, 4)") == [(8,)]
    assert query("SELECT count(*) FROM metrics_pullrequest WHERE team_id IN (1, 2)") == [(8,)]
    again = run_load(snaps["renamed"], url, as_of=AS_OF, clear=True)
    assert again.ok and again.team_ids == [1, 2] and again.foreign == {}


@pytest.mark.postgres
def test_clear_keeps_the_team_and_what_references_only_it_postgres(pg_database: str, snaps: dict) -> None:
    import psycopg

    def run_sql(statements: list[str]) -> None:
        with psycopg.connect(pg_database) as conn:
            for s in statements:
                conn.execute(s)

    def query(sql: str) -> list[Any]:
        with psycopg.connect(pg_database) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]

    scenario(pg_database, run_sql, query, snaps)


def test_clear_keeps_the_team_and_what_references_only_it_sqlite(tmp_path: Path, snaps: dict) -> None:
    db = tmp_path / "app.db"

    def run_sql(statements: list[str]) -> None:
        con = sqlite3.connect(db)
        with con:
            for s in statements:
                con.execute(s)
        con.close()

    def query(sql: str) -> list[Any]:
        con = sqlite3.connect(db)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    scenario(f"sqlite:///{db}", run_sql, query, snaps)
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    con.close()
