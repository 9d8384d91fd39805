"""The generate stage: stories visible in the data (as the app computes weekly metrics), coherence.

Weekly values are computed here from the generated tables with the app's own
definitions (app-schema.md): PRs bucketed by the Monday of their merge week,
AI-assisted = the author said yes in the survey, guess accuracy from the
reviewers' survey answers.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from pipeline.paths import DEFAULT_ANCHOR
from stages.generate import GenerateConfig, generate
from stages.generate.scenario import load_scenario
from stages.generate.synthetic.team import roster
from stages.generate.validate import GenerationError, validate

SEEDS = (1, 7, 42, 1234)
_cache: dict[tuple, dict[str, pl.DataFrame]] = {}


def frames(scenario: str, seed: int, **kw) -> dict[str, pl.DataFrame]:
    key = (scenario, seed, tuple(sorted(kw.items())))
    if key not in _cache:
        result = generate(GenerateConfig(anchor=DEFAULT_ANCHOR, scenario=scenario, seed=seed, **kw))
        _cache[key] = {k: pl.from_arrow(v) for k, v in result.tables.items()}
    return _cache[key]


def surveyed_merged(f: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Surveys with an author answer, joined to their PR, with the app's merge-week bucket."""
    pr = f["metrics_pullrequest"].select("id", "author_id", "merged_at", "is_ai_assisted")
    return (
        f["metrics_prsurvey"]
        .filter(pl.col("author_ai_assisted").is_not_null())
        .join(pr, left_on="pull_request_id", right_on="id", suffix="_pr")
        .with_columns(week=pl.col("merged_at").dt.truncate("1w").dt.date())
    )


def weekly_ai_share(f: dict[str, pl.DataFrame]) -> list[float]:
    s = surveyed_merged(f).group_by("week").agg(pl.col("author_ai_assisted").mean()).sort("week")
    return s["author_ai_assisted"].to_list()


def archetype_of(scenario: str) -> dict[int, str]:
    sc = load_scenario(scenario)
    names = [sc.archetypes[i].name for i in roster(sc).archetype]
    return {i + 1: n for i, n in enumerate(names)}  # member ids of team 1


@pytest.mark.parametrize("seed", SEEDS)
def test_ai_success_share_rises(seed: int) -> None:
    f = frames("ai-success", seed)
    share = weekly_ai_share(f)
    assert len(share) == 8
    assert share[0] <= 0.20
    assert share[-1] >= 0.65
    # the PR flag agrees with the author's answer
    s = surveyed_merged(f)
    assert (s["author_ai_assisted"] == s["is_ai_assisted"]).all()
    # cycle time falls 72 h -> 24 h: the first weeks are clearly slower than the last
    pr = f["metrics_pullrequest"].filter(pl.col("state") == "merged")
    cyc = (
        pr.with_columns(week=pl.col("merged_at").dt.truncate("1w"))
        .group_by("week")
        .agg(pl.col("cycle_time_hours").cast(pl.Float64).mean())
        .sort("week")["cycle_time_hours"]
    )
    assert cyc[:2].mean() > 50 and cyc[-2:].mean() < 35


@pytest.mark.parametrize("seed", SEEDS)
def test_review_bottleneck_reviewer_does_60_percent(seed: int) -> None:
    f = frames("review-bottleneck", seed)
    reviews = f["metrics_prreview"]
    arch = archetype_of("review-bottleneck")
    by = reviews.group_by("reviewer_id").len()
    counts = {arch[r]: 0 for r in arch}
    for r, n in by.iter_rows():
        counts[arch[r]] += n
    total = reviews.height
    assert 0.55 <= counts["bottleneck_reviewer"] / total <= 0.65
    assert counts["productive_dev"] / total == pytest.approx(0.25, abs=0.05)
    assert counts["balanced_dev"] / total == pytest.approx(0.15, abs=0.05)
    # review time climbs 8 h -> 32 h
    pr = f["metrics_pullrequest"].filter(pl.col("state") == "merged")
    rt = (
        pr.with_columns(week=pl.col("merged_at").dt.truncate("1w"))
        .group_by("week")
        .agg(pl.col("review_time_hours").cast(pl.Float64).mean())
        .sort("week")["review_time_hours"]
    )
    assert rt[:2].mean() < 15 and rt[-2:].mean() > 22


@pytest.mark.parametrize("seed", SEEDS)
def test_baseline_has_no_trend(seed: int) -> None:
    f = frames("baseline", seed)
    share = np.array(weekly_ai_share(f))
    assert np.all((share >= 0.0) & (share <= 0.30))
    assert abs(share[:4].mean() - share[4:].mean()) < 0.08
    pr = f["metrics_pullrequest"].filter(pl.col("state") == "merged")
    cyc = (
        pr.with_columns(week=pl.col("merged_at").dt.truncate("1w"))
        .group_by("week")
        .agg(pl.col("cycle_time_hours").cast(pl.Float64).mean())
        .sort("week")["cycle_time_hours"]
        .to_numpy()
    )
    slope = np.polyfit(np.arange(len(cyc)), cyc, 1)[0]
    assert abs(slope) < 2.0  # hours per week; ai-success falls ~7 h per week


@pytest.mark.parametrize("seed", SEEDS)
def test_detective_game_accuracy(seed: int) -> None:
    f = frames("detective-game", seed)
    arch = archetype_of("detective-game")
    sr = f["metrics_prsurveyreview"].join(
        f["metrics_prsurvey"].select("id", "author_id"), left_on="survey_id", right_on="id"
    )
    team_acc = sr["guess_correct"].mean()
    assert 0.30 <= team_acc <= 0.70
    acc = {}
    for a in ("obvious_ai", "stealth_ai", "obvious_manual", "stealth_manual"):
        ids = [m for m, n in arch.items() if n == a]
        acc[a] = sr.filter(pl.col("author_id").is_in(ids))["guess_correct"].mean()
    assert 0.55 <= acc["obvious_ai"] <= 0.70
    assert 0.20 <= acc["stealth_ai"] <= 0.35
    assert 0.25 <= acc["obvious_manual"] <= 0.40
    assert 0.50 <= acc["stealth_manual"] <= 0.65
    assert min(acc["obvious_ai"], acc["stealth_manual"]) > max(acc["obvious_manual"], acc["stealth_ai"])
    # guesses are consistent with the author's answer
    s = sr.join(f["metrics_prsurvey"].select("id", "author_ai_assisted"), left_on="survey_id", right_on="id")
    assert (s["guess_correct"] == (s["ai_guess"] == s["author_ai_assisted"])).all()


@pytest.mark.parametrize("scenario", ["ai-success", "review-bottleneck", "baseline", "detective-game"])
def test_tables_are_coherent(scenario: str) -> None:
    f = frames(scenario, 42)
    end = dt.datetime(2026, 1, 12, tzinfo=dt.UTC)  # default anchor 2026-01-05 + 7 days
    pr = f["metrics_pullrequest"]
    assert pr.height > 100
    assert set(pr["state"].unique()) == {"open", "merged", "closed"}
    merged = pr.filter(pl.col("state") == "merged")
    assert (merged["merged_at"] > merged["first_review_at"]).all()
    assert merged["cycle_time_hours"].null_count() == 0
    rv = f["metrics_prreview"].join(
        pr.select("id", "author_id", "pr_created_at"), left_on="pull_request_id", right_on="id"
    )
    assert (rv["reviewer_id"] != rv["author_id"]).all()
    assert (rv["submitted_at"] > rv["pr_created_at"]).all()
    assert rv.select("pull_request_id", "reviewer_id").is_unique().all()
    surveys = f["metrics_prsurvey"].join(
        pr.select("id", "state", "merged_at"), left_on="pull_request_id", right_on="id"
    )
    assert (surveys["state"] == "merged").all()
    assert (surveys["author_responded_at"] > surveys["merged_at"]).all()
    # ~70 % of merged PRs get a survey
    assert surveys.height / merged.height == pytest.approx(0.70, abs=0.03)
    for name, t in f.items():
        for col, dtype in t.schema.items():
            if isinstance(dtype, pl.Datetime):
                assert (t[col].drop_nulls() < end).all(), (name, col)
    commits = f["metrics_commit"].join(
        pr.select("id", "pr_created_at", "merged_at"), left_on="pull_request_id", right_on="id"
    )
    assert (commits["committed_at"] >= commits["pr_created_at"]).all()
    m = commits.filter(pl.col("merged_at").is_not_null())
    assert (m["committed_at"] <= m["merged_at"]).all()
    assert commits["github_sha"].str.contains(r"^[0-9a-f]{40}$").all()
    assert pr["labels"].str.starts_with("[").all() and pr["ai_signals"].str.starts_with("{").all()
    jira = f["metrics_jiraissue"]
    assert set(pr.filter(pl.col("jira_key") != "")["jira_key"]) == set(jira["jira_key"])
    assert pr["title"].str.len_chars().min() > 10


def test_validation_fails_loudly_on_broken_tables() -> None:
    result = generate(GenerateConfig(anchor=DEFAULT_ANCHOR, scenario="baseline", seed=3))
    tables = dict(result.tables)
    rv = tables["metrics_prreview"]
    pr = tables["metrics_pullrequest"]
    author = dict(zip(pr["id"].to_pylist(), pr["author_id"].to_pylist(), strict=True))
    bad = rv.set_column(
        rv.schema.get_field_index("reviewer_id"),
        "reviewer_id",
        [[author[p] for p in rv["pull_request_id"].to_pylist()]],
    )
    tables["metrics_prreview"] = bad
    with pytest.raises(GenerationError, match=r"metrics_prreview breaks rule 'reviewer is not the PR author'.*e\.g\."):
        validate(tables, window_end=dt.date(2026, 1, 12))
    with pytest.raises(GenerationError, match=r"before the window end 2025-12-01"):
        validate(dict(result.tables), window_end=dt.date(2025, 12, 1))


def test_seed_changes_data_and_anchor_moves_weeks() -> None:
    a = generate(GenerateConfig(anchor=DEFAULT_ANCHOR, scenario="ai-success", seed=1))
    b = generate(GenerateConfig(anchor=DEFAULT_ANCHOR, scenario="ai-success", seed=2))
    assert a.tables["metrics_pullrequest"]["title"] != b.tables["metrics_pullrequest"]["title"]
    assert a.tables["metrics_teammember"]["email"] != b.tables["metrics_teammember"]["email"]
    c = generate(GenerateConfig(scenario="ai-success", seed=1, anchor=dt.date(2026, 3, 2), weeks=4))
    assert [w.isoformat() for w in c.info.week_starts] == ["2026-02-09", "2026-02-16", "2026-02-23", "2026-03-02"]
    assert max(c.tables["metrics_pullrequest"]["updated_at"].to_pylist()) < dt.datetime(2026, 3, 9, tzinfo=dt.UTC)
    assert a.info.anchor == dt.date(2026, 1, 5) and a.info.real_share == 0.0
    assert "no real GitHub data" in (a.info.real_share_reason or "")


def test_adding_a_team_leaves_team_one_unchanged() -> None:
    one = generate(GenerateConfig(anchor=DEFAULT_ANCHOR, scenario="review-bottleneck", seed=5, teams=1)).tables
    two = generate(GenerateConfig(anchor=DEFAULT_ANCHOR, scenario="review-bottleneck", seed=5, teams=2)).tables
    assert two["teams_team"]["slug"].to_pylist() == ["bottleneck-team", "bottleneck-team-2"]
    for name, t1 in one.items():
        t2 = two[name]
        first = t2.filter(t2["team_id"].to_numpy() == 1) if name != "teams_team" else t2.slice(0, 1)
        assert first.equals(t1), name
        if name != "teams_team":
            assert t2.num_rows > t1.num_rows, name
    # the second team tells the same story with different people and PRs
    assert two["metrics_teammember"]["email"][5] != two["metrics_teammember"]["email"][0]


def test_legacy_mode() -> None:
    r = generate(
        GenerateConfig(anchor=DEFAULT_ANCHOR, scenario=None, teams=3, members=4, prs=50, team_slug="acme", seed=9)
    )
    t = r.tables
    assert t["teams_team"]["slug"].to_pylist() == ["acme", "acme-2", "acme-3"]
    assert t["metrics_teammember"].num_rows == 12
    counts = pl.from_arrow(t["metrics_pullrequest"]).group_by("team_id").len().sort("team_id")["len"].to_list()
    assert counts == [50, 50, 50]
    assert r.info.mode == "legacy" and r.info.scenario == "legacy"
    again = generate(
        GenerateConfig(anchor=DEFAULT_ANCHOR, scenario=None, teams=3, members=4, prs=50, team_slug="acme", seed=9)
    )
    assert again.tables["metrics_prreview"].equals(t["metrics_prreview"])


@pytest.mark.parametrize("seed", [1, 5, 9, 2024])
def test_legacy_mode_is_baseline_like_even_for_small_teams(seed: int) -> None:
    """~15 % AI share (baseline's curve) even when a team-week has only one or two surveys."""
    t = generate(GenerateConfig(anchor=DEFAULT_ANCHOR, scenario=None, teams=3, members=4, prs=20, seed=seed)).tables
    surveys = pl.from_arrow(t["metrics_prsurvey"]).filter(pl.col("author_ai_assisted").is_not_null())
    share = surveys["author_ai_assisted"].sum() / surveys.height
    assert 0.09 <= share <= 0.21, share
    prs = pl.from_arrow(t["metrics_pullrequest"])
    surveyed = prs.join(surveys.select(pl.col("pull_request_id").alias("id"), "author_ai_assisted"), on="id")
    assert (surveyed["is_ai_assisted"] == surveyed["author_ai_assisted"]).all()


def test_members_and_prs_override_a_scenario() -> None:
    r = generate(GenerateConfig(anchor=DEFAULT_ANCHOR, scenario="ai-success", members=8, prs=120, weeks=6))
    assert r.tables["metrics_teammember"].num_rows == 8
    assert r.tables["metrics_pullrequest"].num_rows == 120
    assert len(r.info.week_starts) == 6
