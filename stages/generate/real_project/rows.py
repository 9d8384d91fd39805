"""Real-project mode: app-shaped rows from the selected real PRs and their children.

The columns the app needs but GitHub does not know are filled the way the
app's own sync leaves them (``''``, ``[]``, ``{}``, NULL), except
``is_ai_assisted`` (simulated: the preset's AI base rate, higher for larger
PRs, quota-drawn so the realized share tracks the rate; observed True when
commits carry an AI co-author or AI agent) and ``jira_key`` (the simulated
Jira issue of the PR).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.base.parquet import conform
from pipeline.base.projects import Preset
from pipeline.base.schemas import spec
from stages.generate.real_project.observed import to_json

UTC = pl.Datetime("us", "UTC")
FILENAME_MAX = 500
AI_DETECTION_VERSION = "ds-1"


def team_table(preset: Preset, team_id: int, start: dt.datetime) -> pa.Table:
    row = {
        "id": team_id,
        "created_at": start,
        "updated_at": start,
        "subscription_id": None,
        "customer_id": None,
        "billing_details_last_changed": start,
        "last_synced_with_stripe": None,
        "name": preset.team_name[:100],
        "slug": preset.team_slug[:50],
        "onboarding_complete": True,
        "onboarding_pipeline_status": "complete",
        "onboarding_pipeline_error": None,
        "onboarding_pipeline_started_at": None,
        "onboarding_pipeline_completed_at": None,
        "background_sync_progress": 100,
        "background_llm_progress": 100,
        "copilot_status": "disabled",
        "copilot_last_sync_at": None,
        "copilot_consecutive_failures": 0,
        "copilot_price_tier": "",
    }
    s = spec("teams_team")
    return conform(pa.Table.from_pylist([row], schema=s.schema), s)


def member_frame(people: pl.DataFrame, team_id: int) -> pl.DataFrame:
    """metrics_teammember rows; the most active member is the lead."""
    gid = pl.col("github_id").cast(pl.String).fill_null("")
    email = (
        pl.when(gid != "")
        .then(pl.format("{}+{}@users.noreply.github.com", gid, pl.col("login")))
        .otherwise(pl.format("{}@users.noreply.github.com", pl.col("login")))
        .str.to_lowercase()
    )
    top = people.sort(["activity", "first_seen_at", "login"], descending=[True, False, False])["login"].head(1)
    return people.select(
        id="member_id",
        created_at="first_seen_at",
        updated_at="first_seen_at",
        team_id=pl.lit(team_id, dtype=pl.Int64),
        email=email,
        display_name="login",
        github_username="login",
        github_id=gid,
        jira_account_id=pl.lit(""),
        slack_user_id=pl.lit(""),
        copilot_last_activity_at=pl.lit(None, dtype=UTC),
        copilot_last_editor=pl.lit(None, dtype=pl.String),
        role=pl.when(pl.col("login").is_in(top.to_list())).then(pl.lit("lead")).otherwise(pl.lit("developer")),
        is_active=pl.lit(True),
    )


def _member_id(df: pl.DataFrame, login_col: str, member_of: pl.DataFrame, out: str) -> pl.DataFrame:
    return df.join(member_of.rename({"login": login_col, "member_id": out}), on=login_col, how="left")


def ai_probability(prs: pl.DataFrame, rate: float) -> np.ndarray:
    """Per PR: the preset's AI base rate x 0.6 .. 1.4 by size rank (larger PRs more often AI-assisted)."""
    size = (prs["additions"] + prs["deletions"]).to_numpy().astype(np.float64)
    n = len(size)
    if n == 0:
        return np.zeros(0)
    rank = np.argsort(np.argsort(size, kind="stable"), kind="stable") / max(n - 1, 1)
    return np.clip(rate * (0.6 + 0.8 * rank), 0.0, 1.0)


def pull_request_frame(
    prs: pl.DataFrame,
    metrics: pl.DataFrame,
    evidence: pl.DataFrame,
    member_of: pl.DataFrame,
    team_id: int,
    synced: dt.datetime,
) -> pl.DataFrame:
    """metrics_pullrequest rows (+ _real_repo/_real_number/_ai_observed/_p_ai helpers)."""
    df = prs.join(metrics, on="pr_id", how="left").join(evidence, on="pr_id", how="left").sort("pr_id")
    df = _member_id(df, "author_login", member_of, "author_member_id").sort("pr_id")
    title = pl.col("title").str.to_lowercase()
    return df.with_columns(_signals=_signals_json(df), _n_signals=_n_signals(df)).select(
        id="pr_id",
        created_at="created_at",
        updated_at="updated_at",
        team_id=pl.lit(team_id, dtype=pl.Int64),
        github_pr_id="number",
        github_repo="repo",
        title="title",
        body="body",
        author_id="author_member_id",
        state="state",
        pr_created_at="created_at",
        **_review_metrics(),
        additions=pl.col("additions").cast(pl.Int32),
        deletions=pl.col("deletions").cast(pl.Int32),
        is_revert=title.str.starts_with("revert"),
        is_hotfix=title.str.contains("hotfix", literal=True)
        | pl.col("head_ref").str.to_lowercase().str.contains("hotfix", literal=True)
        | pl.col("labels").list.eval(pl.element().str.to_lowercase() == "hotfix").list.any().fill_null(False),
        is_draft="is_draft",
        labels=pl.Series(to_json(df["labels"].to_list())),
        milestone_title=pl.col("milestone_title").str.slice(0, 255),
        assignees=pl.Series(to_json(df["assignees"].to_list())),
        linked_issues=pl.Series(to_json(df["linked_issues"].to_list())),
        **_ai_evidence(df),
        jira_key=pl.lit(""),  # simulated later
        synced_at=pl.lit(synced, dtype=UTC),
        # kept for provenance (not app columns)
        _real_repo="repo",
        _real_number="number",
        _ai_observed=pl.col("ai_commits") > 0,
    )


def _signals_json(df: pl.DataFrame) -> pl.Series:
    """Per PR, the AI signals seen (tools, AI review bots, AI config files) as the app's JSON object."""
    signals = [
        {"ai_tools": t, "ai_review_bots": r, "ai_files": f} if (t or r or f) else {}
        for t, r, f in zip(df["ai_tools"].to_list(), df["ai_review_bots"].to_list(), df["ai_files"].to_list())
    ]
    return pl.Series(to_json(signals))


def _n_signals(df: pl.DataFrame) -> pl.Series:
    """How many kinds of AI signal a PR shows (0 to 3)."""
    return (
        (df["ai_tools"].list.len() > 0).cast(pl.Int32)
        + (df["ai_review_bots"].list.len() > 0).cast(pl.Int32)
        + (df["ai_files"].list.len() > 0).cast(pl.Int32)
    )


def _review_metrics() -> dict[str, Any]:
    """The merge and review columns (merged_at .. total_comments) from the real timestamps."""
    dec = pl.Decimal(10, 2)
    return {
        "merged_at": "merged_at",
        "first_review_at": "first_review_at",
        "cycle_time_hours": pl.col("cycle_time_hours").cast(dec),
        "review_time_hours": pl.col("review_time_hours").cast(dec),
        "review_rounds": "review_rounds",
        "avg_fix_response_hours": pl.col("avg_fix_response_hours").cast(dec),
        "commits_after_first_review": "commits_after_first_review",
        "total_comments": pl.col("comment_count").cast(pl.Int32),
    }


def _ai_evidence(df: pl.DataFrame) -> dict[str, Any]:
    """The AI columns (is_ai_assisted .. ai_signals): observed tools and signals; is_ai_assisted is
    simulated later (real_project.build.simulate_children)."""
    return {
        "is_ai_assisted": pl.lit(None, dtype=pl.Boolean),
        "ai_tools_detected": pl.Series(to_json(df["ai_tools"].to_list())),
        "ai_detection_version": pl.lit(AI_DETECTION_VERSION),
        "llm_summary": pl.lit(None, dtype=pl.String),
        "llm_summary_version": pl.lit(""),
        "has_ai_commits": pl.col("ai_commits") > 0,
        "has_ai_review": pl.col("ai_review_bots").list.len() > 0,
        "has_ai_files": pl.col("ai_files").list.len() > 0,
        "ai_confidence_score": pl.when(pl.col("_n_signals") > 0)
        .then(pl.col("_n_signals").replace_strict({1: 0.6, 2: 0.8, 3: 0.95}, default=0.95, return_dtype=pl.Float64))
        .cast(pl.Decimal(4, 3)),
        "ai_signals": "_signals",
    }


def review_frame(reviews: pl.DataFrame, member_of: pl.DataFrame, team_id: int, report: Counter[str]) -> pl.DataFrame:
    """metrics_prreview rows. The app keys reviews by (team, github_review_id): an id seen on
    an earlier PR of another repo (GitHub's ids are global, a fake's may not be) is set NULL."""
    df = _member_id(reviews, "reviewer_login", member_of, "reviewer_member_id")
    df = df.sort(["pr_id", "submitted_at", "review_id"], nulls_last=True).with_row_index("id", offset=1)
    repeated = pl.col("review_id").is_not_null() & ~pl.col("review_id").is_first_distinct()
    n = df.select(repeated.sum()).item()
    if n:
        report["review ids repeated across PRs set to NULL (the app keys reviews by id)"] += n
    df = df.with_columns(review_id=pl.when(repeated).then(None).otherwise(pl.col("review_id")))
    at = pl.coalesce("submitted_at", "pr_created_at")
    return df.select(
        id=pl.col("id").cast(pl.Int64),
        created_at=at,
        updated_at=at,
        team_id=pl.lit(team_id, dtype=pl.Int64),
        github_review_id="review_id",
        pull_request_id="pr_id",
        reviewer_id="reviewer_member_id",
        state="state",
        body="body",
        submitted_at="submitted_at",
        is_ai_review=pl.lit(False),
        ai_reviewer_type=pl.lit(""),
    )


def commit_frame(commits: pl.DataFrame, member_of: pl.DataFrame, team_id: int) -> pl.DataFrame:
    df = _member_id(commits, "author_login", member_of, "author_member_id")
    df = df.sort(["pr_id", "committed_at", "sha"], nulls_last=True).with_row_index("id", offset=1)
    at = pl.coalesce("committed_at", "authored_at", "created_at")
    return df.select(
        id=pl.col("id").cast(pl.Int64),
        created_at=at,
        updated_at=at,
        team_id=pl.lit(team_id, dtype=pl.Int64),
        github_sha="sha",
        github_repo="repo",
        author_id="author_member_id",
        message="message",
        committed_at="committed_at",
        additions=pl.col("additions").cast(pl.Int32),
        deletions=pl.col("deletions").cast(pl.Int32),
        pull_request_id="pr_id",
        is_ai_assisted=pl.col("ai_tools").list.len() > 0,
        ai_co_authors=pl.Series(to_json(df["ai_co_authors"].to_list())),
    )


def file_frame(files: pl.DataFrame, team_id: int, report: Counter[str]) -> pl.DataFrame:
    long = files.filter(pl.col("path").str.len_chars() > FILENAME_MAX).height
    if long:
        report[f"file paths longer than {FILENAME_MAX} characters truncated"] += long
    df = files.with_columns(filename=pl.col("path").str.slice(0, FILENAME_MAX))
    before = df.height
    df = df.sort(["pr_id", "filename", "path"]).unique(subset=["pr_id", "filename"], keep="first", maintain_order=True)
    if before - df.height:
        report["files whose truncated paths collide dropped"] += before - df.height
    df = df.with_row_index("id", offset=1)
    return df.select(
        id=pl.col("id").cast(pl.Int64),
        created_at="created_at",
        updated_at="created_at",
        team_id=pl.lit(team_id, dtype=pl.Int64),
        pull_request_id="pr_id",
        filename="filename",
        status="status",
        additions=pl.col("additions").cast(pl.Int32),
        deletions=pl.col("deletions").cast(pl.Int32),
        changes=(pl.col("additions") + pl.col("deletions")).cast(pl.Int32),
        file_category="file_category",
    )
