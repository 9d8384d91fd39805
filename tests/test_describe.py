"""`demoseed describe` and the story headlines, on hand-built team-weekly tables."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from pipeline.base.manifest import write_snapshot
from pipeline.base.schemas import APP_LOAD_ORDER, DEMOSEED_TEAM_WEEKLY, empty
from pipeline.cli import main
from stages.aggregate.story import headline, is_flat, pooled, relative_trend
from tests.test_aggregate import WEEKS, tiny_tables

MONDAYS = [dt.date(2025, 11, 10) + dt.timedelta(weeks=i) for i in range(8)]


def team_weeks(team_id: int = 1, **curves: list[Any]) -> pa.Table:
    """8 weeks of a team; columns not given are 0 / NULL."""
    rows = []
    for i, w in enumerate(MONDAYS):
        row: dict[str, Any] = {}
        for f in DEMOSEED_TEAM_WEEKLY.schema:
            row[f.name] = None if f.nullable else 0
        row.update(team_id=team_id, week_start=w, prs_merged=10, reviews=20, surveys_completed=10, guesses=10)
        for name, values in curves.items():
            row[name] = values[i]
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=DEMOSEED_TEAM_WEEKLY.schema)


def frame(table: pa.Table) -> pl.DataFrame:
    df = pl.from_arrow(table)
    assert isinstance(df, pl.DataFrame)
    return df


AI_SUCCESS = dict(
    ai_assisted_share=[0.12, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.74],
    cycle_time_median_hours=[70.4, 65, 58, 50, 41, 35, 30, 25.2],
)


def test_headline_ai_success() -> None:
    h = headline("ai-success", frame(team_weeks(**AI_SUCCESS)))
    assert h.columns[0] == "ai_assisted_share"
    assert h.summary == "AI-assisted share 12 % -> 74 % over 8 weeks; median cycle time 70 h -> 25 h"


def test_headline_review_bottleneck_pools_weeks_by_reviews() -> None:
    weeks = team_weeks(
        top_reviewer_share=[0.5, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6],
        reviews=[10, 30, 20, 20, 20, 20, 20, 20],
        review_time_median_hours=[8.2, 10, 14, 18, 22, 26, 29, 31.6],
    )
    df = frame(weeks)
    assert pooled(df, "top_reviewer_share", "reviews") == pytest.approx((5 + 21 + 6 * 12) / 160)
    h = headline("review-bottleneck", df)
    assert h.columns == ("top_reviewer_share", "review_time_median_hours")
    assert h.summary == (
        "Top reviewer does 61 % of reviews (weekly 50 %–70 %); median review time 8 h -> 32 h over 8 weeks"
    )


def test_headline_baseline_flat_and_not_flat() -> None:
    flat = dict(
        ai_assisted_share=[0.13, 0.15, 0.17, 0.13, 0.15, 0.17, 0.13, 0.15],
        cycle_time_median_hours=[45, 47, 49, 51, 45, 47, 49, 51],
        review_time_median_hours=[14, 16, 18, 14, 16, 18, 14, 16],
    )
    h = headline("baseline", frame(team_weeks(**flat)))
    assert h.summary.startswith("Flat over 8 weeks: AI-assisted share 13 %–17 %, median cycle time 45 h–51 h")
    assert abs(relative_trend(frame(team_weeks(**flat)), "cycle_time_median_hours")) < 0.1
    rising = {**flat, "cycle_time_median_hours": [30, 35, 40, 45, 50, 55, 60, 65]}
    assert headline("baseline", frame(team_weeks(**rising))).summary.startswith("NOT flat")
    # shares are judged in points: +15 points over the period is a trend, +8 is not
    more_ai = {**flat, "ai_assisted_share": [0.10 + 0.15 * i / 7 for i in range(8)]}
    assert not is_flat(frame(team_weeks(**more_ai)), "ai_assisted_share")
    assert headline("baseline", frame(team_weeks(**more_ai))).summary.startswith("NOT flat")
    some_ai = {**flat, "ai_assisted_share": [0.10 + 0.08 * i / 7 for i in range(8)]}
    assert is_flat(frame(team_weeks(**some_ai)), "ai_assisted_share")
    # 30 -> 65 fitted over the period is +35 h on a mean of 47.5 h
    assert relative_trend(frame(team_weeks(**rising)), "cycle_time_median_hours") == pytest.approx(35 / 47.5)


def test_headline_detective_game_and_default() -> None:
    weeks = team_weeks(guess_accuracy=[0.4, 0.5, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5], guesses=[10, 10, 10, 10, 10, 10, 10, 0])
    h = headline("detective-game", frame(weeks))
    assert h.columns == ("guess_accuracy",)
    assert h.summary == "Reviewers guessed AI assistance right 50 % of the time (70 guesses; weekly 40 %–60 %)"
    d = headline("my-own-scenario", frame(team_weeks(**AI_SUCCESS)))
    assert d.columns[0] == "prs_merged"
    assert d.summary.startswith("80 PRs merged over 8 weeks; AI-assisted share 44 %; median cycle time 70 h -> 25 h")


def _snapshot(directory: Path, team_weekly: pa.Table, scenario: str) -> Path:
    tables = {name: empty(name) for name in APP_LOAD_ORDER}
    tables["teams_team"] = tiny_tables()["teams_team"]
    tables["demoseed_team_weekly"] = team_weekly
    params = {"mode": "scenario", "request": {"scenario": scenario, "seed": 7}, "generate": {"scenario": scenario}}
    write_snapshot(directory, tables, name=f"{scenario}-seed7", params=params)
    return directory


def test_describe_prints_the_story_with_the_headline_highlighted(tmp_path: Path, capsys) -> None:
    snap = _snapshot(tmp_path / "snap", team_weeks(**AI_SUCCESS), "ai-success")
    assert main(["describe", str(snap)]) == 0
    out = capsys.readouterr().out
    assert "ai-success, seed 7" in out
    assert "★ AI" in out and "★ cycle h" in out
    assert "AI-assisted share 12 % -> 74 % over 8 weeks; median cycle time 70 h -> 25 h" in out
    for w, share in zip(MONDAYS, ["12%", "20%", "30%", "40%", "50%", "60%", "70%", "74%"], strict=True):
        line = next(ln for ln in out.splitlines() if w.isoformat() in ln)
        assert share in line
    assert "cycle p90" not in out  # only with --wide
    assert main(["describe", str(snap), "--wide"]) == 0
    assert "cycle p90" in capsys.readouterr().out


def test_describe_latest_and_scenario_override(data_root: Path, capsys) -> None:
    _snapshot(data_root / "snapshots" / "bn-seed7", team_weeks(top_reviewer_share=[0.6] * 8), "review-bottleneck")
    assert main(["describe", "--latest", "--scenario", "detective-game"]) == 0
    out = capsys.readouterr().out
    assert "★ guess acc" in out and "Reviewers guessed" in out
    assert main(["describe"]) == 0
    assert "Top reviewer does 60 % of reviews" in capsys.readouterr().out


def test_describe_computes_the_team_table_from_app_tables(tmp_path: Path, capsys) -> None:
    from pipeline.base.parquet import write_table
    from pipeline.base.schemas import spec

    for name, table in tiny_tables().items():
        write_table(table, spec(name), tmp_path / f"{name}.parquet")
    (tmp_path / "info.json").write_text(json.dumps({"week_starts": [w.isoformat() for w in WEEKS]}))
    assert main(["describe", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "computed from the app tables" in out
    assert "6 PRs merged over 3 weeks" in out  # team 1: 1 + 2 + 3
    assert "0 PRs merged over 3 weeks" in out  # team 2


def test_describe_user_errors(tmp_path: Path, capsys, data_root: Path) -> None:
    assert main(["describe", str(tmp_path)]) == 2
    assert "neither demoseed_team_weekly.parquet nor the app tables" in capsys.readouterr().err
    assert main(["describe", "--latest"]) == 2
    assert "no snapshot in" in capsys.readouterr().err


def test_snapshot_holds_the_weekly_tables_and_describe_tells_the_story(data_root: Path, capsys) -> None:
    gen = pytest.importorskip("stages.generate")
    if not hasattr(gen, "generate"):
        pytest.skip("stages.generate has no generate() yet")
    from pipeline.base.manifest import read_snapshot_tables, verify_snapshot

    assert main(["snapshot", "--scenario", "review-bottleneck", "--seed", "3", "--no-github"]) == 0
    snap = data_root / "snapshots" / "review-bottleneck-seed3-no-github"
    manifest = verify_snapshot(snap)
    tables = read_snapshot_tables(snap, ["metrics_weeklymetrics", "demoseed_team_weekly", "metrics_teammember"])
    assert manifest.tables["demoseed_team_weekly"].rows == tables["demoseed_team_weekly"].num_rows == 8
    active = sum(tables["metrics_teammember"].column("is_active").to_pylist())
    assert manifest.tables["metrics_weeklymetrics"].rows == active * 8
    capsys.readouterr()
    assert main(["describe", "--latest"]) == 0
    out = capsys.readouterr().out
    assert "review-bottleneck, seed 3" in out and "Bottleneck Team" in out
    assert "★ top reviewer" in out and "★ review h" in out
    top = re.search(r"Top reviewer does (\d+) % of reviews", out)
    assert top is not None and 55 <= int(top.group(1)) <= 65, out
