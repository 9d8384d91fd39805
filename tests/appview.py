"""The app's rules, as plain test helpers: what a user of the app sees from a set of app tables.

``../shared/docs/app-behaviour.md`` (read from the app itself) is the ground truth:

* :func:`as_of` -- the team as it stood at an instant ``t`` (what the loader shows when it
  loads at ``t``): PRs created after ``t`` are gone with all their children; a PR merged or
  closed after ``t`` is open, without merge/close fields; a first review after ``t`` is not
  there yet; reviews, commits, surveys, survey answers, check runs, deployments, Jira issues
  and AI-usage days dated after ``t`` are absent.
* :func:`bottleneck_alert` -- the review-bottleneck alert: per reviewer, the open non-draft
  PRs whose latest review by them is not ``approved``; it fires for the reviewer whose count
  exceeds 3 x the average of those counts over the reviewers that have any (and needs at
  least two such reviewers).
* :func:`weekly_means` / :func:`weekly_review_time_means` / :func:`weekly_cycle_time_means`
  -- the review/cycle time cards: the mean of ``review_time_hours`` / ``cycle_time_hours``
  over the PRs merged in each Monday week.
* :func:`guess_accuracy` -- the AI-detective leaderboard's team accuracy: correct guesses /
  guesses of the survey answers responded in a range.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

Tables = dict[str, Any]  # table name -> pa.Table or pl.DataFrame

# per child table: the timestamp column that dates it (a row after t is absent)
DATED = {
    "metrics_prreview": "submitted_at",
    "metrics_commit": "committed_at",
    "metrics_prfile": "created_at",
    "metrics_prcheckrun": "started_at",
    "metrics_prsurvey": "created_at",
    "metrics_prsurveyreview": "responded_at",
    "metrics_deployment": "deployed_at",
    "metrics_jiraissue": "issue_created_at",
}


def frames(tables: Tables) -> dict[str, pl.DataFrame]:
    """The tables as polars frames."""
    out = {}
    for name, t in tables.items():
        df = pl.from_arrow(t) if isinstance(t, pa.Table) else t
        assert isinstance(df, pl.DataFrame)
        out[name] = df
    return out


def as_of(tables: Tables, t: dt.datetime) -> dict[str, pl.DataFrame]:
    """The tables as the team stood at ``t`` (UTC): nothing dated after ``t``, every row consistent with it."""
    f = frames(tables)
    pr = f["metrics_pullrequest"].filter(pl.col("pr_created_at") <= t)
    resolved_later = (pl.col("state") == "merged") & (pl.col("merged_at") > t) | (pl.col("state") == "closed") & (
        pl.col("updated_at") > t
    )
    reviewed_later = pl.col("first_review_at") > t
    pr = pr.with_columns(
        pl.when(resolved_later).then(pl.lit("open")).otherwise(pl.col("state")).alias("state"),
        pl.when(resolved_later).then(None).otherwise(pl.col("merged_at")).alias("merged_at"),
        pl.when(resolved_later).then(None).otherwise(pl.col("cycle_time_hours")).alias("cycle_time_hours"),
        pl.when(reviewed_later).then(None).otherwise(pl.col("first_review_at")).alias("first_review_at"),
        pl.when(reviewed_later).then(None).otherwise(pl.col("review_time_hours")).alias("review_time_hours"),
    )
    out = dict(f)
    out["metrics_pullrequest"] = pr
    ids = pr.get_column("id")
    for name, col in DATED.items():
        if name not in f:
            continue
        df = f[name].filter(pl.col(col) <= t)
        if "pull_request_id" in df.columns:
            df = df.filter(pl.col("pull_request_id").is_null() | pl.col("pull_request_id").is_in(ids.implode()))
        out[name] = df
    if "metrics_prsurveyreview" in out:
        surveys = out["metrics_prsurvey"].get_column("id")
        out["metrics_prsurveyreview"] = out["metrics_prsurveyreview"].filter(
            pl.col("survey_id").is_in(surveys.implode())
        )
    if "metrics_aiusagedaily" in f:
        out["metrics_aiusagedaily"] = f["metrics_aiusagedaily"].filter(pl.col("date") <= t.date())
    return out


@dataclass(frozen=True)
class Alert:
    reviewer_id: int
    pending_count: int
    team_avg: float


def pending_counts(tables: Tables, team_id: int = 1) -> dict[int, int]:
    """Per reviewer: open, non-draft PRs whose latest review by them is not ``approved`` (reviewers with any)."""
    f = frames(tables)
    open_prs = f["metrics_pullrequest"].filter(
        (pl.col("team_id") == team_id) & (pl.col("state") == "open") & ~pl.col("is_draft")
    )
    latest = (
        f["metrics_prreview"]
        .filter(
            pl.col("reviewer_id").is_not_null() & pl.col("pull_request_id").is_in(open_prs.get_column("id").implode())
        )
        .sort("submitted_at", "id")
        .group_by("reviewer_id", "pull_request_id")
        .agg(pl.col("state").last())
    )
    counts = latest.filter(pl.col("state") != "approved").group_by("reviewer_id").len()
    return {int(r): int(n) for r, n in counts.iter_rows()}


def bottleneck_alert(tables: Tables, t: dt.datetime | None = None, team_id: int = 1) -> Alert | None:
    """The app's review-bottleneck alert for the team, on the tables as of ``t`` (None: as they are)."""
    counts = pending_counts(as_of(tables, t) if t is not None else tables, team_id)
    if len(counts) < 2:
        return None
    avg = sum(counts.values()) / len(counts)
    over = [(n, r) for r, n in counts.items() if n > 3 * avg]
    if not over:
        return None
    n, r = max(over)
    return Alert(reviewer_id=r, pending_count=n, team_avg=round(avg, 1))


def weekly_means(tables: Tables, column: str, team_id: int = 1) -> dict[dt.date, float]:
    """Mean ``column`` of the team's PRs merged in each Monday week (UTC), as the app's cards compute it."""
    pr = frames(tables)["metrics_pullrequest"].filter(
        (pl.col("team_id") == team_id) & (pl.col("state") == "merged") & pl.col(column).is_not_null()
    )
    weekly = (
        pr.with_columns(week=pl.col("merged_at").dt.truncate("1w").dt.date())
        .group_by("week")
        .agg(pl.col(column).cast(pl.Float64).mean())
        .sort("week")
    )
    return {w: float(v) for w, v in weekly.iter_rows()}


def weekly_review_time_means(tables: Tables, team_id: int = 1) -> dict[dt.date, float]:
    """Mean ``review_time_hours`` of the PRs merged in each Monday week."""
    return weekly_means(tables, "review_time_hours", team_id)


def weekly_cycle_time_means(tables: Tables, team_id: int = 1) -> dict[dt.date, float]:
    """Mean ``cycle_time_hours`` of the PRs merged in each Monday week."""
    return weekly_means(tables, "cycle_time_hours", team_id)


def guess_accuracy(tables: Tables, start: dt.date, end: dt.date, team_id: int = 1) -> tuple[float, int]:
    """(correct / guesses, guesses) of the team's survey answers responded from ``start`` to ``end`` inclusive."""
    sr = frames(tables)["metrics_prsurveyreview"].filter(
        (pl.col("team_id") == team_id)
        & pl.col("guess_correct").is_not_null()
        & pl.col("responded_at").dt.date().is_between(start, end)
    )
    n = sr.height
    return (float(sr.get_column("guess_correct").sum()) / n if n else float("nan")), n
