"""Scenario generation: from a validated scenario to the 12 app tables + provenance.

Order of work (every step whole-column numpy/pyarrow, all teams at once):
teams and members -> PR skeleton (volume, times, states, sizes, flags; plus
the warm-up backlog created before week 1) ->
reviews by archetype quota -> survey selection and AI truth (quota per week)
-> real-share slots (+ overlay when real data exists) -> commits and files
-> PR table -> simulated tables (surveys, checks, deployments, Jira, AI usage).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.base.parquet import conform
from pipeline.base.rng import keyed_uniform
from pipeline.base.schemas import spec
from stages.generate import blend, children, reviews, simulate
from stages.generate.draws import US_PER_DAY, decimal_array, hours_decimal, int_between, int_str, pick, ts_array
from stages.generate.prs import STATES, PRFrame, repo_and_number, skeleton, warmup_weeks
from stages.generate.scenario import Scenario
from stages.generate.simbase import window_us
from stages.generate.team import build_members, build_teams, roster, team_slugs, week_starts_for, with_copilot_activity
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


@dataclass
class Params:
    scenario: Scenario
    seed: int
    anchor: dt.date
    weeks: int
    teams: int
    members: int
    fixed_prs: int | None
    team_slug: str
    real_share: float


def generate_tables(p: Params, real: dict[str, pa.Table] | None) -> tuple[dict[str, pa.Table], dict]:
    sc = p.scenario
    k = (p.seed, sc.name)
    week_starts = week_starts_for(p.anchor, p.weeks)
    start, end = window_us(week_starts)
    ros = roster(sc, p.members)
    slugs = team_slugs(p.team_slug, p.teams)
    # warm-up: PRs created in the weeks before the window that are still unresolved at its start, so
    # week 1 has a backlog and its merges the cycle times of a running team; a fixed PR count (--prs)
    # means exactly that many PRs, all created in the window: no warm-up
    warmup = 0 if p.fixed_prs is not None else warmup_weeks(sc, p.weeks)
    teams = build_teams(sc, slugs, start - warmup * 7 * US_PER_DAY, (*k, "team"))  # members join before
    members, company = build_members(teams, ros.size, (*k, "member"))

    frame = skeleton(
        sc, ros, n_teams=p.teams, week_starts=week_starts, k=(*k, "pr"), fixed_prs=p.fixed_prs, warmup=warmup
    )
    pr_row, reviewer = reviews.allocate(frame, ros, sc, (*k, "review"))
    review_table, changes = reviews.build_reviews(frame, pr_row, reviewer, sc, ros, week_starts, (*k, "review"))

    # survey selection and AI truth (quota per team x merge week, separately for surveyed PRs)
    base = _base_pr_table(frame)
    surveyed = simulate.choose_surveyed(
        base, seed=p.seed, key=(sc.name, "sim"), response_rate=sc.survey_rate, week_starts=week_starts
    )
    ai = simulate.assign_ai_assisted(
        base,
        seed=p.seed,
        key=(sc.name, "sim"),
        ai_probability=frame.ai_probability,
        week_starts=week_starts,
        surveyed=surveyed,
        target_share=sc.curve("ai_share", p.weeks),
    )

    # synthetic text and metadata, then the real overlay on the chosen slots
    comp_idx, service, number = repo_and_number(frame, company, (*k, "repo"))
    repo = pc.binary_join_element_wise(take("companies", comp_idx), take("services", service), "/")
    title = _titles(frame, (*k, "title"))
    n = frame.n
    labels = pick(
        (*LABELS, '["bug", "hotfix"]'),
        np.where(frame.is_hotfix, len(LABELS), int_between(frame.key, 0, 8, *k, "labels")),
    )
    milestone_no = int_between(frame.team * 16 + np.maximum(frame.week, 0) // 4, 1, 9, *k, "milestone")
    has_ms = keyed_uniform(frame.key, *k, "has-milestone") < 0.3
    milestone = pc.if_else(
        pa.array(has_ms), pc.binary_join_element_wise(pa.scalar("v2."), int_str(milestone_no), ""), pa.scalar("")
    )
    usernames = members.column("github_username")
    assigned = keyed_uniform(frame.key, *k, "assignee") < 0.6
    assignees = pc.if_else(
        pa.array(assigned),
        pc.binary_join_element_wise(
            pa.scalar('["'), usernames.take(pa.array(frame.author_id - 1)), pa.scalar('"]'), ""
        ),
        pa.scalar("[]"),
    )
    issue_no = int_between(frame.key, 10, 900, *k, "issue")
    linked = pc.if_else(
        pa.array(keyed_uniform(frame.key, *k, "linked") < 0.35),
        pc.binary_join_element_wise(pa.scalar("["), int_str(issue_no), pa.scalar("]"), ""),
        pa.scalar("[]"),
    )
    additions, deletions, is_draft = frame.additions.copy(), frame.deletions.copy(), frame.is_draft.copy()
    n_commits = children.commit_counts(frame.key, frame.additions, (*k, "commit"))
    n_files = children.file_counts(frame.key, frame.additions, (*k, "file"))

    slots = blend.choose_slots(frame.team, frame.key, p.real_share, (*k, "real"))
    pool, reason = blend.real_pool(real)
    if p.real_share <= 0:
        pool, reason = None, "real share set to 0"
    src = np.full(n, -1, np.int64)
    if pool is not None:
        src = blend.assign_sources(frame.team, frame.key, slots, pool.size, (*k, "real"))
        rows = np.flatnonzero(src >= 0)
        s = src[rows]
        mask = pa.array(src >= 0)
        title = pc.replace_with_mask(title, mask, pool.title.take(pa.array(s)))
        labels = pc.replace_with_mask(labels, mask, pool.labels.take(pa.array(s)))
        milestone = pc.replace_with_mask(milestone, mask, pool.milestone.take(pa.array(s)))
        assignees = pc.replace_with_mask(assignees, mask, pool.assignees.take(pa.array(s)))
        linked = pc.replace_with_mask(linked, mask, pool.linked.take(pa.array(s)))
        additions[rows] = pool.additions[s]
        deletions[rows] = pool.deletions[s]
        is_draft[rows] = pool.draft[s] & (frame.state[rows] == 2)
        n_commits[rows] = pool.commits[s]
        n_files[rows[pool.n_files[s] > 0]] = 0  # replaced by the real paths below
    blended = src >= 0

    # commits and files
    last = np.where(frame.state == 2, np.minimum(frame.created + 48 * 3_600_000_000, end - 2_000_000), frame.closed)
    commit_table, after = children.build_commits(
        pr_id=frame.id,
        team_id=frame.team + 1,
        author_id=frame.author_id,
        repo=repo,
        title=title,
        created=frame.created,
        last=last,
        first_review=frame.first_review,
        additions=additions,
        deletions=deletions,
        ai=ai,
        counts=n_commits,
        k=(*k, "commit"),
    )
    file_cols = children.synthetic_files(frame.id, frame.key, n_files, additions, deletions, (*k, "file"))
    file_parts = [children.files_table(file_cols, frame.team + 1, frame.created)]
    if pool is not None and blended.any():
        rows = np.flatnonzero(blended)
        real_cols = blend.real_file_columns(pool, src[rows], rows, frame.id)
        file_parts.append(children.files_table(real_cols, frame.team + 1, frame.created))
    files = pa.concat_tables(file_parts)

    jira_base = base.append_column("is_hotfix", pa.array(frame.is_hotfix)).append_column("title", title)
    jira_keys = simulate.assign_jira_keys(jira_base, seed=p.seed, key=(sc.name, "sim"), prefix=sc.jira_prefix)
    prs = _pr_table(
        frame,
        repo,
        number,
        title,
        labels,
        milestone,
        assignees,
        linked,
        additions,
        deletions,
        is_draft,
        ai,
        changes,
        after,
        jira_keys,
        (*k, "pr-extra"),
    )

    sim_key = (sc.name, "sim")
    surveys, survey_reviews = simulate.simulate_surveys(
        prs,
        review_table,
        seed=p.seed,
        key=sim_key,
        surveyed=surveyed,
        week_starts=week_starts,
        quality=sc.curve("quality_rating", p.weeks),
        guess_accuracy=frame.guess_accuracy,
        ai_assisted=ai,
    )
    checks = simulate.simulate_check_runs(
        prs, seed=p.seed, key=sim_key, week_starts=week_starts, ci_pass_rate=sc.curve("ci_pass_rate", p.weeks)
    )
    deployments = simulate.simulate_deployments(prs, seed=p.seed, key=sim_key, week_starts=week_starts)
    jira = simulate.simulate_jira_issues(prs, seed=p.seed, key=sim_key, week_starts=week_starts)
    usage = simulate.simulate_ai_usage(members, prs, seed=p.seed, key=sim_key, week_starts=week_starts)
    members = with_copilot_activity(members, usage, (*k, "member"))

    provenance = _provenance(frame, blended, pool, src)
    tables = {
        "teams_team": teams,
        "metrics_teammember": members,
        "metrics_pullrequest": prs,
        "metrics_prreview": review_table,
        "metrics_commit": commit_table,
        "metrics_prfile": files,
        "metrics_prcheckrun": checks,
        "metrics_prsurvey": surveys,
        "metrics_prsurveyreview": survey_reviews,
        "metrics_aiusagedaily": usage,
        "metrics_deployment": deployments,
        "metrics_jiraissue": jira,
        "demoseed_provenance": provenance,
    }
    realized = float(blended.mean()) if n else 0.0
    info = {
        "week_starts": [w.isoformat() for w in week_starts],
        "window_end": (week_starts[-1] + dt.timedelta(days=7)).isoformat(),
        "warmup_weeks": warmup,
        "warmup_start": (week_starts[0] - dt.timedelta(days=7 * warmup)).isoformat(),
        "warmup_prs": int((frame.week < 0).sum()),
        "team_slugs": slugs,
        "real_share_requested": p.real_share,
        "real_share_realized": round(realized, 6),
        "real_share": round(realized, 6),
        "real_source_prs": pool.size if pool is not None else 0,
        "real_prs_used": len(np.unique(src[blended])) if pool is not None else 0,
    }
    if pool is None:
        info["real_share_reason"] = reason
    return tables, info


def _base_pr_table(frame: PRFrame) -> pa.Table:
    """The PR columns the simulators need before the full PR table exists."""
    merged = frame.state == 0
    return pa.table(
        {
            "id": frame.id,
            "team_id": frame.team + 1,
            "author_id": frame.author_id,
            "state": pick(STATES, frame.state),
            "pr_created_at": ts_array(frame.created),
            "merged_at": ts_array(np.where(merged, frame.closed, 0), merged),
            "updated_at": ts_array(np.where(frame.state == 2, frame.created, frame.closed)),
        }
    )


def _titles(frame: PRFrame, k: tuple) -> pa.Array:
    verb = take("verbs", int_between(frame.key, 0, len(words("verbs")) - 1, *k, "verb"))
    obj = take("objects", int_between(frame.key, 0, len(words("objects")) - 1, *k, "object"))
    comp = take("components", int_between(frame.key, 0, len(words("components")) - 1, *k, "component"))
    title = pc.binary_join_element_wise(verb, pc.utf8_lower(obj), pa.scalar("in"), comp, " ")
    title = pc.if_else(pa.array(frame.is_hotfix), pc.binary_join_element_wise(pa.scalar("Hotfix:"), title, " "), title)
    reverted = pc.binary_join_element_wise(pa.scalar('Revert "'), title, pa.scalar('"'), "")
    return pc.if_else(pa.array(frame.is_revert), reverted, title)


def _pr_table(
    frame,
    repo,
    number,
    title,
    labels,
    milestone,
    assignees,
    linked,
    additions,
    deletions,
    is_draft,
    ai,
    changes,
    after,
    jira_keys,
    k,
) -> pa.Table:
    n = frame.n
    merged = frame.state == 0
    reviewed = frame.state != 2
    last_event = np.where(frame.state == 2, frame.created, frame.closed)
    body_comp = take("components", int_between(frame.key, 0, 19, *k, "body-comp"))
    body = pc.binary_join_element_wise(
        pa.scalar("Touches the "),
        body_comp,
        pa.scalar(" module; tests pass locally."),
        "",
    )
    body = pc.if_else(pa.array(keyed_uniform(frame.key, *k, "empty-body") < 0.15), pa.scalar(""), body)
    tool_idx = int_between(frame.author_id, 0, 2, *k, "tool")
    has_ai_commits = ai & (keyed_uniform(frame.key, *k, "ai-commits") < 0.6)
    conf = np.where(
        ai, 0.6 + 0.39 * keyed_uniform(frame.key, *k, "conf"), 0.02 + 0.25 * keyed_uniform(frame.key, *k, "conf")
    )
    signals = pick(
        ("{}", '{"survey": true}', '{"co_author_trailer": true}'), np.where(has_ai_commits, 2, ai.astype(int))
    )
    fix_hours = 0.5 + 11.5 * keyed_uniform(frame.key, *k, "fix")
    table = pa.table(
        {
            "id": frame.id,
            "created_at": (_ts1 := ts_array(frame.created)),
            "updated_at": (_ts2 := ts_array(last_event)),
            "team_id": frame.team + 1,
            "github_pr_id": number,
            "github_repo": repo,
            "title": title,
            "body": body,
            "author_id": frame.author_id,
            "state": pick(STATES, frame.state),
            "pr_created_at": _ts1,
            "merged_at": ts_array(np.where(merged, frame.closed, 0), merged),
            "first_review_at": ts_array(np.where(reviewed, frame.first_review, 0), reviewed),
            "cycle_time_hours": hours_decimal(frame.closed - frame.created, merged),
            "review_time_hours": hours_decimal(frame.first_review - frame.created, reviewed),
            "review_rounds": pa.array((1 + changes).astype(np.int32), mask=~reviewed),
            "avg_fix_response_hours": decimal_array(fix_hours, reviewed & changes),
            "commits_after_first_review": pa.array(after.astype(np.int32), mask=~reviewed),
            "total_comments": int_between(frame.key, 0, 12, *k, "comments").astype(np.int32),
            "additions": additions.astype(np.int32),
            "deletions": deletions.astype(np.int32),
            "is_revert": frame.is_revert,
            "is_hotfix": frame.is_hotfix,
            "is_draft": is_draft,
            "labels": labels,
            "milestone_title": milestone,
            "assignees": assignees,
            "linked_issues": linked,
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
            "jira_key": jira_keys,
            "synced_at": _ts2,
        }
    )
    return conform(table, spec("metrics_pullrequest"))


def _provenance(frame: PRFrame, blended: np.ndarray, pool, src: np.ndarray) -> pa.Table:
    n = frame.n
    real_number = np.zeros(n, np.int64)
    real_repo = pa.nulls(n, pa.string())
    if pool is not None and blended.any():
        picked = pool.repo.take(pa.array(np.maximum(src, 0)))
        real_repo = pc.if_else(pa.array(blended), picked, pa.scalar(None, pa.string()))
        real_number = np.where(blended, pool.number[np.maximum(src, 0)], 0)
    real_json = json.dumps(list(blend.REAL_FIELDS))
    sim_json = json.dumps(list(blend.SIMULATED_FIELDS))
    return conform(
        pa.table(
            {
                "team_id": frame.team + 1,
                "pull_request_id": frame.id,
                "source": pick(("synthetic", "real_blend"), blended),
                "real_repo": real_repo,
                "real_number": pa.array(real_number, mask=~blended),
                "real_fields": pick(("[]", real_json), blended),
                "simulated_fields": pick(('["all"]', sim_json), blended),
            }
        ),
        spec("demoseed_provenance"),
    )
