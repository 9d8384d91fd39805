"""The scenarios' stories, read through the aggregate stage's output, for several seeds.

The thresholds each scenario promises (AI share in its first and last week, the top reviewer's share,
the guess accuracy, a flat baseline) are declared once, in the scenario's TOML, and held for these
seeds by tests/test_promises.py; the tests here check the rest of each story (trends, headlines).

Also checks the vectorized member rows against a plain-Python reference
implementation (Decimal, ROUND_HALF_UP) on generated data.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from pipeline.paths import DEFAULT_ANCHOR
from stages.aggregate import aggregate
from stages.aggregate.story import headline, is_flat, pooled, relative_trend

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

gen = pytest.importorskip("stages.generate")
if not hasattr(gen, "generate") or not hasattr(gen, "GenerateConfig"):
    pytest.skip("stages.generate has no generate()/GenerateConfig yet", allow_module_level=True)

SEEDS = (1, 42, 2024)


@functools.cache
def generated(scenario: str, seed: int) -> tuple[dict[str, pa.Table], list[dt.date]]:
    res = gen.generate(gen.GenerateConfig(anchor=DEFAULT_ANCHOR, scenario=scenario, seed=seed))
    return res.tables, list(res.info.week_starts)


@functools.cache
def weekly(scenario: str, seed: int) -> dict[str, pa.Table]:
    tables, weeks = generated(scenario, seed)
    return aggregate(tables, week_starts=weeks)


def team(scenario: str, seed: int) -> pl.DataFrame:
    df = pl.from_arrow(weekly(scenario, seed)["demoseed_team_weekly"])
    assert isinstance(df, pl.DataFrame)
    assert df.get_column("team_id").n_unique() == 1
    return df.sort("week_start")


def col(df: pl.DataFrame, name: str) -> list[Any]:
    return df.get_column(name).to_list()


@pytest.mark.parametrize("seed", SEEDS)
def test_ai_success_adoption_rises_and_cycle_time_falls(seed: int) -> None:
    df = team("ai-success", seed)
    cycle = col(df, "cycle_time_median_hours")
    half = df.height // 2
    assert pooled(df.head(half), "ai_assisted_share", "surveys_completed") < pooled(
        df.tail(df.height - half), "ai_assisted_share", "surveys_completed"
    )
    assert cycle[-1] < 0.6 * cycle[0], (seed, cycle)
    assert relative_trend(df, "cycle_time_median_hours") < -0.5, (seed, cycle)
    assert not is_flat(df, "ai_assisted_share") and not is_flat(df, "cycle_time_median_hours")
    assert headline("ai-success", df).summary.startswith("AI-assisted share ")


@pytest.mark.parametrize("seed", SEEDS)
def test_review_bottleneck_review_time_rising(seed: int) -> None:
    df = team("review-bottleneck", seed)
    review = col(df, "review_time_median_hours")
    assert review[-1] > 2 * review[0], (seed, review)
    assert relative_trend(df, "review_time_median_hours") > 0.5, (seed, review)
    assert not is_flat(df, "review_time_median_hours")


@pytest.mark.parametrize("seed", SEEDS)
def test_baseline_headline(seed: int) -> None:
    df = team("baseline", seed)
    assert headline("baseline", df).summary.startswith("Flat over ")


@pytest.mark.parametrize("seed", SEEDS)
def test_detective_game_has_guesses_to_score(seed: int) -> None:
    df = team("detective-game", seed)
    assert int(df.get_column("guesses").sum()) >= 50


def test_one_member_row_per_active_member_per_week() -> None:
    tables, weeks = generated("ai-success", 42)
    rows = weekly("ai-success", 42)["metrics_weeklymetrics"]
    active = [m["id"] for m in tables["metrics_teammember"].to_pylist() if m["is_active"]]
    assert rows.num_rows == len(active) * len(weeks)
    assert rows.column("id").to_pylist() == list(range(1, rows.num_rows + 1))
    assert sorted(set(rows.column("week_start").to_pylist())) == weeks
    assert int(pl.from_arrow(rows).get_column("prs_merged").sum()) > 0


def _half_up(num: Decimal, places: str) -> Decimal:
    return num.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def reference_member_rows(tables: dict[str, pa.Table], weeks: list[dt.date]) -> list[dict[str, Any]]:
    """The app's weekly metrics, row by row in plain Python (slow and obvious)."""

    def week_of(ts: dt.datetime | None) -> dt.date | None:
        return None if ts is None else ts.date() - dt.timedelta(days=ts.weekday())

    # keyed (team, member, week): every query of the app's task filters by team and member
    acc: dict[tuple[int, int, dt.date], dict[str, Any]] = defaultdict(lambda: defaultdict(list))
    prs = {p["id"]: p for p in tables["metrics_pullrequest"].to_pylist()}
    for p in prs.values():
        if p["state"] == "merged" and p["merged_at"] is not None and p["author_id"] is not None:
            acc[(p["team_id"], p["author_id"], week_of(p["merged_at"]))]["prs"].append(p)
    # surveys and answers: the survey's author, its PR's merged_at (whatever the PR's state)
    surveys = {s["id"]: s for s in tables["metrics_prsurvey"].to_pylist()}
    for s in surveys.values():
        merged = prs[s["pull_request_id"]]["merged_at"]
        if merged is not None and s["author_id"] is not None:
            acc[(s["team_id"], s["author_id"], week_of(merged))]["surveys"].append(s)
    for r in tables["metrics_prsurveyreview"].to_pylist():
        s = surveys[r["survey_id"]]
        merged = prs[s["pull_request_id"]]["merged_at"]
        if merged is not None and s["author_id"] is not None:
            acc[(r["team_id"], s["author_id"], week_of(merged))]["answers"].append(r)
    for c in tables["metrics_commit"].to_pylist():
        if c["author_id"] is not None and c["committed_at"] is not None:
            acc[(c["team_id"], c["author_id"], week_of(c["committed_at"]))]["commits"].append(c)
    out = []
    members = sorted((m["team_id"], m["id"]) for m in tables["metrics_teammember"].to_pylist() if m["is_active"])
    for team_id, member_id in members:
        for w in weeks:
            a = acc.get((team_id, member_id, w), {})
            ps, ss, rs = a.get("prs", []), a.get("surveys", []), a.get("answers", [])
            cyc = [p["cycle_time_hours"] for p in ps if p["cycle_time_hours"] is not None]
            rev = [p["review_time_hours"] for p in ps if p["review_time_hours"] is not None]
            ratings = [r["quality_rating"] for r in rs if r["quality_rating"] is not None]
            guesses = sum(r["ai_guess"] is not None for r in rs)
            out.append(
                {
                    "team_id": team_id,
                    "member_id": member_id,
                    "week_start": w,
                    "prs_merged": len(ps),
                    "avg_cycle_time_hours": _half_up(sum(cyc) / len(cyc), "0.01") if cyc else None,
                    "avg_review_time_hours": _half_up(sum(rev) / len(rev), "0.01") if rev else None,
                    "commits_count": len(a.get("commits", [])),
                    "lines_added": sum(p["additions"] for p in ps),
                    "lines_removed": sum(p["deletions"] for p in ps),
                    "revert_count": sum(p["is_revert"] for p in ps),
                    "hotfix_count": sum(p["is_hotfix"] for p in ps),
                    # never written by the app's task: the model's defaults
                    "story_points_completed": Decimal("0.0"),
                    "issues_resolved": 0,
                    "ai_assisted_prs": sum(s["author_ai_assisted"] is True for s in ss),
                    # Avg() of an integer column is a float; DecimalField(3, 2) keeps 3 digits (half-even), then the cast
                    "avg_quality_rating": _half_up(
                        Context(prec=3).create_decimal_from_float(sum(ratings) / len(ratings)), "0.01"
                    )
                    if ratings
                    else None,
                    "surveys_completed": sum(s["author_responded_at"] is not None for s in ss),
                    # correct answers whether or not they carry a guess, over the answers with a guess
                    "guess_accuracy": Decimal(sum(r["guess_correct"] is True for r in rs) / guesses * 100).quantize(
                        Decimal("0.01")
                    )
                    if guesses
                    else None,
                }
            )
    return out


@pytest.mark.parametrize("scenario", ["ai-success", "detective-game"])
def test_member_rows_match_a_plain_python_reference(scenario: str) -> None:
    tables, weeks = generated(scenario, 42)
    got = weekly(scenario, 42)["metrics_weeklymetrics"].to_pylist()
    want = reference_member_rows(tables, weeks)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        for k, v in w.items():
            assert g[k] == v, (k, g, w)
    # the data exercises the interesting columns
    assert any(r["guess_accuracy"] is not None for r in got)
    assert any(r["avg_quality_rating"] is not None for r in got)
    assert any(r["surveys_completed"] > 0 for r in got)


def test_same_input_same_bytes(tmp_path) -> None:
    from pipeline.base.parquet import write_table
    from pipeline.base.schemas import spec

    tables, weeks = generated("review-bottleneck", 1)
    first = aggregate(tables, week_starts=weeks)
    second = aggregate(dict(tables), week_starts=list(weeks))
    for name in first:
        write_table(first[name], spec(name), tmp_path / "a" / f"{name}.parquet")
        write_table(second[name], spec(name), tmp_path / "b" / f"{name}.parquet")
        assert (tmp_path / "a" / f"{name}.parquet").read_bytes() == (tmp_path / "b" / f"{name}.parquet").read_bytes()


@pytest.mark.parametrize("scenario", ["review-bottleneck", "baseline"])
def test_team_counts_match_a_plain_python_reference(scenario: str) -> None:
    tables, weeks = generated(scenario, 1)
    assert len(weeks) == 8
    got = {(r["team_id"], r["week_start"]): r for r in weekly(scenario, 1)["demoseed_team_weekly"].to_pylist()}
    prs = tables["metrics_pullrequest"].to_pylist()
    reviews = [
        r
        for r in tables["metrics_prreview"].to_pylist()
        if r["reviewer_id"] is not None and r["submitted_at"] is not None and not r["is_ai_review"]
    ]
    for (team_id, w), row in got.items():
        end = dt.datetime(w.year, w.month, w.day, tzinfo=dt.UTC) + dt.timedelta(days=7)
        start = end - dt.timedelta(days=7)
        mine = [p for p in prs if p["team_id"] == team_id and p["pr_created_at"] is not None]

        def resolved(p: dict[str, Any]) -> dt.datetime | None:
            if p["state"] == "merged":
                return p["merged_at"] or p["updated_at"]
            return p["updated_at"] if p["state"] == "closed" else None

        assert row["prs_opened"] == sum(start <= p["pr_created_at"] < end for p in mine)
        assert row["open_prs_at_week_end"] == sum(
            p["pr_created_at"] < end and (resolved(p) is None or resolved(p) >= end) for p in mine
        ), (team_id, w)
        merged = [p for p in prs if p["team_id"] == team_id and p["state"] == "merged" and p["merged_at"]]
        merged = [p for p in merged if start <= p["merged_at"] < end]
        assert row["prs_merged"] == len(merged)
        if merged:
            assert row["revert_rate"] == pytest.approx(sum(p["is_revert"] for p in merged) / len(merged))
        by_reviewer: dict[int, int] = defaultdict(int)
        for r in reviews:
            if r["team_id"] == team_id and start <= r["submitted_at"] < end:
                by_reviewer[r["reviewer_id"]] += 1
        assert row["reviews"] == sum(by_reviewer.values())
        assert row["reviewers"] == len(by_reviewer)
        if by_reviewer:
            assert row["top_reviewer_share"] == pytest.approx(max(by_reviewer.values()) / sum(by_reviewer.values()))
