"""Pull requests: timestamps, duplicates, states, actors and list columns.

Decisions (each one counted in the report):

* Timestamps: ISO-8601 with any offset (``+01:00``, ``Z``, fractions) become
  UTC microseconds; a timestamp without an offset is read as UTC. A PR whose
  ``createdAt`` cannot be read is dropped; an unreadable ``updatedAt`` falls
  back to ``createdAt``.
* Duplicates of (repo, number): the newest ``updatedAt`` wins; on a tie the
  node with more nested rows (reviews + commits + files), then the smaller
  node id, so the choice never depends on input order.
* State: ``OPEN|CLOSED|MERGED`` (any case) -> ``open|closed|merged``. A PR with
  a ``mergedAt`` is merged whatever its state says (REST reports merged PRs as
  ``closed``). A ``MERGED`` PR without ``mergedAt`` stays merged and gets
  ``merged_at = closedAt``, else ``updatedAt`` (the tightest bound GitHub
  gives). A merged PR without ``closedAt`` gets ``closed_at = merged_at``; an
  open PR's ``closedAt`` (left by a reopen) is cleared. Unknown states are
  dropped.
* Actors: a deleted user (null or ``ghost``) becomes a null login and id.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

import polars as pl

from stages.normalize.identity import clean_login, is_bot

US: Literal["us"] = "us"


def parse_ts(col: str | pl.Expr) -> pl.Expr:
    """ISO-8601 strings (any offset, optional fraction, or none = UTC) -> UTC datetime."""
    s = pl.col(col) if isinstance(col, str) else col
    with_offset = s.str.to_datetime("%+", time_unit=US, time_zone="UTC", strict=False)
    naive = s.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit=US, strict=False).dt.replace_time_zone("UTC")
    return pl.coalesce(with_offset, naive)


def count_unparsed(df: pl.DataFrame, pairs: dict[str, str], report: Counter[str], what: str) -> None:
    """Count raw timestamps that were present but could not be read."""
    if df.height == 0:
        return
    exprs = [(pl.col(raw).is_not_null() & pl.col(parsed).is_null()).sum().alias(raw) for raw, parsed in pairs.items()]
    for name, n in df.select(exprs).row(0, named=True).items():
        if n:
            report[f"{what}.{name}: unreadable timestamp set to null"] += n


def _list_len(col: str) -> pl.Expr:
    return pl.col(col).list.len().fill_null(0)


def dedupe(df: pl.DataFrame, report: Counter[str]) -> pl.DataFrame:
    """Parse timestamps, drop unusable rows and resolve (repo, number) duplicates."""
    df = df.with_columns(
        _created=parse_ts("createdAt"),
        _updated_raw=parse_ts("updatedAt"),
        _merged=parse_ts("mergedAt"),
        _closed=parse_ts("closedAt"),
    )
    count_unparsed(df, {"updatedAt": "_updated_raw", "mergedAt": "_merged", "closedAt": "_closed"}, report, "pr")
    bad = df.filter(pl.col("_created").is_null()).height
    if bad:
        report["pr: dropped, createdAt missing or unreadable"] += bad
        df = df.filter(pl.col("_created").is_not_null())
    df = df.with_columns(_updated=pl.coalesce("_updated_raw", "_created"))
    before = df.height
    df = (
        df.with_columns(_size=_list_len("reviews") + _list_len("commits") + _list_len("files"))
        .sort(["repo", "number", "_updated", "_size", "id"], descending=[False, False, True, True, False])
        .unique(subset=["repo", "number"], keep="first", maintain_order=True)
    )
    if before - df.height:
        report["pr: duplicate (repo, number) dropped, newest updatedAt kept"] += before - df.height
    return df


def pull_requests(df: pl.DataFrame, report: Counter[str]) -> pl.DataFrame:
    """The deduped raw frame -> gh_pull_requests columns (review_count added later)."""
    df = _with_state(df, report)
    _count_repairs(df, report)
    return _pull_request_columns(df)


def _with_state(df: pl.DataFrame, report: Counter[str]) -> pl.DataFrame:
    """Add _state (merged/open/closed; mergedAt wins over state) and drop rows whose state is unknown."""
    upper = pl.col("state").str.to_uppercase()
    df = df.with_columns(
        _state=pl.when(pl.col("_merged").is_not_null() | (upper == "MERGED"))
        .then(pl.lit("merged"))
        .when(upper == "OPEN")
        .then(pl.lit("open"))
        .when(upper == "CLOSED")
        .then(pl.lit("closed"))
        .otherwise(None)
    )
    unknown = df.filter(pl.col("_state").is_null())
    if unknown.height:
        report["pr: dropped, unknown state"] += unknown.height
        df = df.filter(pl.col("_state").is_not_null())
    return df


_REPAIR_LABELS = {
    "relabelled": "pr: state set to merged because mergedAt is present",
    "no_merged_at": "pr: MERGED without mergedAt, merged_at set from closedAt/updatedAt",
    "no_closed_at": "pr: merged without closedAt, closed_at set to merged_at",
    "open_closed": "pr: open with a closedAt (reopened), closed_at cleared",
    "null_author": "pr: author null (deleted user), author_login null",
    "ghost_author": "pr: author 'ghost' (deleted user), author_login null",
    "ghost_assignees": "pr: deleted-user assignees dropped from assignees",
}


def _count_repairs(df: pl.DataFrame, report: Counter[str]) -> None:
    """Count, per kind, the rows whose values _pull_request_columns repairs, into the report."""
    merged = pl.col("_state") == "merged"
    counts = df.select(
        relabelled=(merged & (pl.col("state").str.to_uppercase() != "MERGED")).sum(),
        no_merged_at=(merged & pl.col("_merged").is_null()).sum(),
        no_closed_at=(merged & pl.col("_closed").is_null()).sum(),
        open_closed=((pl.col("_state") == "open") & pl.col("_closed").is_not_null()).sum(),
        null_author=pl.col("author").struct.field("login").is_null().sum(),
        ghost_author=(pl.col("author").struct.field("login").str.to_lowercase() == "ghost").sum(),
        ghost_assignees=pl.col("assignees")
        .list.eval(pl.element().struct.field("login").is_null() | (pl.element().struct.field("login") == "ghost"))
        .list.sum()
        .sum(),
    ).row(0, named=True)
    for key, text in _REPAIR_LABELS.items():
        if counts[key]:
            report[text] += counts[key]


def _pull_request_columns(df: pl.DataFrame) -> pl.DataFrame:
    """Select the gh_pull_requests columns, with merged_at/closed_at/author repaired and nulls filled."""
    merged = pl.col("_state") == "merged"
    merged_at = pl.when(merged).then(pl.coalesce("_merged", "_closed", "_updated"))
    author = clean_login(pl.col("author").struct.field("login"))
    return df.with_columns(merged_at=merged_at).select(
        "repo",
        "number",
        node_id=pl.col("id").fill_null(""),
        title=pl.col("title").fill_null(""),
        body=pl.col("body").fill_null(""),
        state="_state",
        is_draft=pl.col("isDraft").fill_null(False),
        created_at="_created",
        updated_at="_updated",
        merged_at="merged_at",
        closed_at=pl.when(pl.col("_state") == "open")
        .then(None)
        .when(merged)
        .then(pl.coalesce("_closed", "merged_at"))
        .otherwise(pl.col("_closed")),
        additions=pl.col("additions").fill_null(0),
        deletions=pl.col("deletions").fill_null(0),
        changed_files=pl.coalesce("changedFiles", pl.col("files").list.len(), pl.lit(0)),
        author_login=author,
        author_id=pl.when(author.is_null()).then(None).otherwise(pl.col("author").struct.field("databaseId")),
        author_is_bot=is_bot(author),
        merged_by_login=clean_login(pl.col("mergedBy").struct.field("login")),
        head_ref=pl.col("headRefName").fill_null(""),
        base_ref=pl.col("baseRefName").fill_null(""),
        labels=_names(pl.col("labels"), "name"),
        milestone_title=pl.col("milestone").struct.field("title").fill_null(""),
        assignees=_names(pl.col("assignees"), "login", drop_ghosts=True),
        linked_issues=pl.col("closingIssuesReferences")
        .list.eval(pl.element().struct.field("number"))
        .list.drop_nulls()
        .list.unique(maintain_order=True)
        .fill_null(pl.lit([], dtype=pl.List(pl.Int64))),
        commit_count=pl.coalesce("commitsTotalCount", pl.col("commits").list.len(), pl.lit(0)),
        comment_count=pl.col("commentsTotalCount").fill_null(0),
    )


def _names(col: pl.Expr, field: str, *, drop_ghosts: bool = False) -> pl.Expr:
    value = pl.element().struct.field(field)
    if drop_ghosts:
        value = clean_login(value)
    return (
        col.list.eval(value)
        .list.drop_nulls()
        .list.unique(maintain_order=True)
        .fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )
