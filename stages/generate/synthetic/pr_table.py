"""The PR table's columns: synthetic text and metadata, the real overlay, metrics_pullrequest.

:func:`synthetic_fields` draws every PR's repo, number, title, labels,
milestone, assignees, linked issues and child counts; :func:`overlay_real`
replaces them on the blended slots by the real PR's values; :func:`pr_table`
puts them together with the skeleton, the review outcomes and the drawn
extras (body, comments, AI signals).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.base.parquet import conform
from pipeline.base.rng import Key, keyed_uniform
from pipeline.base.schemas import spec
from stages.generate.draws import decimal_array, hours_decimal, int_between, int_str, pick, text, ts_array
from stages.generate.synthetic import commits_files
from stages.generate.synthetic.blend import Blend
from stages.generate.synthetic.pr_skeleton import STATES, PRFrame, PRState, repo_and_number
from stages.generate.words import take, words

LABELS = np.array(
    [
        "[]",
        "[]",
        '["enhancement"]',
        '["bug"]',
        '["backend"]',
        '["frontend", "enhancement"]',
        '["dependencies"]',
        '["documentation"]',
        '["tech-debt"]',
    ],
    dtype=object,
)
TOOLS = np.array(['["copilot"]', '["cursor"]', '["claude"]'], dtype=object)


@dataclass(frozen=True)
class PRFields:
    """PR columns drawn synthetically and, on real slots, replaced by a real PR's values."""

    repo: pa.Array
    number: np.ndarray
    title: pa.Array
    labels: pa.Array
    milestone: pa.Array
    assignees: pa.Array
    linked: pa.Array
    additions: np.ndarray
    deletions: np.ndarray
    is_draft: np.ndarray
    n_commits: np.ndarray
    n_files: np.ndarray  # synthetic files; 0 for a blended PR that takes the real PR's paths


def synthetic_fields(frame: PRFrame, members: pa.Table, company: np.ndarray, k: Key) -> PRFields:
    """Synthetic repo, number, text and metadata of every PR."""
    comp_idx, service, number = repo_and_number(frame, company, (*k, "repo"))
    labels = pick(
        (*LABELS, '["bug", "hotfix"]'),
        np.where(frame.is_hotfix, len(LABELS), int_between(frame.key, 0, 8, *k, "labels")),
    )
    milestone_no = int_between(frame.team * 16 + np.maximum(frame.week, 0) // 4, 1, 9, *k, "milestone")
    has_ms = keyed_uniform(frame.key, *k, "has-milestone") < 0.3
    milestone = pc.if_else(
        pa.array(has_ms), pc.binary_join_element_wise(text("v2."), int_str(milestone_no), text("")), text("")
    )
    first_id = int(members.column("id")[0].as_py()) if members.num_rows else 1  # member ids are consecutive
    usernames = members.column("github_username").take(pa.array(frame.author_id - first_id))
    assigned = keyed_uniform(frame.key, *k, "assignee") < 0.6
    assignees = pc.if_else(
        pa.array(assigned),
        pc.binary_join_element_wise(text('["'), usernames, text('"]'), text("")),
        text("[]"),
    )
    issue_no = int_between(frame.key, 10, 900, *k, "issue")
    linked = pc.if_else(
        pa.array(keyed_uniform(frame.key, *k, "linked") < 0.35),
        pc.binary_join_element_wise(text("["), int_str(issue_no), text("]"), text("")),
        text("[]"),
    )
    return PRFields(
        repo=pc.binary_join_element_wise(take("companies", comp_idx), take("services", service), text("/")),
        number=number,
        title=titles(frame, (*k, "title")),
        labels=labels,
        milestone=milestone,
        assignees=assignees,
        linked=linked,
        additions=frame.additions,
        deletions=frame.deletions,
        is_draft=frame.is_draft,
        n_commits=commits_files.commit_counts(frame.key, frame.additions, (*k, "commit")),
        n_files=commits_files.file_counts(frame.key, frame.additions, (*k, "file")),
    )


def overlay_real(fields: PRFields, frame: PRFrame, mix: Blend) -> PRFields:
    """The fields with the real PR's values on the blended slots (a real PR's files replace the synthetic ones)."""
    pool = mix.pool
    if pool is None:
        return fields
    rows = np.flatnonzero(mix.blended)
    s = mix.src[rows]
    mask = pa.array(mix.blended)
    taken = pa.array(s)
    additions, deletions = fields.additions.copy(), fields.deletions.copy()
    is_draft, n_commits, n_files = fields.is_draft.copy(), fields.n_commits.copy(), fields.n_files.copy()
    additions[rows] = pool.additions[s]
    deletions[rows] = pool.deletions[s]
    is_draft[rows] = pool.draft[s] & (frame.state[rows] == PRState.OPEN)
    n_commits[rows] = pool.commits[s]
    n_files[rows[pool.n_files[s] > 0]] = 0
    return dataclasses.replace(
        fields,
        title=pc.replace_with_mask(fields.title, mask, pool.title.take(taken)),
        labels=pc.replace_with_mask(fields.labels, mask, pool.labels.take(taken)),
        milestone=pc.replace_with_mask(fields.milestone, mask, pool.milestone.take(taken)),
        assignees=pc.replace_with_mask(fields.assignees, mask, pool.assignees.take(taken)),
        linked=pc.replace_with_mask(fields.linked, mask, pool.linked.take(taken)),
        additions=additions,
        deletions=deletions,
        is_draft=is_draft,
        n_commits=n_commits,
        n_files=n_files,
    )


def base_pr_table(frame: PRFrame) -> pa.Table:
    """The PR columns the simulators need before the full PR table exists."""
    merged = frame.state == PRState.MERGED
    return pa.table(
        {
            "id": frame.id,
            "team_id": frame.team + 1,
            "author_id": frame.author_id,
            "state": pick(STATES, frame.state),
            "pr_created_at": ts_array(frame.created),
            "merged_at": ts_array(np.where(merged, frame.closed, 0), merged),
            "updated_at": ts_array(_last_event(frame)),
        }
    )


def _last_event(frame: PRFrame) -> np.ndarray:
    """A PR's updated_at: its merge/close time, or its creation while open."""
    return np.where(frame.state == PRState.OPEN, frame.created, frame.closed)


def titles(frame: PRFrame, k: Key) -> pa.Array:
    """Synthetic titles: verb, object and component; hotfix and revert prefixes."""
    verb = take("verbs", int_between(frame.key, 0, len(words("verbs")) - 1, *k, "verb"))
    obj = take("objects", int_between(frame.key, 0, len(words("objects")) - 1, *k, "object"))
    comp = take("components", int_between(frame.key, 0, len(words("components")) - 1, *k, "component"))
    title = pc.binary_join_element_wise(verb, pc.utf8_lower(obj), text("in"), comp, text(" "))
    title = pc.if_else(pa.array(frame.is_hotfix), pc.binary_join_element_wise(text("Hotfix:"), title, text(" ")), title)
    reverted = pc.binary_join_element_wise(text('Revert "'), title, text('"'), text(""))
    return pc.if_else(pa.array(frame.is_revert), reverted, title)


def pr_table(
    frame: PRFrame,
    fields: PRFields,
    *,
    ai: np.ndarray,
    changes: np.ndarray,
    commits_after: np.ndarray,
    jira_keys: pa.Array,
    k: Key,
) -> pa.Table:
    """metrics_pullrequest: the skeleton, the fields, review outcomes and the drawn extras."""
    table = pa.table(
        {
            "id": frame.id,
            "created_at": (_ts1 := ts_array(frame.created)),
            "updated_at": (_ts2 := ts_array(_last_event(frame))),
            "team_id": frame.team + 1,
            "github_pr_id": fields.number,
            "github_repo": fields.repo,
            "title": fields.title,
            "body": _bodies(frame, k),
            "author_id": frame.author_id,
            "state": pick(STATES, frame.state),
            "pr_created_at": _ts1,
            **_review_outcomes(frame, changes, commits_after, k),
            "additions": fields.additions.astype(np.int32),
            "deletions": fields.deletions.astype(np.int32),
            "is_revert": frame.is_revert,
            "is_hotfix": frame.is_hotfix,
            "is_draft": fields.is_draft,
            "labels": fields.labels,
            "milestone_title": fields.milestone,
            "assignees": fields.assignees,
            "linked_issues": fields.linked,
            **_ai_evidence(frame, ai, k),
            "jira_key": jira_keys,
            "synced_at": _ts2,
        }
    )
    return conform(table, spec("metrics_pullrequest"))


def _bodies(frame: PRFrame, k: Key) -> pa.Array:
    """A one-line description naming a component; empty on about 15 % of PRs."""
    body_comp = take("components", int_between(frame.key, 0, 19, *k, "body-comp"))
    body = pc.binary_join_element_wise(
        text("Touches the "),
        body_comp,
        text(" module; tests pass locally."),
        text(""),
    )
    return pc.if_else(pa.array(keyed_uniform(frame.key, *k, "empty-body") < 0.15), text(""), body)


def _review_outcomes(frame: PRFrame, changes: np.ndarray, commits_after: np.ndarray, k: Key) -> dict[str, Any]:
    """The merge and review columns (merged_at .. total_comments), as the app computes them."""
    merged = frame.state == PRState.MERGED
    reviewed = frame.first_review >= 0  # every merged or closed PR, and the open ones reviewed before the window end
    fix_hours = 0.5 + 11.5 * keyed_uniform(frame.key, *k, "fix")
    return {
        "merged_at": ts_array(np.where(merged, frame.closed, 0), merged),
        "first_review_at": ts_array(np.where(reviewed, frame.first_review, 0), reviewed),
        "cycle_time_hours": hours_decimal(frame.closed - frame.created, merged),
        "review_time_hours": hours_decimal(frame.first_review - frame.created, reviewed),
        "review_rounds": pa.array((1 + changes).astype(np.int32), mask=~reviewed),
        "avg_fix_response_hours": decimal_array(fix_hours, reviewed & changes),
        "commits_after_first_review": pa.array(commits_after.astype(np.int32), mask=~reviewed),
        "total_comments": int_between(frame.key, 0, 12, *k, "comments").astype(np.int32),
    }


def _ai_evidence(frame: PRFrame, ai: np.ndarray, k: Key) -> dict[str, Any]:
    """The AI columns (is_ai_assisted .. ai_signals): tools, co-author commits, a confidence score."""
    n = frame.n
    tool_idx = int_between(frame.author_id, 0, 2, *k, "tool")
    has_ai_commits = ai & (keyed_uniform(frame.key, *k, "ai-commits") < 0.6)
    conf = np.where(
        ai, 0.6 + 0.39 * keyed_uniform(frame.key, *k, "conf"), 0.02 + 0.25 * keyed_uniform(frame.key, *k, "conf")
    )
    signals = pick(
        ("{}", '{"survey": true}', '{"co_author_trailer": true}'), np.where(has_ai_commits, 2, ai.astype(int))
    )
    return {
        "is_ai_assisted": pa.array(ai, type=pa.bool_()),
        "ai_tools_detected": pick(("[]", *TOOLS), np.where(ai, 1 + tool_idx, 0)),
        "ai_detection_version": pa.array(["v2"] * n, type=pa.string()),
        "llm_summary": pa.nulls(n, pa.string()),
        "llm_summary_version": pa.array([""] * n, type=pa.string()),
        "has_ai_commits": has_ai_commits,
        "has_ai_review": np.zeros(n, bool),
        "has_ai_files": np.zeros(n, bool),
        "ai_confidence_score": decimal_array(conf, None, 3, 4),
        "ai_signals": signals,
    }
