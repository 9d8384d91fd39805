"""Loading is an as-of operation (issue 11.1): the database shows the team as it stood at the load instant.

For every built-in scenario and a few seeds, loaded at instants before, at and
after the snapshot's anchor week and mid-week: no loaded timestamp or date
is after the instant (a survey token's expiry, a deadline, excepted), every
row is consistent with that instant (open PRs carry no merge, children
point at loaded parents, surveys only on merged PRs), the instant's week of
weekly metrics equals what the aggregate stage computes from the loaded
rows, earlier weeks are the snapshot's, and the snapshot on disk is
unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.base.manifest import write_snapshot
from pipeline.base.schemas import APP_LOAD_ORDER, spec
from pipeline.runners.load import run_load
from stages.aggregate import aggregate
from stages.generate import GenerateConfig, generate
from stages.load.ddl import app_ddl

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

ANCHOR = dt.date(2026, 1, 5)  # the default anchor: the snapshot's last week
UTC = dt.UTC
INSTANTS = {
    "before": dt.datetime(2025, 12, 17, 14, 5, tzinfo=UTC),  # a Wednesday, three weeks before the anchor week
    "at": dt.datetime(2026, 1, 5, 0, 0, tzinfo=UTC),  # the anchor Monday, midnight
    "mid-week": dt.datetime(2026, 1, 8, 11, 30, tzinfo=UTC),  # the anchor week's Thursday
    "after": dt.datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
}
EXEMPT = {("metrics_prsurvey", "token_expires_at")}  # a deadline, in the future by nature


def make_snapshot(directory: Path, scenario: str, seed: int) -> Path:
    result = generate(GenerateConfig(scenario=scenario, seed=seed, real_share=0, anchor=ANCHOR))
    tables = dict(result.tables)
    weeks = list(result.info.week_starts)
    tables.update(aggregate(tables, week_starts=weeks))
    write_snapshot(directory, tables, name=directory.name, params={"generate": result.info.as_json()}, inputs={})
    return directory


def digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def dated_columns(table: str) -> list[tuple[str, bool]]:
    """(column, is_date) of every timestamp and date column."""
    return [
        (f.name, pa.types.is_date(f.type))
        for f in spec(table).schema
        if (pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)) and (table, f.name) not in EXEMPT
    ]


def after_instant(con: duckdb.DuckDBPyConnection, instant: dt.datetime) -> dict[str, int]:
    """Per table.column, loaded values later than the instant (dates: later than its day)."""
    out = {}
    for t in APP_LOAD_ORDER:
        for col, is_date in dated_columns(t):
            bound = f"DATE '{instant.date()}'" if is_date else f"TIMESTAMPTZ '{instant.isoformat()}'"
            (n,) = con.execute(f'SELECT count(*) FROM {t} WHERE "{col}" > {bound}').fetchone() or (0,)
            if n:
                out[f"{t}.{col}"] = int(n)
    return out


def inconsistencies(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows that contradict each other at one instant (DuckDB has no foreign keys: checked here)."""
    checks = {
        "open PR with a merge": "SELECT count(*) FROM metrics_pullrequest WHERE state = 'open' "
        "AND (merged_at IS NOT NULL OR cycle_time_hours IS NOT NULL)",
        "merged PR without merged_at": "SELECT count(*) FROM metrics_pullrequest WHERE state = 'merged' "
        "AND merged_at IS NULL",
        "survey of a PR not merged": "SELECT count(*) FROM metrics_prsurvey s JOIN metrics_pullrequest p "
        "ON p.id = s.pull_request_id WHERE p.state <> 'merged'",
        "review before its PR": "SELECT count(*) FROM metrics_prreview r JOIN metrics_pullrequest p "
        "ON p.id = r.pull_request_id WHERE r.submitted_at < p.pr_created_at",
        "first review missing": "SELECT count(*) FROM metrics_pullrequest p WHERE first_review_at IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM metrics_prreview r WHERE r.pull_request_id = p.id "
        "AND r.submitted_at <= p.first_review_at)",
        "completed check run without completion": "SELECT count(*) FROM metrics_prcheckrun "
        "WHERE status = 'completed' AND completed_at IS NULL",
        "resolved issue without resolution": "SELECT count(*) FROM metrics_jiraissue WHERE status IN ('Done', 'Closed') "
        "AND resolved_at IS NULL",
    }
    for fk in app_ddl().foreign_keys:
        checks[f"{fk.table}.{fk.column} orphan"] = (
            f'SELECT count(*) FROM {fk.table} c WHERE c."{fk.column}" IS NOT NULL AND NOT EXISTS '
            f'(SELECT 1 FROM {fk.ref_table} p WHERE p."{fk.ref_column}" = c."{fk.column}")'
        )
    out = {}
    for name, sql in checks.items():
        (n,) = con.execute(sql).fetchone() or (0,)
        if n:
            out[name] = int(n)
    return out


def loaded_tables(con: duckdb.DuckDBPyConnection) -> dict[str, pa.Table]:
    return {
        t: con.execute(f"SELECT * FROM {t} ORDER BY id").to_arrow_table().cast(spec(t).schema) for t in APP_LOAD_ORDER
    }


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Path]:
    root = tmp_path_factory.mktemp("asof")
    return {
        (sc, seed): make_snapshot(root / f"{sc}-{seed}", sc, seed)
        for sc in ("ai-success", "review-bottleneck", "baseline", "detective-game")
        for seed in (1, 7)
    }


@pytest.mark.parametrize("instant_name", list(INSTANTS))
@pytest.mark.parametrize("scenario", ["ai-success", "review-bottleneck", "baseline", "detective-game"])
@pytest.mark.parametrize("seed", [1, 7])
def test_nothing_after_the_instant_and_every_row_consistent(
    scenario: str, seed: int, instant_name: str, snapshots: dict[tuple[str, int], Path], tmp_path: Path
) -> None:
    snap = snapshots[(scenario, seed)]
    before = digest(snap)
    instant = INSTANTS[instant_name]
    db = tmp_path / "app.duckdb"
    report = run_load(snap, f"duckdb:///{db}", as_of=instant)
    assert report.ok, report.problems
    shift = dt.timedelta(weeks=report.rebase_weeks)
    assert monday(ANCHOR) + shift == monday(instant.date())
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert after_instant(con, instant) == {}
        assert inconsistencies(con) == {}
        loaded = loaded_tables(con)
    finally:
        con.close()
    assert digest(snap) == before  # the snapshot on disk never changes

    # held back: the snapshot's rows minus the loaded ones, per table, as reported
    held = {t.name: t.held_back for t in report.tables}
    for t in APP_LOAD_ORDER:
        if t != "metrics_weeklymetrics":
            assert held[t] == pq.ParquetFile(snap / f"{t}.parquet").metadata.num_rows - loaded[t].num_rows, t
    events = held["metrics_pullrequest"] + held["metrics_prreview"] + held["metrics_commit"]
    # the anchor week lands on the instant's and is cut short (at its Monday midnight: all of it)
    assert events > 0 and (report.reopened_prs > 0 or instant_name == "at")
    assert report.as_of_line().startswith(f"as of {instant:%Y-%m-%d %H:%M:%S} UTC: ")

    # weekly: weeks before the instant's as in the snapshot; the instant's week as the aggregate stage computes it
    week = monday(instant.date())
    snap_weekly = pq.read_table(snap / "metrics_weeklymetrics.parquet").to_pylist()
    got = loaded["metrics_weeklymetrics"].to_pylist()
    assert max(r["week_start"] for r in got) == week
    assert [r for r in got if r["week_start"] < week] == [
        {
            **r,
            "week_start": r["week_start"] + shift,
            "created_at": r["created_at"] + shift,
            "updated_at": r["updated_at"] + shift,
        }
        for r in snap_weekly
        if r["week_start"] + shift < week
    ]
    want = aggregate({t: loaded[t] for t in loaded}, week_starts=[week])["metrics_weeklymetrics"].to_pylist()
    mine = [r for r in got if r["week_start"] == week]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "id"} for r in rows]  # noqa: E731
    assert strip(mine) == strip(want) and len(mine) == report.recomputed_rows > 0
    snap_ids = {(r["team_id"], r["member_id"]): r["id"] for r in snap_weekly if r["week_start"] + shift == week}
    assert all(snap_ids[(r["team_id"], r["member_id"])] == r["id"] for r in mine)


def test_without_rebase_an_instant_after_the_data_loads_it_all(
    snapshots: dict[tuple[str, int], Path], tmp_path: Path
) -> None:
    snap = snapshots[("review-bottleneck", 7)]
    db = tmp_path / "app.duckdb"
    report = run_load(snap, f"duckdb:///{db}", as_of=INSTANTS["after"], rebase_dates=False)
    assert report.ok and report.held_back == 0 and report.reopened_prs == 0 and report.recomputed_week is None
    assert "nothing held back" in report.as_of_line()
    con = duckdb.connect(str(db), read_only=True)
    loaded = loaded_tables(con)
    con.close()
    for t in APP_LOAD_ORDER:
        assert loaded[t].to_pylist() == pq.read_table(snap / f"{t}.parquet").to_pylist(), t


def test_a_pr_merged_after_the_instant_is_open_without_merge_fields(
    snapshots: dict[tuple[str, int], Path], tmp_path: Path
) -> None:
    snap = snapshots[("ai-success", 1)]
    instant = INSTANTS["mid-week"]
    report = run_load(snap, f"duckdb:///{tmp_path / 'app.duckdb'}", as_of=instant)
    shift = dt.timedelta(weeks=report.rebase_weeks)
    prs = pq.read_table(snap / "metrics_pullrequest.parquet").to_pylist()
    late = [
        p for p in prs if p["merged_at"] is not None and p["merged_at"] + shift > instant >= p["pr_created_at"] + shift
    ]
    assert late
    con = duckdb.connect(str(tmp_path / "app.duckdb"), read_only=True)
    rows = {
        r["id"]: (r["state"], r["merged_at"], r["cycle_time_hours"], r["first_review_at"], r["review_time_hours"])
        for r in con.execute("SELECT * FROM metrics_pullrequest").to_arrow_table().to_pylist()
    }
    survey_prs = {r[0] for r in con.execute("SELECT pull_request_id FROM metrics_prsurvey").fetchall()}
    con.close()
    for p in late:
        state, merged, cycle, first, review = rows[p["id"]]
        assert (state, merged, cycle) == ("open", None, None)
        reviewed = p["first_review_at"] is not None and p["first_review_at"] + shift <= instant
        assert (first is not None, review is not None) == (reviewed, reviewed and p["review_time_hours"] is not None)
        assert p["id"] not in survey_prs
    assert report.reopened_prs >= len(late)
    created_later = [p for p in prs if p["pr_created_at"] + shift > instant]
    assert created_later and not any(p["id"] in rows for p in created_later)


@pytest.mark.parametrize("target", ["sqlite", "duckdb"])
def test_summary_names_what_was_held_back(target: str, snapshots: dict[tuple[str, int], Path], tmp_path: Path) -> None:
    report = run_load(snapshots[("baseline", 1)], f"{target}:///{tmp_path / 'app.db'}", as_of=INSTANTS["mid-week"])
    line = next(ln for ln in report.summary_lines() if ln.startswith("as of "))
    assert "held back" in line and "metrics_pullrequest" in line and "shown open" in line
    assert "weekly metrics of the week of 2026-01-05 recomputed" in line
    assert report.ok


def test_clock_read_only_by_the_runner(monkeypatch: pytest.MonkeyPatch, snapshots: dict, tmp_path: Path) -> None:
    """The runner's clock is the default instant; the stage itself refuses a naive instant."""
    from pipeline.runners import load as runner
    from stages.load import load_snapshot

    monkeypatch.setattr(runner, "now", lambda: INSTANTS["mid-week"])
    report = run_load(snapshots[("baseline", 7)], f"duckdb:///{tmp_path / 'a.duckdb'}")
    assert report.as_of == INSTANTS["mid-week"]
    with pytest.raises(ValueError, match="timezone-aware"):
        load_snapshot(snapshots[("baseline", 7)], f"duckdb:///{tmp_path / 'b.duckdb'}", as_of=dt.datetime(2026, 1, 8))
