"""The warm-up: PRs created before the first week that are still in flight when it starts.

Week 1 must look like the middle of a team's life: its merges include PRs
opened earlier (so its cycle times track the curve instead of being cut
short), and it starts with an open backlog. Nothing is visible before the
window except through those PRs; nothing is at or after the window end.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import polars as pl
import pytest

from pipeline.paths import DEFAULT_ANCHOR
from stages.aggregate import aggregate
from stages.generate import GenerateConfig, GenerateResult, generate
from stages.generate.scenario import load_scenario
from stages.generate.validate import GenerationError, validate

UTC = dt.UTC


@functools.cache
def run(scenario: str, seed: int) -> GenerateResult:
    return generate(GenerateConfig(anchor=DEFAULT_ANCHOR, scenario=scenario, seed=seed))


def _window(r: GenerateResult) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    start = dt.datetime.combine(r.info.week_starts[0], dt.time(), UTC)
    end = dt.datetime.combine(r.info.window_end, dt.time(), UTC)
    warm = dt.datetime.combine(r.info.warmup_start, dt.time(), UTC)
    return warm, start, end


def test_warmup_prs_are_an_unresolved_backlog() -> None:
    r = run("ai-success", 42)
    assert r.info.warmup_weeks == 2  # 4 x 72 h week-1 cycle time, rounded up to weeks
    warm, start, end = _window(r)
    assert warm == start - dt.timedelta(days=14)
    prs = pl.from_arrow(r.tables["metrics_pullrequest"])
    early = prs.filter(pl.col("pr_created_at") < start)
    assert early.height == r.info.warmup_prs > 0
    assert early["pr_created_at"].min() >= warm
    # every one is still in flight at the window start: open, or merged / closed inside the window
    resolved = pl.when(pl.col("state") == "merged").then(pl.col("merged_at")).otherwise(pl.col("updated_at"))
    done = early.filter(pl.col("state") != "open").with_columns(resolved.alias("resolved"))
    assert done.height > 0 and done["resolved"].min() >= start and done["resolved"].max() < end
    assert set(early["state"]) <= {"open", "merged", "closed"}
    # their reviews and commits follow them, before or inside the window
    ids = early["id"]
    rv = pl.from_arrow(r.tables["metrics_prreview"]).filter(pl.col("pull_request_id").is_in(ids.implode()))
    assert rv.height > 0
    joined = rv.join(early.select(pl.col("id").alias("pull_request_id"), "pr_created_at"), on="pull_request_id")
    assert (joined["submitted_at"] > joined["pr_created_at"]).all()
    # members existed before their first PR
    members = pl.from_arrow(r.tables["metrics_teammember"])
    assert members["created_at"].max() < warm


def test_weekly_tables_keep_the_scenario_weeks_and_count_the_backlog() -> None:
    r = run("ai-success", 42)
    weeks = list(r.info.week_starts)
    out = aggregate(r.tables, week_starts=weeks)
    wm = pl.from_arrow(out["metrics_weeklymetrics"])
    assert sorted(set(wm["week_start"])) == weeks
    tw = pl.from_arrow(out["demoseed_team_weekly"]).sort("week_start")
    _, start, _ = _window(r)
    week1_end = start + dt.timedelta(days=7)
    prs = pl.from_arrow(r.tables["metrics_pullrequest"])
    opened = prs.filter((pl.col("pr_created_at") >= start) & (pl.col("pr_created_at") < week1_end)).height
    assert tw["prs_opened"][0] == opened
    resolved = pl.when(pl.col("state") == "merged").then(pl.col("merged_at"))
    resolved = resolved.when(pl.col("state") == "closed").then(pl.col("updated_at"))
    in_flight = prs.with_columns(resolved.alias("res")).filter(
        (pl.col("pr_created_at") < week1_end) & (pl.col("res").is_null() | (pl.col("res") >= week1_end))
    )
    backlog = in_flight.filter(pl.col("pr_created_at") < start).height
    assert backlog > 0
    assert tw["open_prs_at_week_end"][0] == in_flight.height


@pytest.mark.parametrize("scenario", ["ai-success", "review-bottleneck"])
def test_week_one_cycle_time_tracks_the_curve(scenario: str) -> None:
    """Mean over seeds of week 1's mean cycle time (PRs merged in week 1) within 5 % of the curve.

    Without the warm-up, ai-success's week 1 averaged 65 h against the curve's 72 h.
    """
    means, early_share = [], []
    for seed in range(1, 9):
        r = run(scenario, seed)
        _, start, _ = _window(r)
        prs = pl.from_arrow(r.tables["metrics_pullrequest"]).filter(
            (pl.col("state") == "merged") & (pl.col("merged_at") < start + dt.timedelta(days=7))
        )
        means.append(prs["cycle_time_hours"].cast(pl.Float64).mean())
        early_share.append((prs["pr_created_at"] < start).mean())
    target = float(load_scenario(scenario).curve("cycle_time_hours")[0])
    assert abs(np.mean(means) / target - 1) < 0.05, (means, target)
    assert np.mean(early_share) > 0, early_share  # exactly 0 without a warm-up


def test_a_fixed_pr_count_has_no_warmup() -> None:
    r = generate(GenerateConfig(anchor=DEFAULT_ANCHOR, scenario="ai-success", members=8, prs=120, weeks=6))
    assert r.info.warmup_weeks == 0 and r.info.warmup_prs == 0
    _, start, _ = _window(r)
    assert pl.from_arrow(r.tables["metrics_pullrequest"])["pr_created_at"].min() >= start


def test_validation_rejects_history_outside_the_warmup() -> None:
    r = run("ai-success", 42)
    warm, start, end = _window(r)
    kw = {"window_end": end.date(), "window_start": start.date(), "warmup_start": warm.date()}
    validate(dict(r.tables), **kw)
    # the same data with no warm-up allowed: PRs created before the window are refused
    with pytest.raises(GenerationError, match="pr_created_at on or after the warm-up start"):
        validate(dict(r.tables), window_end=end.date(), window_start=start.date(), warmup_start=start.date())
    # a PR created before the window must not be resolved before it
    with pytest.raises(GenerationError, match="unresolved at its start"):
        validate(dict(r.tables), **{**kw, "window_start": (start + dt.timedelta(days=21)).date()})
