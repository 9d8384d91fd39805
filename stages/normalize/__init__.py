"""Normalize: raw GitHub PR nodes -> flat, typed ``gh_*`` tables.

Input: a table in the ``gh_raw_pull_requests`` schema (one row per PR node,
nested lists, GitHub's field names and ISO-8601 strings), as
``stages.fetch.load_raw`` returns it. Output (:class:`NormalizeResult`):

* ``gh_pull_requests``  one row per (repo, number)
* ``gh_reviews``        submitted reviews, state in the app's choices
* ``gh_commits``        one row per (repo, number, sha), with co-authors
* ``gh_files``          one row per (repo, number, path)
* ``gh_users``          every login seen (authors, reviewers, commit authors,
                        mergers, assignees), bot flag, first appearance, counts

and ``report``: how many rows went in and out and, for each repair or drop,
why and how often; ``withheld`` counts PRs per field GitHub withheld from the
fetch's token (the raw ``withheld_fields``). Every rule is documented where it is applied
(``text``, ``identity``, ``pulls``, ``children``); everything is keyed by
(repo, number), so PRs of the same number in different repos never mix.
Rows come out in each table's declared order, so the same input gives the
same tables, whatever order the input rows were in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from pipeline.base.parquet import conform, sort_rows
from pipeline.base.schemas import (
    GH_COMMITS,
    GH_FILES,
    GH_PULL_REQUESTS,
    GH_RAW_PULL_REQUESTS,
    GH_REVIEWS,
    GH_USERS,
    NORMALIZED_TABLES,
    TableSpec,
)
from stages.normalize import children, pulls
from stages.normalize.identity import is_bot
from stages.normalize.text import clean_strings

__all__ = ["NormalizeResult", "normalize", "users"]


@dataclass
class NormalizeResult:
    """The five ``gh_*`` tables and a report of what was repaired or dropped."""

    tables: dict[str, pa.Table]
    report: dict[str, Any] = field(default_factory=dict)


def users(prs: pl.DataFrame, reviews: pl.DataFrame, commits: pl.DataFrame) -> pl.DataFrame:
    """gh_users from the normalized tables: one row per (non-deleted) login."""
    ts = pl.Datetime("us", "UTC")

    def events(df: pl.DataFrame, login: str, uid: str | None, at: str, kind: str) -> pl.DataFrame:
        return df.select(
            login=pl.col(login),
            github_id=pl.col(uid) if uid else pl.lit(None, dtype=pl.Int64),
            at=pl.col(at).cast(ts),
            authored=pl.lit(kind == "author", dtype=pl.Int64),
            reviewed=pl.lit(kind == "review", dtype=pl.Int64),
        )

    assignees = prs.select("assignees", "created_at").explode("assignees")
    parts = [
        events(prs, "author_login", "author_id", "created_at", "author"),
        events(reviews, "reviewer_login", "reviewer_id", "submitted_at", "review"),
        events(commits, "author_login", "author_id", "committed_at", "commit"),
        events(prs, "merged_by_login", None, "merged_at", "merge"),
        events(assignees, "assignees", None, "created_at", "assign"),
    ]
    return (
        pl.concat(parts)
        .filter(pl.col("login").is_not_null())
        .group_by("login")
        .agg(
            github_id=pl.col("github_id").max(),
            first_seen_at=pl.col("at").min(),
            prs_authored=pl.col("authored").sum(),
            reviews_given=pl.col("reviewed").sum(),
        )
        .with_columns(is_bot=is_bot(pl.col("login")))
        .select("login", "github_id", "is_bot", "first_seen_at", "prs_authored", "reviews_given")
    )


def _withheld(df: pl.DataFrame) -> dict[str, int]:
    """PRs per field GitHub withheld from the fetch's token (its ``withheld_fields``)."""
    fields = df.select(pl.col("withheld_fields").explode().drop_nulls()).to_series()
    return {str(k): int(n) for k, n in sorted(fields.value_counts().iter_rows())}


def _incomplete(df: pl.DataFrame) -> dict[str, int]:
    """PRs whose nested list holds fewer nodes than GitHub's totalCount (not fully paged)."""
    out = {}
    for col in ("reviews", "commits", "files"):
        short = pl.col(f"{col}TotalCount") > pl.col(col).list.len().fill_null(0)
        out[col] = int(df.select(short.fill_null(False).sum()).item()) if df.height else 0
    return out


def _to_arrow(df: pl.DataFrame, spec: TableSpec) -> pa.Table:
    table = df.select(list(spec.column_names)).to_arrow()
    return sort_rows(conform(table, spec), spec)


def normalize(raw: pa.Table) -> NormalizeResult:
    """Raw PR nodes (schema gh_raw_pull_requests) -> the gh_* tables + a report."""
    raw = conform(raw, GH_RAW_PULL_REQUESTS)
    report: Counter[str] = Counter()
    cleaned, text_repairs = clean_strings(raw)
    df = pl.from_arrow(cleaned)
    assert isinstance(df, pl.DataFrame)

    df = pulls.dedupe(df, report)
    pr_df = pulls.pull_requests(df, report)
    df = df.join(pr_df.select("repo", "number"), on=["repo", "number"], how="semi", maintain_order="left")
    review_df = children.reviews(df, report)
    commit_df = children.commits(df, report)
    file_df = children.files(df, report)

    review_counts = review_df.group_by("repo", "number").agg(review_count=pl.len().cast(pl.Int64))
    pr_df = pr_df.join(review_counts, on=["repo", "number"], how="left", maintain_order="left").with_columns(
        pl.col("review_count").fill_null(0)
    )
    user_df = users(pr_df, review_df, commit_df)

    tables = {
        GH_PULL_REQUESTS.name: _to_arrow(pr_df, GH_PULL_REQUESTS),
        GH_REVIEWS.name: _to_arrow(review_df, GH_REVIEWS),
        GH_COMMITS.name: _to_arrow(commit_df, GH_COMMITS),
        GH_FILES.name: _to_arrow(file_df, GH_FILES),
        GH_USERS.name: _to_arrow(user_df, GH_USERS),
    }
    repairs = dict(sorted(report.items()))
    repairs.update({f"text: {k}": v for k, v in text_repairs.items()})
    summary = {
        "input_rows": raw.num_rows,
        "repos": sorted(set(raw.column("repo").to_pylist())),
        "rows": {t.name: tables[t.name].num_rows for t in NORMALIZED_TABLES},
        "bots": {
            "pr_authors": int(pr_df["author_is_bot"].sum()),
            "reviewers": int(review_df["reviewer_is_bot"].sum()),
            "users": int(user_df["is_bot"].sum()),
        },
        "repairs": repairs,
        "incomplete": _incomplete(df),
        "withheld": _withheld(df),
    }
    return NormalizeResult(tables=tables, report=summary)
