"""Simulated CI check runs, deployments, Jira issues and AI usage (see :mod:`stages.generate.simulated`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.base.rng import Key, keyed_u64, keyed_uniform
from stages.generate.draws import (
    US_PER_DAY,
    US_PER_HOUR,
    categorical,
    decimal_array,
    hex_strings,
    hours_decimal,
    int_between,
    int_str,
    pick,
    rank_within,
    stratified_uniform,
    systematic,
    text,
    ts_array,
)
from stages.generate.simulated.base import (
    CHECK_NAMES,
    US_PER_MIN,
    build_table,
    clamp_after,
    event_week,
    group_code,
    int_column,
    merged_mask,
    per_week,
    take_strings,
    timestamps_us,
    week_index,
    window_us,
)

# ---------------------------------------------------------------------------
# CI check runs, deployments
# ---------------------------------------------------------------------------


def simulate_check_runs(
    prs: pa.Table,
    *,
    k: Key,
    week_starts: Sequence[dt.date],
    ci_pass_rate: float | np.ndarray = 0.88,
) -> pa.Table:
    """2-4 CI checks per PR shortly after creation; pass/fail quota per team x creation week."""
    _, end = window_us(week_starts)
    ids = int_column(prs, "id")
    created, _ = timestamps_us(prs, "pr_created_at")
    n_checks = int_between(ids, 2, len(CHECK_NAMES), *k, "checks")
    row = np.repeat(np.arange(len(ids)), n_checks)
    j = np.arange(len(row)) - np.repeat(np.cumsum(n_checks) - n_checks, n_checks)
    cid = ids[row] * 10 + j
    started = created[row] + (int_between(cid, 1, 20, *k, "start") + 3 * j) * US_PER_MIN
    duration = int_between(cid, 45, 1200, *k, "duration")
    completed = started + duration * 1_000_000
    keep = started < end
    row, j, cid, started, duration, completed = (a[keep] for a in (row, j, cid, started, duration, completed))
    done = completed < end
    team = int_column(prs, "team_id")[row]
    week = week_index(created[row], week_starts)
    rate = per_week(ci_pass_rate, len(week_starts))[week]
    passed = stratified_uniform(group_code(team, week), cid, *k, "ci") < rate
    updated = np.where(done, completed, started)
    return build_table(
        "metrics_prcheckrun",
        {
            "id": cid,
            "created_at": (_ts4 := ts_array(started)),
            "updated_at": ts_array(updated),
            "team_id": team,
            "github_check_run_id": 7_000_000_000 + cid,
            "pull_request_id": ids[row],
            "name": take_strings(np.array(CHECK_NAMES, dtype=object), j),
            "status": pick(("in_progress", "completed"), done),
            "conclusion": pick(("failure", "success"), passed, mask=~done),
            "started_at": _ts4,
            "completed_at": ts_array(completed, done),
            "duration_seconds": pa.array(duration.astype(np.int32), mask=~done),
        },
    )


def simulate_deployments(
    prs: pa.Table,
    *,
    k: Key,
    week_starts: Sequence[dt.date],
    production_share: float = 0.35,
    staging_share: float = 0.5,
) -> pa.Table:
    """Staging and production deployments of merged PRs (quota per team x merge week)."""
    _, end = window_us(week_starts)
    merged = merged_mask(prs)
    ids = int_column(prs, "id")
    team = int_column(prs, "team_id")
    groups = group_code(team, event_week(prs, week_starts))
    merged_us, _ = timestamps_us(prs, "merged_at")
    parts = []
    for env_no, (env_name, share, lo, hi) in enumerate(
        (("staging", staging_share, 0.1, 2.0), ("production", production_share, 1.0, 8.0))
    ):
        chosen = systematic(np.where(merged, share, 0.0), groups, ids, *k, "deploy", env_name) & merged
        did = ids[chosen] * 10 + env_no
        at = merged_us[chosen] + ((lo + keyed_uniform(did, *k, "deploy-at") * (hi - lo)) * US_PER_HOUR).astype(np.int64)
        ok = at < end
        parts.append((chosen.nonzero()[0][ok], did[ok], at[ok], env_name))
    rows = np.concatenate([p[0] for p in parts])
    did = np.concatenate([p[1] for p in parts])
    at = np.concatenate([p[2] for p in parts])
    env = np.concatenate([np.full(len(p[0]), p[3] == "production") for p in parts])
    by_id = np.argsort(did, kind="stable")
    rows, did, at, env = rows[by_id], did[by_id], at[by_id], env[by_id]
    failed = keyed_uniform(did, *k, "deploy-status") < 0.05
    sub = prs.take(pa.array(rows, type=pa.int64()))
    creator = int_column(sub, "author_id", -1)
    return build_table(
        "metrics_deployment",
        {
            "id": did,
            "created_at": (_ts6 := ts_array(at)),
            "updated_at": _ts6,
            "team_id": team[rows],
            "github_deployment_id": 3_000_000_000 + did,
            "github_repo": sub.column("github_repo"),
            "environment": pick(("staging", "production"), env),
            "status": pick(("success", "failure"), failed),
            "creator_id": pa.array(creator, mask=creator < 0),
            "deployed_at": _ts6,
            "pull_request_id": ids[rows],
            "sha": hex_strings(did, 40, *k, "deploy-sha"),
        },
    )


# ---------------------------------------------------------------------------
# Jira
# ---------------------------------------------------------------------------

ISSUE_TYPES = np.array(["Story", "Bug", "Task"], dtype=object)
PRIORITIES = np.array(["Medium", "High", "Low", "Highest"], dtype=object)
POINTS = np.array([1, 2, 3, 5, 8], dtype=np.float64)
_SPRINT_EPOCH = dt.date(2024, 1, 1)  # a Monday: two-week sprints counted from here


def assign_jira_keys(prs: pa.Table, *, k: Key, prefix: str, share: float = 0.8) -> pa.Array:
    """A Jira key (``PREFIX-123``) for ~share of each team's PRs, numbered in creation order; '' otherwise."""
    ids = int_column(prs, "id")
    team = int_column(prs, "team_id")
    created, _ = timestamps_us(prs, "pr_created_at")
    has = systematic(np.full(len(ids), float(share)), team, ids, *k, "jira")
    rank, _ = rank_within(np.where(has, team, -1), created)
    start = int_between(team, 100, 900, *k, "jira-start")
    number = (start + rank).astype(np.int64)
    keys = pc.binary_join_element_wise(text(prefix), int_str(number), text("-"))
    return pc.if_else(pa.array(has), keys, text(""))


def simulate_jira_issues(prs: pa.Table, *, k: Key, week_starts: Sequence[dt.date]) -> pa.Table:
    """One Jira issue per PR that has a jira_key: Done when merged, In Progress when open, Closed otherwise."""
    _, end = window_us(week_starts)
    has = pc.greater(pc.utf8_length(prs.column("jira_key")), pa.scalar(0, pa.int64())).to_numpy(zero_copy_only=False)
    sub = prs.filter(pa.array(has))
    ids = int_column(sub, "id")
    created, _ = timestamps_us(sub, "pr_created_at")
    merged_us, merged_ok = timestamps_us(sub, "merged_at")
    updated, _ = timestamps_us(sub, "updated_at")
    state = sub.column("state").to_numpy(zero_copy_only=False)
    hotfix = sub.column("is_hotfix").to_numpy(zero_copy_only=False)
    issue_created = created - ((0.5 + keyed_uniform(ids, *k, "issue-lead") * 71.5) * US_PER_HOUR).astype(np.int64)
    resolved_ok = state != "open"
    resolved_base = np.where(merged_ok, merged_us, updated)
    resolved = clamp_after(resolved_base, (0.1 + keyed_uniform(ids, *k, "resolve") * 11.9) * US_PER_HOUR, end)
    synced = np.where(resolved_ok, resolved, updated)
    itype = np.where(hotfix, 1, categorical(keyed_uniform(ids, *k, "type"), np.array([0.55, 0.25, 0.20])))
    status = pick(("Closed", "Done", "In Progress"), np.where(state == "merged", 1, np.where(state == "open", 2, 0)))
    prio = categorical(keyed_uniform(ids, *k, "priority"), np.array([0.5, 0.25, 0.2, 0.05]))
    pts = POINTS[categorical(keyed_uniform(ids, *k, "points"), np.array([0.15, 0.3, 0.3, 0.17, 0.08]))]
    sprint = (created // US_PER_DAY - (_SPRINT_EPOCH - dt.date(1970, 1, 1)).days) // 14 + 1
    jira_key = sub.column("jira_key")
    key_prefix = pc.replace_substring_regex(jira_key, r"-\d+$", "")
    sprint_str = int_str(sprint)
    epic = keyed_uniform(ids, *k, "epic") < 0.3
    epic_no = int_between(ids, 1, 40, *k, "epic-no")
    labels = np.array(['["backend"]', '["frontend"]', "[]", '["tech-debt"]', "[]"], dtype=object)
    return build_table(
        "metrics_jiraissue",
        {
            "id": ids,
            "created_at": (_ts7 := ts_array(issue_created)),
            "updated_at": (_ts8 := ts_array(synced)),
            "team_id": int_column(sub, "team_id"),
            "jira_key": jira_key,
            "jira_id": int_str(10_000 + ids),
            "summary": sub.column("title"),
            "issue_type": take_strings(ISSUE_TYPES, itype),
            "status": status,
            "description": pc.binary_join_element_wise(
                sub.column("title"), text(". Linked to its pull request."), text("")
            ),
            "labels": take_strings(labels, int_between(ids, 0, len(labels) - 1, *k, "labels")),
            "priority": take_strings(PRIORITIES, prio),
            "parent_issue_key": pc.if_else(
                pa.array(epic),
                pc.binary_join_element_wise(key_prefix, int_str(epic_no), text("-")),
                text(""),
            ),
            "assignee_id": pa.array(int_column(sub, "author_id", -1), mask=int_column(sub, "author_id", -1) < 0),
            "story_points": decimal_array(pts, None, 1, 5),
            "sprint_id": pc.binary_join_element_wise(key_prefix, sprint_str, text("-S")),
            "sprint_name": pc.binary_join_element_wise(text("Sprint "), sprint_str, text("")),
            "issue_created_at": _ts7,
            "resolved_at": ts_array(resolved, resolved_ok),
            "cycle_time_hours": hours_decimal(resolved - issue_created, resolved_ok),
            "synced_at": _ts8,
        },
    )


# ---------------------------------------------------------------------------
# AI usage
# ---------------------------------------------------------------------------


def simulate_ai_usage(members: pa.Table, prs: pa.Table, *, k: Key, week_starts: Sequence[dt.date]) -> pa.Table:
    """Daily AI-tool use: a member with an AI-assisted PR created in a week uses their tool on 3-5 weekdays."""
    start, _ = window_us(week_starts)
    member_ids = int_column(members, "id")
    member_team = int_column(members, "team_id")
    author = int_column(prs, "author_id", -1)
    ai = pc.fill_null(prs.column("is_ai_assisted"), False).to_numpy(zero_copy_only=False)
    created, _ = timestamps_us(prs, "pr_created_at")
    wk = week_index(created, week_starts)
    sel = ai & (author >= 0) & (created >= start)
    mw = np.unique(author[sel] * 1024 + wk[sel])
    m_id, w = mw // 1024, mw % 1024
    srt = np.argsort(member_ids, kind="stable")
    pos = srt[np.minimum(np.searchsorted(member_ids[srt], m_id), max(len(srt) - 1, 0))] if len(srt) else m_id * 0
    known = member_ids[pos] == m_id if len(srt) else np.zeros(len(m_id), bool)
    m_id, w, pos = m_id[known], w[known], pos[known]
    days = int_between(mw[known], 3, 5, *k, "usage-days")
    rep = np.repeat(np.arange(len(m_id)), 5)
    wd = np.tile(np.arange(5), len(m_id))
    day_key = m_id[rep] * 100_000 + w[rep] * 7 + wd
    rank, _ = rank_within(rep, keyed_u64(day_key, *k, "usage-order"))
    keep = rank < days[rep]
    rep, wd, day_key = rep[keep], wd[keep], day_key[keep]
    mid = m_id[rep]
    day_no = w[rep] * 7 + wd
    date_us = start + day_no * US_PER_DAY
    uid = mid * 10_000 + day_no
    cursor = keyed_uniform(mid, *k, "tool") < 0.4
    shown = int_between(uid, 40, 400, *k, "shown")
    rate = 0.2 + keyed_uniform(uid, *k, "accept") * 0.25
    accepted = np.round(shown * rate).astype(np.int64)
    synced = date_us + 23 * US_PER_HOUR + 30 * US_PER_MIN
    active = 0.5 + keyed_uniform(uid, *k, "hours") * 6.0
    return build_table(
        "metrics_aiusagedaily",
        {
            "id": uid,
            "created_at": (_ts9 := ts_array(synced)),
            "updated_at": _ts9,
            "team_id": member_team[pos[rep]],
            "member_id": mid,
            "date": pa.array((date_us // US_PER_DAY).astype(np.int32)).cast(pa.date32()),
            "source": pick(("copilot", "cursor"), cursor),
            "active_hours": decimal_array(active, None, 2, 5),
            "suggestions_shown": shown.astype(np.int32),
            "suggestions_accepted": accepted.astype(np.int32),
            "acceptance_rate": decimal_array(accepted / shown * 100.0, None, 2, 5),
            "synced_at": _ts9,
        },
    )
