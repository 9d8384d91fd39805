"""Reviews, commits and files: nested lists exploded into flat rows.

Decisions (each one counted in the report):

* Null nodes inside a nested list (GitHub nulls a node when a nested field
  errors) are dropped.
* Review states: ``APPROVED|CHANGES_REQUESTED|COMMENTED`` -> the app's
  ``approved|changes_requested|commented``. ``DISMISSED`` (a verdict that was
  withdrawn: the review happened but no longer approves or blocks) ->
  ``commented``. ``PENDING`` (a draft never submitted, invisible to others)
  and unknown states are dropped. A review id repeated within a PR (a page
  served twice) is a duplicate and dropped; like everything else, reviews are
  keyed by (repo, number), never by a bare id.
* Commits: a node without an oid is dropped; a sha repeated within a PR is a
  duplicate. ``co_authors`` are the ``Co-authored-by:`` trailers of the
  message as ``Name <email>``, whitespace collapsed, in order, distinct;
  ``ai_tools`` and ``ai_co_authors`` what they say about AI (see ``identity``).
* Files: ``changeType`` ADDED/MODIFIED/CHANGED/DELETED/REMOVED/RENAMED/COPIED
  (GraphQL or REST spelling) -> ``added|modified|removed|renamed`` (copied ->
  added); unknown or missing -> modified. A path repeated within a PR is a
  duplicate. ``file_category`` is the app's category of the path
  (:mod:`pipeline.base.filecategory`), ``is_ai_config`` whether it is an AI
  assistant's instruction file.
"""

from __future__ import annotations

from collections import Counter

import polars as pl

from pipeline.base.filecategory import file_category
from stages.normalize.identity import (
    ai_co_authors,
    clean_login,
    commit_ai_tools,
    is_ai_config,
    is_ai_review_bot,
    is_bot,
)
from stages.normalize.pulls import count_unparsed, parse_ts

REVIEW_STATES = {
    "APPROVED": "approved",
    "CHANGES_REQUESTED": "changes_requested",
    "COMMENTED": "commented",
    "DISMISSED": "commented",
}
FILE_STATUS = {
    "ADDED": "added",
    "MODIFIED": "modified",
    "CHANGED": "modified",
    "DELETED": "removed",
    "REMOVED": "removed",
    "RENAMED": "renamed",
    "COPIED": "added",
}
_COAUTHOR_LINE = r"(?im)^[ \t]*co-authored-by:[^\n]*"
_COAUTHOR_PREFIX = r"(?i)^[ \t]*co-authored-by:"


def _explode(prs: pl.DataFrame, col: str, what: str, report: Counter[str]) -> pl.DataFrame:
    """One row per non-null node of ``col`` with repo, number (and the PR's times)."""
    df = prs.select("repo", "number", "_created", col).filter(pl.col(col).list.len().fill_null(0) > 0).explode(col)
    nulls = df.filter(pl.col(col).is_null()).height
    if nulls:
        report[f"{what}: null node dropped"] += nulls
    return df.filter(pl.col(col).is_not_null()).unnest(col)


def _dedupe(df: pl.DataFrame, subset: list[str], what: str, report: Counter[str]) -> pl.DataFrame:
    before = df.height
    df = df.unique(subset=subset, keep="first", maintain_order=True)
    if before - df.height:
        report[f"{what}: duplicate {'/'.join(subset)} dropped"] += before - df.height
    return df


def reviews(prs: pl.DataFrame, report: Counter[str]) -> pl.DataFrame:
    df = _explode(prs, "reviews", "review", report)
    upper = pl.col("state").str.to_uppercase()
    df = df.with_columns(_state=upper.replace_strict(REVIEW_STATES, default=None), _upper=upper)
    for state, n in df.group_by("_upper").len().sort("_upper").iter_rows():
        label = state if state is not None else "null"
        if state == "DISMISSED":
            report["review: DISMISSED mapped to commented"] += n
        elif state not in REVIEW_STATES:
            report[f"review: {label} dropped (not a submitted review)"] += n
    df = df.filter(pl.col("_state").is_not_null())
    df = df.with_columns(_login=pl.col("author").struct.field("login"), submitted_at=parse_ts("submittedAt"))
    count_unparsed(df, {"submittedAt": "submitted_at"}, report, "review")
    ghosts = df.filter(pl.col("_login").is_null() | (pl.col("_login").str.to_lowercase() == "ghost")).height
    if ghosts:
        report["review: reviewer deleted (null/ghost), reviewer_login null"] += ghosts
    reviewer = clean_login(pl.col("_login"))
    df = df.select(
        "repo",
        "number",
        review_id=pl.col("databaseId"),
        reviewer_login=reviewer,
        reviewer_id=pl.when(reviewer.is_null()).then(None).otherwise(pl.col("author").struct.field("databaseId")),
        reviewer_is_bot=is_bot(reviewer),
        reviewer_is_ai_bot=is_ai_review_bot(reviewer),
        state="_state",
        submitted_at="submitted_at",
        body=pl.col("body").fill_null(""),
    )
    with_id = _dedupe(df.filter(pl.col("review_id").is_not_null()), ["repo", "number", "review_id"], "review", report)
    return pl.concat([with_id, df.filter(pl.col("review_id").is_null())])


def _drop_blank(df: pl.DataFrame, column: str, kind: str, report: Counter[str]) -> pl.DataFrame:
    """Drop rows whose key ``column`` is null or empty, counted as '<kind>: dropped, no <column>'."""
    present = pl.col(column).is_not_null() & (pl.col(column) != "")
    dropped = df.height - df.filter(present).height
    if dropped:
        report[f"{kind}: dropped, no {column}"] += dropped
        df = df.filter(present)
    return df


def commits(prs: pl.DataFrame, report: Counter[str]) -> pl.DataFrame:
    df = _explode(prs, "commits", "commit", report)
    df = _drop_blank(df, "oid", "commit", report)
    df = df.with_columns(
        _login=pl.col("author").struct.field("login"),
        authored_at=parse_ts("authoredDate"),
        committed_at=parse_ts("committedDate"),
    )
    count_unparsed(df, {"authoredDate": "authored_at", "committedDate": "committed_at"}, report, "commit")
    author = clean_login(pl.col("_login"))
    message = pl.col("message").fill_null("")
    co_authors = (
        message.str.extract_all(_COAUTHOR_LINE)
        .list.eval(pl.element().str.replace(_COAUTHOR_PREFIX, "").str.replace_all(r"\s+", " ").str.strip_chars())
        .list.filter(pl.element() != "")
        .list.unique(maintain_order=True)
    )
    df = df.select(
        "repo",
        "number",
        sha=pl.col("oid"),
        message=message,
        author_login=author,
        author_id=pl.when(author.is_null()).then(None).otherwise(pl.col("author").struct.field("databaseId")),
        author_is_bot=is_bot(author),
        authored_at="authored_at",
        committed_at="committed_at",
        additions=pl.col("additions").fill_null(0),
        deletions=pl.col("deletions").fill_null(0),
        co_authors=co_authors,
        ai_tools=commit_ai_tools(co_authors, author),
        ai_co_authors=ai_co_authors(co_authors),
    )
    return _dedupe(df, ["repo", "number", "sha"], "commit", report)


def files(prs: pl.DataFrame, report: Counter[str]) -> pl.DataFrame:
    df = _explode(prs, "files", "file", report)
    df = _drop_blank(df, "path", "file", report)
    status = pl.col("changeType").str.to_uppercase().replace_strict(FILE_STATUS, default=None)
    unknown = df.filter(status.is_null()).height
    if unknown:
        report["file: unknown or missing changeType set to modified"] += unknown
    df = df.select(
        "repo",
        "number",
        "path",
        status=status.fill_null("modified"),
        additions=pl.col("additions").fill_null(0),
        deletions=pl.col("deletions").fill_null(0),
        file_category=file_category(pl.col("path")),
        is_ai_config=is_ai_config(pl.col("path")),
    )
    return _dedupe(df, ["repo", "number", "path"], "file", report)
