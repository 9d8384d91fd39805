"""The validation pass run on every generate: coherence rules over the app tables.

A violation is a bug in the generator, not a user error: :class:`GenerationError`
names the table, the rule and an example row. Checks are vectorized (numpy
joins on sorted ids), so they run at the 1M-PR scale too.

The window rule: no timestamp at or after the window end (the anchor week's
end). Before the window there is the warm-up (``window_start`` and
``warmup_start`` given): PRs may be created from ``warmup_start`` on, before
the first week, but such a PR must still be unresolved when the window starts
(open, or merged/closed at or after ``window_start``), so the app only sees it
through its merge, reviews and backlog inside the window. Their reviews,
commits, files and check runs follow the PR's own rules (after its creation);
Jira issues may predate their PR, and teams/members predate everything.

Reviews: after the PR's creation, before its merge or close, never by its
author, one per reviewer and PR; a PR still open at the window end may have
reviews in flight (dated before the window end, like every row), and a PR's
``first_review_at`` is its earliest review (NULL when it has none).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.base.parquet import conform
from pipeline.base.schemas import spec
from stages.generate.draws import text

CHOICES = {
    ("metrics_pullrequest", "state"): {"open", "merged", "closed"},
    ("metrics_prreview", "state"): {"approved", "changes_requested", "commented"},
    ("metrics_teammember", "role"): {"developer", "lead", "admin"},
    ("metrics_prsurvey", "author_response_source"): {"github", "slack", "web", "auto"},
    ("metrics_prsurveyreview", "response_source"): {"github", "slack", "web", "auto"},
    ("metrics_prsurvey", "ai_modification_effort"): {"none", "minor", "moderate", "major", "na"},
    ("metrics_aiusagedaily", "source"): {"copilot", "cursor"},
    ("metrics_deployment", "environment"): {"production", "staging"},
    ("metrics_prfile", "status"): {"added", "modified", "removed", "renamed"},
}


class GenerationError(RuntimeError):
    """Generated tables break a coherence rule (a bug: please report it)."""


class _V:
    def __init__(self, tables: dict[str, pa.Table]) -> None:
        self.t = tables

    def fail(self, table: str, rule: str, bad: np.ndarray) -> None:
        bad = np.asarray(bad, bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            row = self.t[table].slice(i, 1).to_pylist()[0]
            short = {k: v for k, v in row.items() if not isinstance(v, str) or len(v) < 80}
            raise GenerationError(
                f"generated table {table} breaks rule '{rule}': {int(bad.sum())} row(s), e.g. {short}"
            )

    def col(self, table: str, name: str, fill: int = -1) -> np.ndarray:
        c = self.t[table].column(name)
        if pa.types.is_timestamp(c.type) or pa.types.is_boolean(c.type):
            c = c.cast(pa.int64())
        return np.asarray(pc.fill_null(c, fill).to_numpy(zero_copy_only=False))

    def lookup(self, ids: np.ndarray, values: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """values[ids == key] per key (ids sorted unique); (found, value)."""
        if len(ids) == 0:
            return np.zeros(len(keys), bool), np.zeros(len(keys), values.dtype)
        pos = np.clip(np.searchsorted(ids, keys), 0, len(ids) - 1)
        found = ids[pos] == keys
        return found, values[pos]


def _codes(col: pa.ChunkedArray) -> tuple[np.ndarray, int, bool]:
    """(int64 codes, number of distinct codes bound, all values distinct) for one key column."""
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        enc = pc.dictionary_encode(col).combine_chunks()
        n_dict = len(enc.dictionary)
        return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64), n_dict, n_dict == len(col)
    if pa.types.is_date32(col.type):
        col = col.cast(pa.int32())
    if pa.types.is_timestamp(col.type) or pa.types.is_boolean(col.type):
        col = col.cast(pa.int64())
    arr = pc.fill_null(col, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    lo = int(arr.min()) if len(arr) else 0
    hi = int(arr.max()) if len(arr) else 0
    return arr - lo, hi - lo + 1, False


def _unique(v: _V, table: str, cols: tuple[str, ...], where: np.ndarray | None = None) -> None:
    """Natural-key uniqueness via compact integer codes (no hash aggregation over strings)."""
    t = v.t[table]
    if where is not None and not where.all():
        t = t.filter(pa.array(where))
    if t.num_rows < 2:
        return
    key = np.zeros(t.num_rows, np.int64)
    span = 1
    for c in cols:
        codes, n, distinct = _codes(t.column(c))
        if distinct:
            return  # one column alone is unique, so the whole key is
        if span * n >= 2**62:  # too wide for one integer: hash aggregation
            counts = t.group_by(list(cols)).aggregate([([], "count_all")])
            dup = counts.filter(pc.greater(counts.column("count_all"), 1))
            if dup.num_rows:
                raise GenerationError(
                    f"generated table {table} breaks rule 'unique ({', '.join(cols)})': e.g. {dup.slice(0, 1).to_pylist()[0]}"
                )
            return
        key = key * n + codes
        span *= n
    order = np.argsort(key, kind="stable")
    dup = np.flatnonzero(key[order[1:]] == key[order[:-1]])
    if len(dup):
        row = t.slice(int(order[dup[0] + 1]), 1).to_pylist()[0]
        raise GenerationError(
            f"generated table {table} breaks rule 'unique ({', '.join(cols)})': {len(dup)} duplicate(s), e.g. {row}"
        )


def _us(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()) * 1_000_000


def _each_table(v: _V, window_end: dt.date) -> None:
    """Per table: the spec, timestamps before the window end, choices, JSON text, ascending ids, natural keys."""
    end_us = _us(window_end)
    for name, table in v.t.items():
        conform(table, spec(name))
        for f in table.schema:
            if pa.types.is_timestamp(f.type):
                v.fail(name, f"{f.name} before the window end {window_end}", v.col(name, f.name) >= end_us)
            if (name, f.name) in CHOICES:
                ok = pc.is_in(table.column(f.name), pa.array(sorted(CHOICES[(name, f.name)]), pa.string())).to_numpy(
                    zero_copy_only=False
                )
                valid = pc.is_valid(table.column(f.name)).to_numpy(zero_copy_only=False)
                v.fail(name, f"{f.name} in {sorted(CHOICES[(name, f.name)])}", valid & ~ok)
        for c in spec(name).json_columns():
            first = pc.utf8_slice_codeunits(pc.fill_null(table.column(c), text("{}")), 0, 1)
            v.fail(
                name,
                f"{c} is JSON text",
                ~pc.is_in(first, pa.array(["[", "{"], pa.string())).to_numpy(zero_copy_only=False),
            )
        if "id" in table.column_names:
            ids = v.col(name, "id")
            v.fail(name, "ids ascending and unique", np.r_[False, np.diff(ids) <= 0] if len(ids) else ids > 0)
        for nk in spec(name).natural_keys:
            _unique(v, name, nk, pc.is_valid(table.column(nk[-1])).to_numpy(zero_copy_only=False))


class _Refs:
    """The team, member and PR columns the cross-table rules look rows up in."""

    PR = "metrics_pullrequest"

    def __init__(self, v: _V) -> None:
        self.v = v
        self.team_ids = v.col("teams_team", "id")
        self.m_ids, self.m_team = v.col("metrics_teammember", "id"), v.col("metrics_teammember", "team_id")
        pr = self.PR
        self.pr_ids, self.pr_team, self.pr_author = v.col(pr, "id"), v.col(pr, "team_id"), v.col(pr, "author_id")
        self.created, self.merged = v.col(pr, "pr_created_at"), v.col(pr, "merged_at")
        self.first = v.col(pr, "first_review_at")
        self.updated = v.col(pr, "updated_at")
        state = v.t[pr].column("state")
        self.is_merged = pc.equal(state, text("merged")).to_numpy(zero_copy_only=False)
        self.is_closed = pc.equal(state, text("closed")).to_numpy(zero_copy_only=False)

    def member_ok(self, table: str, col: str, team: np.ndarray) -> None:
        who = self.v.col(table, col)
        found, t = self.v.lookup(self.m_ids, self.m_team, who)
        self.v.fail(table, f"{col} is a member of the same team", (who >= 0) & ~(found & (t == team)))

    def pr_child(self, table: str, col: str = "pull_request_id") -> tuple[np.ndarray, np.ndarray]:
        """(the PR ids, their rows in metrics_pullrequest), each a PR of the row's team."""
        v = self.v
        p = v.col(table, col)
        found, row = v.lookup(self.pr_ids, np.arange(len(self.pr_ids)), p)
        v.fail(
            table,
            f"{col} is a PR of the same team",
            (p >= 0) & ~(found & (self.pr_team[row] == v.col(table, "team_id"))),
        )
        return p, row


def _pr_rules(r: _Refs, window_end: dt.date, window_start: dt.date | None, warmup_start: dt.date | None) -> None:
    v, pr = r.v, r.PR
    for name, table in v.t.items():
        if "team_id" in table.column_names:
            v.fail(name, "team_id exists", ~np.isin(v.col(name, "team_id"), r.team_ids))
    r.member_ok(pr, "author_id", r.pr_team)
    v.fail(pr, "merged state <=> merged_at", r.is_merged != (r.merged >= 0))
    v.fail(pr, "merged_at after first review", (r.merged >= 0) & ~((r.first >= 0) & (r.merged > r.first)))
    v.fail(pr, "first review after creation", (r.first >= 0) & (r.first <= r.created))
    if window_start is not None:
        start_us = _us(window_start)
        earliest = _us(warmup_start) if warmup_start is not None else start_us
        v.fail(pr, f"pr_created_at on or after the warm-up start {warmup_start or window_start}", r.created < earliest)
        resolved = np.where(r.is_merged, r.merged, np.where(r.is_closed, r.updated, _us(window_end)))
        v.fail(
            pr,
            f"a PR created before the window {window_start} is unresolved at its start",
            (r.created < start_us) & (resolved < start_us),
        )


def _review_rules(r: _Refs) -> None:
    v, pr, rv = r.v, r.PR, "metrics_prreview"
    _, row = r.pr_child(rv)
    r.member_ok(rv, "reviewer_id", v.col(rv, "team_id"))
    at = v.col(rv, "submitted_at")
    v.fail(rv, "review after PR creation", at <= r.created[row])
    v.fail(rv, "review before merge", (r.merged[row] >= 0) & (at >= r.merged[row]))
    v.fail(rv, "reviewer is not the PR author", v.col(rv, "reviewer_id") == r.pr_author[row])
    v.fail(rv, "review before the PR was closed", r.is_closed[row] & (at >= r.updated[row]))
    _unique(v, rv, ("pull_request_id", "reviewer_id"))
    # first_review_at is the earliest review (open PRs too: their reviews in flight), and only reviewed PRs have one
    never = np.iinfo(np.int64).max
    first_at = np.full(len(r.pr_ids), never)
    np.minimum.at(first_at, row, at)
    reviewed = first_at < never
    v.fail(pr, "first_review_at is the earliest review", reviewed & (r.first != first_at))
    v.fail(pr, "first_review_at only on a reviewed PR", ~reviewed & (r.first >= 0))


def _commit_rules(r: _Refs) -> None:
    v, cm = r.v, "metrics_commit"
    _, row = r.pr_child(cm)
    r.member_ok(cm, "author_id", v.col(cm, "team_id"))
    at = v.col(cm, "committed_at")
    v.fail(cm, "commit after PR creation", at < r.created[row])
    v.fail(cm, "commit before merge", (r.merged[row] >= 0) & (at > r.merged[row]))
    for name in ("metrics_prfile", "metrics_prcheckrun"):
        r.pr_child(name)


def _survey_rules(r: _Refs) -> None:
    v, sv, sr, rv = r.v, "metrics_prsurvey", "metrics_prsurveyreview", "metrics_prreview"
    _, row = r.pr_child(sv)
    r.member_ok(sv, "author_id", v.col(sv, "team_id"))
    v.fail(sv, "survey only on merged PRs", ~r.is_merged[row])
    resp = v.col(sv, "author_responded_at")
    v.fail(sv, "author answer after merge", (resp >= 0) & (resp <= r.merged[row]))
    v.fail(sv, "survey created after merge", v.col(sv, "created_at") <= r.merged[row])
    s_ids = v.col(sv, "id")
    sid = v.col(sr, "survey_id")
    found, srow = v.lookup(s_ids, np.arange(len(s_ids)), sid)
    v.fail(sr, "survey exists", ~found)
    r.member_ok(sr, "reviewer_id", v.col(sr, "team_id"))
    s_pr = v.col(sv, "pull_request_id")[srow]
    _, prow = v.lookup(r.pr_ids, np.arange(len(r.pr_ids)), s_pr)
    v.fail(sr, "answer after merge", v.col(sr, "responded_at") <= r.merged[prow])
    rev_pairs = v.col(rv, "pull_request_id") * 4_000_000_000 + v.col(rv, "reviewer_id")
    v.fail(sr, "survey reviewer reviewed the PR", ~np.isin(s_pr * 4_000_000_000 + v.col(sr, "reviewer_id"), rev_pairs))
    q = v.col(sr, "quality_rating")
    v.fail(sr, "quality_rating in 1..3", (q != -1) & ((q < 1) | (q > 3)))
    guess, correct = v.col(sr, "ai_guess"), v.col(sr, "guess_correct")
    truth = v.col(sv, "author_ai_assisted")[srow]
    v.fail(sr, "guess_correct == (ai_guess == author answer)", (guess != -1) & (correct != (guess == truth)))


def _other_rules(r: _Refs) -> None:
    v, pr = r.v, r.PR
    r.member_ok("metrics_aiusagedaily", "member_id", v.col("metrics_aiusagedaily", "team_id"))
    dp = "metrics_deployment"
    _, row = r.pr_child(dp)
    v.fail(dp, "deployed after merge", v.col(dp, "deployed_at") <= r.merged[row])
    ji = "metrics_jiraissue"
    r.member_ok(ji, "assignee_id", v.col(ji, "team_id"))
    pr_keys = pc.filter(
        v.t[pr].column("jira_key"),
        pc.greater(pc.utf8_length(v.t[pr].column("jira_key")), pa.scalar(0, pa.int64())),
    )
    missing = pc.invert(pc.is_in(pr_keys, v.t[ji].column("jira_key"))).to_numpy(zero_copy_only=False)
    if missing.any():
        raise GenerationError(
            f"generated table {pr} breaks rule 'jira_key has an issue': e.g. {pr_keys[int(np.flatnonzero(missing)[0])]}"
        )


def validate(
    tables: dict[str, pa.Table],
    *,
    window_end: dt.date,
    window_start: dt.date | None = None,
    warmup_start: dt.date | None = None,
) -> None:
    """Raise GenerationError on the first broken rule (window rules: see the module docstring)."""
    v = _V(tables)
    _each_table(v, window_end)
    refs = _Refs(v)
    _pr_rules(refs, window_end, window_start, warmup_start)
    _review_rules(refs)
    _commit_rules(refs)
    _survey_rules(refs)
    _other_rules(refs)
