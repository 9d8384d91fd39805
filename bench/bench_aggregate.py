"""Benchmark the aggregate stage on synthetic app tables of growing size.

Builds coherent app-shaped tables with numpy (teams x members x weeks x PRs per
member-week, reviews, commits, surveys, survey answers, Jira issues), runs
``stages.aggregate.aggregate`` on them and prints seconds, rows per second and
the time ratio between sizes (linear scaling keeps the ratio near the size ratio).

    .venv/bin/python bench/bench_aggregate.py               # 2 sizes, about a minute at most
    .venv/bin/python bench/bench_aggregate.py --teams 200 --weeks 52
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from decimal import Decimal

import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.base.schemas import spec
from stages.aggregate import aggregate
from stages.aggregate.frames import decimal_array

START = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
US_HOUR = 3_600_000_000


def _table(name: str, cols: dict[str, pa.Array | np.ndarray]) -> pa.Table:
    """A full-schema table: given columns, neutral defaults elsewhere."""
    schema = spec(name).schema
    n = len(next(iter(cols.values())))
    arrays = []
    for f in schema:
        if f.name in cols:
            arrays.append(
                pa.array(cols[f.name]).cast(f.type) if not isinstance(cols[f.name], pa.Array) else cols[f.name]
            )
        elif f.nullable:
            arrays.append(pa.nulls(n, f.type))
        elif pa.types.is_string(f.type):
            arrays.append(pa.array(["[]" if f.metadata and b"logical" in f.metadata else ""] * n, f.type))
        elif pa.types.is_boolean(f.type):
            arrays.append(pa.array(np.zeros(n, bool)))
        elif pa.types.is_timestamp(f.type):
            arrays.append(pa.array(np.full(n, int(START.timestamp() * 1e6)), pa.int64()).cast(f.type))
        elif pa.types.is_decimal(f.type):
            arrays.append(pa.array([Decimal(0)] * n, f.type))
        else:
            arrays.append(pa.array(np.zeros(n, np.int64)).cast(f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype(np.int64), pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _dec(units: np.ndarray, type_: pa.Decimal128Type) -> pa.Array:
    return decimal_array(pl.Series(units.astype(np.int64)), type_)


def build(teams: int, members: int, weeks: int, prs_per_week: int, seed: int = 7) -> dict[str, pa.Table]:
    g = np.random.default_rng(seed)
    n_members = teams * members
    member_ids = np.arange(1, n_members + 1)
    member_team = (member_ids - 1) // members + 1
    n_prs = n_members * weeks * prs_per_week
    author = np.repeat(member_ids, weeks * prs_per_week)
    week = np.tile(np.repeat(np.arange(weeks), prs_per_week), n_members)
    created = int(START.timestamp() * 1e6) + week * 7 * 24 * US_HOUR + g.integers(0, 5 * 24 * US_HOUR, n_prs)
    cycle_cents = g.integers(100, 9600, n_prs)
    review_cents = g.integers(10, 3000, n_prs)
    state = g.choice(np.array(["merged", "closed", "open"]), n_prs, p=[0.7, 0.2, 0.1])
    merged = state == "merged"
    merged_at = created + cycle_cents * (US_HOUR // 100)
    pr_ids = np.arange(1, n_prs + 1)
    prs = _table(
        "metrics_pullrequest",
        {
            "id": pr_ids,
            "team_id": member_team[author - 1],
            "github_pr_id": pr_ids,
            "author_id": author,
            "state": state,
            "pr_created_at": _ts(created),
            "merged_at": pa.array(merged_at, pa.int64(), mask=~merged).cast(pa.timestamp("us", tz="UTC")),
            "first_review_at": _ts(created + review_cents * (US_HOUR // 100)),
            "updated_at": _ts(merged_at),
            "cycle_time_hours": _dec(cycle_cents, pa.decimal128(10, 2)),
            "review_time_hours": _dec(review_cents, pa.decimal128(10, 2)),
            "additions": g.integers(0, 500, n_prs),
            "deletions": g.integers(0, 200, n_prs),
            "is_revert": g.random(n_prs) < 0.04,
            "is_hotfix": g.random(n_prs) < 0.05,
        },
    )
    rev_pr = np.repeat(pr_ids, 2)
    reviewer = (author[rev_pr - 1] % n_members) + 1
    reviews = _table(
        "metrics_prreview",
        {
            "id": np.arange(1, len(rev_pr) + 1),
            "team_id": member_team[author[rev_pr - 1] - 1],
            "pull_request_id": rev_pr,
            "reviewer_id": reviewer,
            "state": np.full(len(rev_pr), "approved"),
            "submitted_at": _ts(created[rev_pr - 1] + US_HOUR),
        },
    )
    com_pr = np.repeat(pr_ids, 3)
    commits = _table(
        "metrics_commit",
        {
            "id": np.arange(1, len(com_pr) + 1),
            "team_id": member_team[author[com_pr - 1] - 1],
            "github_sha": np.char.mod("%040x", np.arange(len(com_pr))),
            "author_id": author[com_pr - 1],
            "committed_at": _ts(created[com_pr - 1]),
        },
    )
    sv_pr = pr_ids[merged & (g.random(n_prs) < 0.7)]
    surveys = _table(
        "metrics_prsurvey",
        {
            "id": np.arange(1, len(sv_pr) + 1),
            "team_id": member_team[author[sv_pr - 1] - 1],
            "pull_request_id": sv_pr,
            "author_ai_assisted": g.random(len(sv_pr)) < 0.5,
        },
    )
    ans_sv = np.repeat(np.arange(1, len(sv_pr) + 1), 2)
    guess = g.random(len(ans_sv)) < 0.5
    answers = _table(
        "metrics_prsurveyreview",
        {
            "id": np.arange(1, len(ans_sv) + 1),
            "team_id": np.ones(len(ans_sv), np.int64),
            "survey_id": ans_sv,
            "reviewer_id": np.tile([1, 2], len(sv_pr)),
            "quality_rating": g.integers(1, 4, len(ans_sv)),
            "ai_guess": guess,
            "guess_correct": g.random(len(ans_sv)) < 0.6,
        },
    )
    jira_pr = pr_ids[merged]
    jira = _table(
        "metrics_jiraissue",
        {
            "id": np.arange(1, len(jira_pr) + 1),
            "team_id": member_team[author[jira_pr - 1] - 1],
            "jira_id": np.char.mod("%d", jira_pr),
            "assignee_id": author[jira_pr - 1],
            "story_points": _dec(g.integers(1, 80, len(jira_pr)), pa.decimal128(5, 1)),
            "resolved_at": _ts(merged_at[jira_pr - 1]),
        },
    )
    return {
        "teams_team": _table("teams_team", {"id": np.arange(1, teams + 1)}),
        "metrics_teammember": _table(
            "metrics_teammember", {"id": member_ids, "team_id": member_team, "is_active": np.ones(n_members, bool)}
        ),
        "metrics_pullrequest": prs,
        "metrics_prreview": reviews,
        "metrics_commit": commits,
        "metrics_prsurvey": surveys,
        "metrics_prsurveyreview": answers,
        "metrics_jiraissue": jira,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teams", type=int, default=50, help="teams at the smaller size (the larger is x4)")
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--prs", type=int, default=4, help="PRs per member per week")
    args = ap.parse_args()
    previous = None
    for factor in (1, 4):
        tables = build(args.teams * factor, args.members, args.weeks, args.prs)
        n_rows = sum(t.num_rows for t in tables.values())
        t0 = time.perf_counter()
        out = aggregate(tables)
        secs = time.perf_counter() - t0
        ratio = f", x{secs / previous:.1f} time for x4 size" if previous else ""
        print(
            f"{args.teams * factor} teams, {tables['metrics_pullrequest'].num_rows} PRs, {n_rows} input rows: "
            f"{secs:.2f} s ({n_rows / secs:,.0f} rows/s), "
            f"{out['metrics_weeklymetrics'].num_rows} member-weeks, {out['demoseed_team_weekly'].num_rows} team-weeks"
            f"{ratio}"
        )
        previous = secs


if __name__ == "__main__":
    main()
