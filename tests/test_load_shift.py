"""Whole-week date shifts: load instants before, at and after the snapshot's anchor week, and mid-week.

The clock is pinned (``pipeline.runners.load.now``), so these pass on any
real date; issue 11.2: a backwards shift died with ``INTERVAL -7 DAY``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.runners import load as runner
from tests.loaddata import LAST_WEEK, build_tables, write_test_snapshot
from tests.test_load import dump_duckdb, shifted

# (the pinned clock, weeks the data moves): the snapshot's last week is Monday 2025-12-29
INSTANTS = {
    "before": (dt.datetime(2025, 12, 17, 15, 0, tzinfo=dt.UTC), -2),  # a Wednesday two weeks earlier
    "at": (dt.datetime(2025, 12, 29, 0, 0, tzinfo=dt.UTC), 0),  # the anchor Monday, midnight
    "mid-week": (dt.datetime(2026, 1, 8, 11, 30, tzinfo=dt.UTC), 1),  # the Thursday after
    "after": (dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC), 9),
}


def pin_clock(monkeypatch: pytest.MonkeyPatch, instant: dt.datetime) -> None:
    monkeypatch.setattr(runner, "now", lambda: instant)


def cli_load(data_root: Path, url: str, capsys: pytest.CaptureFixture) -> str:
    write_test_snapshot(data_root / "snapshots" / "two-teams")
    assert main(["load", "--latest", "--db-url", url]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


@pytest.mark.parametrize("name", list(INSTANTS))
def test_duckdb_shift_follows_the_pinned_clock(
    name: str, data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    instant, weeks = INSTANTS[name]
    pin_clock(monkeypatch, instant)
    db = data_root / "app.duckdb"
    out = cli_load(data_root, f"duckdb:///{db}", capsys)
    assert f"shifted by {weeks:+d} week(s)" in out
    assert dump_duckdb(db) == shifted(build_tables(), dt.timedelta(weeks=weeks))
    last = max(r["week_start"] for r in dump_duckdb(db)["metrics_weeklymetrics"])
    assert last == LAST_WEEK + dt.timedelta(weeks=weeks) == instant.date() - dt.timedelta(days=instant.weekday())


@pytest.mark.parametrize("name", list(INSTANTS))
def test_sqlite_shift_follows_the_pinned_clock(
    name: str, data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    instant, weeks = INSTANTS[name]
    pin_clock(monkeypatch, instant)
    db = data_root / "app.db"
    cli_load(data_root, f"sqlite:///{db}", capsys)
    delta = dt.timedelta(weeks=weeks)
    pr = build_tables()["metrics_pullrequest"].to_pylist()[0]
    usage = build_tables()["metrics_aiusagedaily"].to_pylist()[0]
    con = sqlite3.connect(db)
    try:
        merged, created = con.execute(
            "SELECT merged_at, pr_created_at FROM metrics_pullrequest WHERE id = 1"
        ).fetchone()
        (day,) = con.execute("SELECT date FROM metrics_aiusagedaily WHERE id = 1").fetchone()
        (last,) = con.execute("SELECT max(week_start) FROM metrics_weeklymetrics").fetchone()
    finally:
        con.close()
    assert merged == (pr["merged_at"] + delta).strftime("%Y-%m-%d %H:%M:%S.%f")
    assert created == (pr["pr_created_at"] + delta).strftime("%Y-%m-%d %H:%M:%S.%f")
    assert day == (usage["date"] + delta).isoformat()
    assert last == (LAST_WEEK + delta).isoformat()


def test_no_rebase_keeps_dates_and_still_cuts_at_the_instant(
    data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    write_test_snapshot(data_root / "snapshots" / "two-teams")
    pin_clock(monkeypatch, INSTANTS["after"][0])  # after all of the data: everything, exactly
    db = data_root / "app.duckdb"
    assert main(["load", "--latest", "--db-url", f"duckdb:///{db}", "--no-rebase-dates"]) == 0
    assert "dates kept exactly" in capsys.readouterr().out
    assert dump_duckdb(db) == shifted(build_tables(), dt.timedelta(0))
    pin_clock(monkeypatch, INSTANTS["before"][0])  # the data's last two weeks have not begun yet
    other = data_root / "other.duckdb"
    assert main(["load", "--latest", "--db-url", f"duckdb:///{other}", "--no-rebase-dates"]) == 0
    out = capsys.readouterr().out
    assert "held back 5 row(s) dated after it (metrics_weeklymetrics 5)" in " ".join(out.split())
    weeks = {r["week_start"] for r in dump_duckdb(other)["metrics_weeklymetrics"]}
    assert max(weeks) == dt.date(2025, 12, 15)


@pytest.mark.parametrize("target", ["duckdb", "sqlite"])
def test_a_backwards_shift_loads(target: str, tmp_path: Path) -> None:
    """The stage itself, two weeks back: was ``Parser Error: syntax error at or near "DAY"``."""
    from pipeline.runners.load import run_load

    snapshot = write_test_snapshot(tmp_path / "snap")
    report = run_load(
        snapshot, f"{target}:///{tmp_path / 'app.db'}", as_of=dt.datetime(2025, 12, 17, 12, tzinfo=dt.UTC)
    )
    assert report.ok and report.rebase_weeks == -2
