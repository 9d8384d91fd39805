"""kill -9 in the middle of a PostgreSQL load leaves the database as it was, and frees the load lock.

The load runs as its own process; it is killed while PostgreSQL shows its
``COPY`` running (rows half written), then the database is compared with
its state before: rows, next ids of every sequence, no advisory lock left.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from pipeline.base.manifest import write_snapshot
from pipeline.base.schemas import APP_LOAD_ORDER
from stages.aggregate import aggregate
from stages.generate import GenerateConfig, generate

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ANCHOR = dt.date(2026, 1, 5)


def legacy_snapshot(directory: Path, slug: str, teams: int, seed: int) -> Path:
    result = generate(
        GenerateConfig(
            scenario=None, seed=seed, teams=teams, members=4, prs=120, real_share=0, anchor=ANCHOR, team_slug=slug
        )
    )
    tables = dict(result.tables)
    tables.update(aggregate(tables, week_starts=list(result.info.week_starts)))
    write_snapshot(directory, tables, name=directory.name, params={"generate": result.info.as_json()}, inputs={})
    return directory


def state(dsn: str) -> dict[str, object]:
    with psycopg.connect(dsn) as conn:
        out: dict[str, object] = {}
        for t in APP_LOAD_ORDER:
            out[t] = conn.execute(f"SELECT count(*), coalesce(max(id), 0), coalesce(sum(id), 0) FROM {t}").fetchone()
            seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (t,)).fetchone()
            assert seq is not None
            out[f"{t}.seq"] = conn.execute(f"SELECT last_value, is_called FROM {seq[0]}").fetchone()
        out["advisory"] = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()
    return out


def test_kill_9_during_the_copy_leaves_the_database_as_before(pg_database: str, tmp_path: Path) -> None:
    # other seeds: survey tokens are unique in the whole table, and keyed by the seed
    first = legacy_snapshot(tmp_path / "first", "first", 2, seed=1)
    big = legacy_snapshot(tmp_path / "big", "big", 40, seed=2)

    def load(snapshot: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "pipeline.cli",
            "load",
            str(snapshot),
            "--db-url",
            pg_database,
            "--as-of",
            "2026-01-08T12:00",
        ]

    env = {**os.environ, "DEMOSEED_DATA": str(tmp_path / "data")}
    assert subprocess.run(load(first), env=env, check=False, capture_output=True).returncode == 0
    before = state(pg_database)

    proc = subprocess.Popen(load(big), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    copying = False
    deadline = time.monotonic() + 120
    with psycopg.connect(pg_database, autocommit=True) as watch:
        while time.monotonic() < deadline and proc.poll() is None:
            row = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'COPY %' AND state = 'active'"
            ).fetchone()
            if row and row[0]:
                copying = True
                break
            time.sleep(0.02)
    assert copying, "the load finished before its COPY was seen; make the snapshot bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and state(pg_database) != before:  # the server notices the dead client
        time.sleep(0.2)
    assert state(pg_database) == before
    again = subprocess.run(load(big), env=env, check=False, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
