"""Two real loads into one PostgreSQL database at the same time (issue 12.4): both succeed, in turn.

Each load is its own process (the CLI), started together. Without the
advisory lock, the empty database saw a DDL race and the database with tables
``duplicate key ... teams_team_pkey`` (id offsets read before the table lock).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from stages.load.postgres import ADVISORY_LOCK_KEY
from tests.loaddata import build_tables, write_test_snapshot

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def start_load(snapshot: Path, dsn: str, data_root: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "DEMOSEED_DATA": str(data_root)}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "load", str(snapshot), "--db-url", dsn, "--today", "2026-03-04"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_together(snapshots: list[Path], dsn: str, data_root: Path) -> list[tuple[int, str]]:
    procs = [start_load(s, dsn, data_root) for s in snapshots]
    out = []
    for p in procs:
        _stdout, stderr = p.communicate(timeout=120)
        out.append((p.returncode, stderr))
    return out


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("concurrent")
    return [
        write_test_snapshot(root / "-".join(slugs), build_tables(slugs), name="-".join(slugs))
        for slugs in (("alpha", "beta"), ("gamma", "delta"), ("eps", "zeta"), ("eta", "theta"), ("iota", "kappa"))
    ]


def team_rows(dsn: str) -> tuple[list[tuple[int, str]], int, int]:
    with psycopg.connect(dsn) as conn:
        teams = conn.execute("SELECT id, slug FROM teams_team ORDER BY id").fetchall()
        members = conn.execute("SELECT count(*) FROM metrics_teammember").fetchone()
        orphans = conn.execute(
            "SELECT count(*) FROM metrics_pullrequest p JOIN metrics_teammember m ON m.id = p.author_id "
            "WHERE m.team_id <> p.team_id"
        ).fetchone()
    assert members is not None and orphans is not None
    return [(int(i), str(s)) for i, s in teams], int(members[0]), int(orphans[0])


def test_two_loads_into_an_empty_database_both_succeed(pg_database: str, snapshots: list[Path], tmp_path: Path) -> None:
    results = run_together(snapshots[:2], pg_database, tmp_path)
    assert [rc for rc, _ in results] == [0, 0], results
    teams, members, orphans = team_rows(pg_database)
    assert sorted(s for _i, s in teams) == ["alpha", "beta", "delta", "gamma"]
    assert [i for i, _s in teams] == [1, 2, 3, 4] and members == 12 and orphans == 0


def test_loads_into_a_database_with_tables_both_succeed(
    pg_database: str, snapshots: list[Path], tmp_path: Path
) -> None:
    assert run_together(snapshots[:1], pg_database, tmp_path)[0][0] == 0
    for pair in (snapshots[1:3], snapshots[3:5]):
        results = run_together(pair, pg_database, tmp_path)
        assert [rc for rc, _ in results] == [0, 0], results
    teams, members, orphans = team_rows(pg_database)
    assert [i for i, _s in teams] == list(range(1, 11)) and members == 30 and orphans == 0


def test_a_load_waits_for_the_lock_held_by_another(pg_database: str, snapshots: list[Path], tmp_path: Path) -> None:
    """While another session holds the load lock, a load waits; it goes on when that session ends."""
    holder = psycopg.connect(pg_database)
    holder.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
    proc = start_load(snapshots[0], pg_database, tmp_path)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=3)
        with psycopg.connect(pg_database) as conn:
            (waiting,) = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone() or (0,)
        assert waiting == 1
    finally:
        holder.rollback()
        holder.close()
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


def test_a_failed_statement_reports_postgresqls_own_cause(pg_database: str, snapshots: list[Path]) -> None:
    """The cause stays in the one-line error, not kilobytes of DDL ahead of it (was cut after two lines)."""
    from pipeline.base.errors import UserError
    from pipeline.runners.load import run_load
    from stages.load.ddl import app_ddl

    index = app_ddl().indexes[0].name
    with psycopg.connect(pg_database) as conn:
        conn.execute("CREATE TABLE squatter (id int)")
        conn.execute(f'CREATE INDEX "{index}" ON squatter (id)')
    with pytest.raises(UserError) as info:
        run_load(snapshots[0], pg_database, as_of=dt.datetime(2026, 3, 4, 12, tzinfo=dt.UTC))
    msg = str(info.value)
    assert f'rolled back: relation "{index}" already exists' in msg and "CREATE" not in msg, msg
    assert len(msg) < 400
