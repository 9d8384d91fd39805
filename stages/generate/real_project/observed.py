"""Real-project mode, observed part: normalized gh_* tables -> app-shaped rows.

Everything here comes from GitHub (nothing random). Who is a bot, which
commits, reviews and files show AI at work and each file's category arrive as
columns of the normalized tables (``*_is_bot``, ``reviewer_is_ai_bot``,
``ai_tools``, ``ai_co_authors``, ``is_ai_config``, ``file_category``): normalize
recognises, this module only assembles. Decisions:

* PRs: the preset's repos only; PRs authored by bots are dropped (they are no
  one's work on the team); PRs of deleted users and of people beyond the
  member cap are kept with ``author_id`` NULL. The window is the preset's
  ``days_back`` days ending with the anchor's week; then the newest
  ``max_prs_per_repo`` PRs of each repo.
* Reviews: bot reviews are dropped (an AI review bot marks the PR
  ``has_ai_review`` instead); reviews of deleted users are kept with
  ``reviewer_id`` NULL.
* Members: the humans who authored or reviewed the kept PRs, ranked by
  activity (PRs + reviews; ties: earlier first appearance, then login),
  capped at the preset's ``max_members``; ids follow first appearance.
* Metrics from real timestamps: ``cycle_time_hours`` = merged - created;
  ``first_review_at`` = first review by someone other than the author;
  ``review_time_hours`` = first review - created; ``review_rounds`` = changes
  requested + 1 when reviewed; ``commits_after_first_review``;
  ``avg_fix_response_hours`` = mean time from a change request to the first
  commit strictly after it. Negative spans (clock skew) become 0.
* Ids: PRs in order of (created, repo, number); children in PR order. A
  commit sha shared by several PRs is kept once, on its earliest PR (the app
  keys commits by (team, sha)).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

import numpy as np
import polars as pl

from pipeline.base.appdecimal import decimal_from_units, mean_hours_units, round_float_units


def to_json(values: list[Any]) -> list[str]:
    """JSON text per row (compact, key order kept) for the app's jsonb columns."""
    return [json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in values]


def newest_event(prs: pl.DataFrame, reviews: pl.DataFrame) -> dt.datetime | None:
    """The newest creation, merge, close or review time, or None without any."""
    candidates = [prs["created_at"].max(), prs["merged_at"].max(), prs["closed_at"].max()]
    if reviews.height:
        candidates.append(reviews["submitted_at"].max())
    times = [t for t in candidates if isinstance(t, dt.datetime)]
    return max(times) if times else None


def select_prs(
    prs: pl.DataFrame, repos: tuple[str, ...], start: dt.datetime, end: dt.datetime, cap: int, report: Counter[str]
) -> pl.DataFrame:
    """The preset's PRs in the window, bots' PRs dropped, newest ``cap`` per repo."""
    wanted = {r.lower(): r for r in repos}
    prs = prs.filter(pl.col("repo").str.to_lowercase().is_in(list(wanted)))
    bots = prs.filter(pl.col("author_is_bot")).height
    if bots:
        report["PRs authored by bots dropped"] += bots
    prs = prs.filter(~pl.col("author_is_bot"))
    in_window = (pl.col("created_at") >= start) & (pl.col("created_at") < end)
    outside = prs.filter(~in_window).height
    if outside:
        report["PRs created outside the window dropped"] += outside
    prs = prs.filter(in_window)
    ranked = prs.with_columns(
        _rank=pl.col("created_at").rank("ordinal", descending=True).over("repo"),
    )
    over = ranked.filter(pl.col("_rank") > cap).height
    if over:
        report["PRs beyond max_prs_per_repo dropped (oldest first)"] += over
    return (
        ranked.filter(pl.col("_rank") <= cap)
        .drop("_rank")
        .sort(["created_at", "repo", "number"])
        .with_row_index("pr_id", offset=1)
        .with_columns(pl.col("pr_id").cast(pl.Int64))
    )


def select_reviews(prs: pl.DataFrame, reviews: pl.DataFrame, report: Counter[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Human reviews of the kept PRs, and per PR whether an AI review bot reviewed it."""
    rv = reviews.join(prs.select("repo", "number", "pr_id", "author_login"), on=["repo", "number"], how="inner")
    ai_review = (
        rv.filter(pl.col("reviewer_is_ai_bot"))
        .group_by("pr_id")
        .agg(ai_review_bots=pl.col("reviewer_login").unique().sort())
    )
    bots = rv.filter(pl.col("reviewer_is_bot")).height
    if bots:
        report["reviews by bots dropped"] += bots
    rv = rv.filter(~pl.col("reviewer_is_bot")).rename({"author_login": "pr_author_login"})
    return rv, ai_review


def members(prs: pl.DataFrame, reviews: pl.DataFrame, cap: int, report: Counter[str]) -> pl.DataFrame:
    """Members: login, github_id, first_seen_at, prs, reviews, member_id (first appearance)."""
    events = pl.concat(
        [
            prs.select(login="author_login", uid="author_id", at="created_at", pr=pl.lit(1), rv=pl.lit(0)),
            reviews.select(
                login="reviewer_login",
                uid="reviewer_id",
                at=pl.coalesce("submitted_at", pl.col("pr_created_at")),
                pr=pl.lit(0),
                rv=pl.lit(1),
            ),
        ]
    ).filter(pl.col("login").is_not_null())
    people = events.group_by("login").agg(
        github_id=pl.col("uid").max(),
        first_seen_at=pl.col("at").min(),
        prs=pl.col("pr").sum(),
        reviews=pl.col("rv").sum(),
    )
    ranked = people.with_columns(activity=pl.col("prs") + pl.col("reviews")).sort(
        ["activity", "first_seen_at", "login"], descending=[True, False, False]
    )
    if ranked.height > cap:
        report["people beyond max_members left out (their PRs/reviews kept unattributed)"] += ranked.height - cap
    return (
        ranked.head(cap)
        .sort(["first_seen_at", "login"])
        .with_row_index("member_id", offset=1)
        .with_columns(pl.col("member_id").cast(pl.Int64))
    )


def _span_hours(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """``(later - earlier).total_seconds() / 3600`` as the app's Python computes it (a float), never below 0."""
    us = pl.max_horizontal((later - earlier).dt.total_microseconds(), pl.lit(0))
    return us / 1_000_000 / 3600.0


def _to_decimal(hours: pl.Series) -> pl.Series:
    """Float hours -> decimal(10, 2) as the app's ``round(hours, 2)``."""
    units = round_float_units(hours.fill_null(0.0).to_numpy())
    out = pl.from_arrow(decimal_from_units(units, hours.is_not_null().to_numpy(), 10, 2))
    assert isinstance(out, pl.Series)
    return out.alias(hours.name)


def _hours(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """The app's ``round(total_seconds / 3600, 2)`` as decimal(10, 2)."""
    return _span_hours(later, earlier).map_batches(_to_decimal, return_dtype=pl.Decimal(10, 2))


def _mean_fix_hours(hours: pl.Series) -> pl.Series:
    """Per PR the app's ``round(sum(responses) / len(responses), 2)``, responses in review order."""
    units = [mean_hours_units(h) for h in hours.to_list()]
    out = pl.from_arrow(decimal_from_units(np.array(units, np.int64), None, 10, 2))
    assert isinstance(out, pl.Series)
    return out.alias(hours.name)


def pr_metrics(prs: pl.DataFrame, reviews: pl.DataFrame, commits: pl.DataFrame) -> pl.DataFrame:
    """Per pr_id: first_review_at, review/cycle times, rounds, fix response, commits after review."""
    rv = reviews.filter(
        pl.col("pr_author_login").is_null() | (pl.col("reviewer_login") != pl.col("pr_author_login")).fill_null(True)
    )
    first = rv.group_by("pr_id").agg(
        first_review_at=pl.col("submitted_at").min(),
        _reviewed=pl.len(),
        _changes=(pl.col("state") == "changes_requested").sum(),
    )
    out = prs.select("pr_id", "created_at", "merged_at").join(first, on="pr_id", how="left")
    after = (
        commits.join(first.select("pr_id", "first_review_at"), on="pr_id", how="inner")
        .filter(pl.col("committed_at") > pl.col("first_review_at"))
        .group_by("pr_id")
        .agg(_after=pl.len())
    )
    cr = rv.filter((pl.col("state") == "changes_requested") & pl.col("submitted_at").is_not_null())
    cm = commits.filter(pl.col("committed_at").is_not_null()).select("pr_id", "committed_at").sort("committed_at")
    fix = (
        cr.select("pr_id", "submitted_at")
        .sort("submitted_at")
        .join_asof(  # the first commit strictly after the request, as the app's sync pairs them
            cm,
            left_on="submitted_at",
            right_on="committed_at",
            by="pr_id",
            strategy="forward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .filter(pl.col("committed_at").is_not_null())
        .group_by("pr_id")
        .agg(_fix=_span_hours(pl.col("committed_at"), pl.col("submitted_at")))
        .with_columns(pl.col("_fix").map_batches(_mean_fix_hours, return_dtype=pl.Decimal(10, 2)))
    )
    out = out.join(after, on="pr_id", how="left").join(fix, on="pr_id", how="left")
    reviewed = pl.col("first_review_at").is_not_null()
    return out.select(
        "pr_id",
        "first_review_at",
        cycle_time_hours=pl.when(pl.col("merged_at").is_not_null()).then(
            _hours(pl.col("merged_at"), pl.col("created_at"))
        ),
        review_time_hours=pl.when(reviewed).then(_hours(pl.col("first_review_at"), pl.col("created_at"))),
        review_rounds=pl.when(pl.col("_reviewed") > 0).then(pl.col("_changes") + 1).cast(pl.Int32),
        avg_fix_response_hours=pl.col("_fix"),
        commits_after_first_review=pl.when(reviewed).then(pl.col("_after").fill_null(0)).cast(pl.Int32),
    )


def ai_evidence(prs: pl.DataFrame, commits: pl.DataFrame, files: pl.DataFrame, ai_review: pl.DataFrame) -> pl.DataFrame:
    """Per pr_id the observed AI signals: tools of AI commits, AI review bots, AI instruction files."""
    commit_tools = (
        commits.filter(pl.col("ai_tools").list.len() > 0)
        .group_by("pr_id")
        .agg(
            ai_tools=pl.col("ai_tools").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
            ai_commits=pl.len(),
        )
    )
    ai_files = files.filter(pl.col("is_ai_config")).group_by("pr_id").agg(ai_files=pl.col("path").unique().sort())
    empty = pl.lit([], dtype=pl.List(pl.String))
    return (
        prs.select("pr_id")
        .join(commit_tools, on="pr_id", how="left")
        .join(ai_review, on="pr_id", how="left")
        .join(ai_files, on="pr_id", how="left")
        .with_columns(
            ai_tools=pl.col("ai_tools").fill_null(empty),
            ai_commits=pl.col("ai_commits").fill_null(0),
            ai_review_bots=pl.col("ai_review_bots").fill_null(empty),
            ai_files=pl.col("ai_files").fill_null(empty),
        )
        .sort("pr_id")
    )
