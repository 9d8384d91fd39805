"""Simulators of what GitHub cannot give, over app-shaped tables.

Used by scenario generation and by real-project mode (``real_project/build.py``): the
inputs are app tables whose ids are already assigned (``metrics_pullrequest``,
``metrics_prreview``, ``metrics_teammember``) plus plain parameters; the
outputs are app tables conforming to ``pipeline.base.schemas``. Stable signatures:

* ``choose_surveyed(prs, *, k, response_rate, week_starts) -> np.ndarray[bool]``
  which merged PRs get an (answered) author survey: a quota per team x merge week.
* ``assign_ai_assisted(prs, *, k, ai_probability, week_starts, surveyed=None,
  target_share=None) -> np.ndarray[bool]`` the AI-assisted truth per PR, drawn with
  quotas per team x week (x surveyed), so a weekly share tracks its target.
* ``simulate_surveys(prs, reviews, *, k, teams, surveyed, week_starts, quality=2.6,
  guess_accuracy=0.5, ai_assisted=None) -> (metrics_prsurvey, metrics_prsurveyreview)``
  survey id = PR id; the token (unique app-wide) is keyed by the team's slug and the
  id, so snapshots that can share a database never collide; 1-3 of the PR's reviewers answer; quality and guess
  correctness are quota-drawn (quality per team x merge week, guesses per author in answer order).
* ``simulate_check_runs(prs, *, k, week_starts, ci_pass_rate=0.88) -> metrics_prcheckrun``
* ``simulate_deployments(prs, *, k, week_starts, production_share=0.35,
  staging_share=0.5) -> metrics_deployment``
* ``assign_jira_keys(prs, *, k, prefix, share=0.8) -> pa.Array`` (PR jira_key, '' when none)
* ``simulate_jira_issues(prs, *, k, week_starts) -> metrics_jiraissue`` (one per PR with a jira_key)
* ``simulate_ai_usage(members, prs, *, k, week_starts) -> metrics_aiusagedaily``
  (members with an AI-assisted PR in a week use an AI tool on 3-5 weekdays of it)

Conventions: ``k`` is the :data:`pipeline.base.rng.Key` naming the run, seed
first (e.g. ``(42, "ai-success", "sim")`` or ``(42, "project", "antiwork")``); every
draw is keyed by (*k, stream, row id), so it never depends on row order or other
teams. ``week_starts`` are the Mondays of the window; nothing produced is at or
after the last Monday + 7 days (the window end). ``quality``/``ci_pass_rate``
may be a float or one value per week; ``ai_probability``/``guess_accuracy`` a
float or one value per PR row. Child ids derive from the PR id (survey id =
PR id, survey review / check run / deployment id = PR id * 10 + j, Jira issue
id = PR id), AI usage id = member id * 10000 + day in the window, so blending
or adding rows elsewhere never shifts them.

The check-run, deployment, Jira and AI-usage simulators live in
``operations.py`` (shared helpers in ``base.py``) and are re-exported
here, so ``stages.generate.simulated.<name>`` is the one import path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.base.rng import Key, key64, keyed_u64, keyed_uniform
from stages.generate.draws import (
    US_PER_DAY,
    US_PER_HOUR,
    categorical,
    hex_strings,
    int_between,
    pick,
    rank_within,
    stratified_uniform,
    systematic,
    ts_array,
)
from stages.generate.simulated.base import (
    EFFORTS,
    SOURCES,
    US_PER_MIN,
    build_table,
    clamp_after,
    event_week,
    group_code,
    int_column,
    merged_mask,
    per_row,
    per_week,
    take_strings,
    timestamps_us,
    week_index,
    window_us,
)
from stages.generate.simulated.operations import (
    assign_jira_keys,
    simulate_ai_usage,
    simulate_check_runs,
    simulate_deployments,
    simulate_jira_issues,
)

__all__ = [
    "assign_ai_assisted",
    "assign_jira_keys",
    "choose_surveyed",
    "simulate_ai_usage",
    "simulate_check_runs",
    "simulate_deployments",
    "simulate_jira_issues",
    "simulate_surveys",
]

# ---------------------------------------------------------------------------
# AI truth and survey selection
# ---------------------------------------------------------------------------


def choose_surveyed(prs: pa.Table, *, k: Key, response_rate: float, week_starts: Sequence[dt.date]) -> np.ndarray:
    """Which PRs get an answered author survey: ~response_rate of merged PRs per team x merge week."""
    merged = merged_mask(prs)
    ids = int_column(prs, "id")
    groups = group_code(int_column(prs, "team_id"), event_week(prs, week_starts))
    p = np.where(merged, float(response_rate), 0.0)
    return np.asarray(systematic(p, groups, ids, *k, "surveyed") & merged)


def assign_ai_assisted(
    prs: pa.Table,
    *,
    k: Key,
    ai_probability: float | np.ndarray,
    week_starts: Sequence[dt.date],
    surveyed: np.ndarray | None = None,
    target_share: np.ndarray | None = None,
) -> np.ndarray:
    """AI-assisted truth per PR, quota-drawn per team x event week x surveyed.

    ``ai_probability`` weights PRs (e.g. by author archetype); with
    ``target_share`` (one value per week) each group's mean is rescaled to the
    week's target so the realized weekly share tracks the curve.
    """
    n = prs.num_rows
    p = np.clip(per_row(ai_probability, n), 0.0, 1.0)
    week = event_week(prs, week_starts)
    surv = np.zeros(n, bool) if surveyed is None else np.asarray(surveyed, bool)
    groups = group_code(int_column(prs, "team_id"), week, surv.astype(np.int64))
    if target_share is not None and n:
        target = np.asarray(target_share, np.float64)[week]
        uniq, inv = np.unique(groups, return_inverse=True)
        mean = np.bincount(inv, weights=p, minlength=len(uniq)) / np.bincount(inv, minlength=len(uniq))
        scale = np.where(mean[inv] > 0, target / np.maximum(mean[inv], 1e-9), 0.0)
        p = np.where(mean[inv] > 0, p * scale, target)
        # clipping above 1 loses mass: hand it back to the others once
        over = np.maximum(p - 1.0, 0.0)
        p = np.minimum(p, 1.0)
        lost = np.bincount(inv, weights=over, minlength=len(uniq))
        room = np.bincount(inv, weights=1.0 - p, minlength=len(uniq))
        p = p + (1.0 - p) * np.where(room[inv] > 0, lost[inv] / np.maximum(room[inv], 1e-9), 0.0)
    ids = int_column(prs, "id")
    if target_share is None:
        return systematic(p, groups, ids, *k, "ai-assisted")
    # Round cumulatively across the weeks of a team x surveyed stratum (weeks in
    # order, keyed order inside a week): each week's count is floor or ceil of
    # its expected count and the total is exact. Rounding every week on its own
    # would turn a small team's 0.3 expected AI PRs into 0 every single week.
    strata = int_column(prs, "team_id") * 2 + surv.astype(np.int64)
    order = week.astype(np.int64) * (1 << 20) + (keyed_u64(ids, *k, "ai-order") >> np.uint64(44)).astype(np.int64)
    return systematic(p, strata, ids, *k, "ai-assisted", phase=0.5, order=order)


# ---------------------------------------------------------------------------
# Surveys
# ---------------------------------------------------------------------------


def team_keyed(ids: np.ndarray, team: np.ndarray, teams: pa.Table) -> np.ndarray:
    """Per row a key of (its team's slug, id): the id xor the slug's 64-bit key.

    A value drawn from it differs between teams of other slugs even where
    seed, scenario and ids are the same (two snapshots of one seed in one
    database); the app's slugs are unique, so such keys are too.
    """
    team_ids = int_column(teams, "id")
    salt = np.array([key64("team-slug", s) for s in teams.column("slug").to_pylist()], dtype=np.uint64)
    order = np.argsort(team_ids)
    at = order[np.searchsorted(team_ids[order], team)]
    return np.asarray(ids).astype(np.uint64) ^ salt[at]


@dataclass(frozen=True)
class _Surveyed:
    """The surveyed PRs, one row each (the survey's id is the PR's)."""

    ids: np.ndarray
    team: np.ndarray
    author: np.ndarray  # -1: no author member
    merged_us: np.ndarray
    created: np.ndarray  # the survey's creation (after the merge)
    ai: np.ndarray  # the author's answer: AI-assisted
    accuracy: np.ndarray  # the team's guess accuracy on the PR


def simulate_surveys(
    prs: pa.Table,
    reviews: pa.Table,
    *,
    k: Key,
    teams: pa.Table,
    surveyed: np.ndarray,
    week_starts: Sequence[dt.date],
    quality: float | np.ndarray = 2.6,
    guess_accuracy: float | np.ndarray = 0.5,
    ai_assisted: np.ndarray | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Author surveys on the ``surveyed`` merged PRs and their reviewers' answers."""
    _, end = window_us(week_starts)
    surveyed = np.asarray(surveyed, bool) & merged_mask(prs)
    if ai_assisted is None:
        ai_all = pc.fill_null(prs.column("is_ai_assisted"), False).to_numpy(zero_copy_only=False)
    else:
        ai_all = np.asarray(ai_assisted, bool)
    rows = np.flatnonzero(surveyed)
    sp = prs.take(pa.array(rows))
    ids = int_column(sp, "id")
    merged_us, _ = timestamps_us(sp, "merged_at")
    s = _Surveyed(
        ids=ids,
        team=int_column(sp, "team_id"),
        author=int_column(sp, "author_id", -1),
        merged_us=merged_us,
        created=clamp_after(merged_us, int_between(ids, 1, 10, *k, "survey-delay") * US_PER_MIN, end),
        ai=ai_all[rows],
        accuracy=per_row(guess_accuracy, prs.num_rows)[rows],
    )
    surveys = _author_surveys(s, k=k, teams=teams, end=end)
    r_pr, r_who, rank = _answering_reviewers(prs, reviews, s, k)
    survey_reviews = _reviewer_answers(s, r_pr, r_who, rank, k=k, week_starts=week_starts, quality=quality, end=end)
    return surveys, survey_reviews


def _author_surveys(s: _Surveyed, *, k: Key, teams: pa.Table, end: int) -> pa.Table:
    """metrics_prsurvey: one survey per surveyed PR, answered by its author."""
    ids, team, author, created = s.ids, s.team, s.author, s.created
    responded = clamp_after(created, (keyed_uniform(ids, *k, "author-delay") * 23.5 + 0.2) * US_PER_HOUR, end)
    expires = np.minimum(created + 7 * US_PER_DAY, end - 1_000_000)
    src = categorical(keyed_uniform(ids, *k, "author-source"), np.array([0.5, 0.35, 0.15]))
    effort_idx = categorical(keyed_uniform(ids, *k, "effort"), np.array([0.2, 0.4, 0.3, 0.1]))
    return build_table(
        "metrics_prsurvey",
        {
            "id": ids,
            "created_at": ts_array(created),
            "updated_at": (_ts1 := ts_array(responded)),
            "team_id": team,
            "pull_request_id": ids,
            "author_id": pa.array(author, mask=author < 0),
            "token": hex_strings(team_keyed(ids, team, teams), 32, *k, "token"),
            "token_expires_at": ts_array(expires),
            "github_comment_id": 2_000_000_000 + ids,
            "author_ai_assisted": pa.array(s.ai, type=pa.bool_()),
            "author_responded_at": _ts1,
            "author_response_source": take_strings(SOURCES, src),
            "ai_modification_effort": pick(("na", *EFFORTS), np.where(s.ai, 1 + effort_idx, 0)),
        },
    )


def _answering_reviewers(
    prs: pa.Table, reviews: pa.Table, s: _Surveyed, k: Key
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(survey/PR id, reviewer, rank) of the reviewers who answer: distinct reviewers of each surveyed PR,
    first review first, 1 to 3 of them in a keyed order; by answer id."""
    rv_pr = int_column(reviews, "pull_request_id")
    rv_who = int_column(reviews, "reviewer_id", -1)
    rv_at, _ = timestamps_us(reviews, "submitted_at")
    pos = np.full(int(prs.column("id").to_numpy().max(initial=0)) + 1 if prs.num_rows else 1, -1, np.int64)
    pos[s.ids] = np.arange(len(s.ids))
    keep = (rv_who >= 0) & (rv_pr < len(pos))
    keep[keep] = pos[rv_pr[keep]] >= 0
    r_pr, r_who, r_at = rv_pr[keep], rv_who[keep], rv_at[keep]
    order = np.lexsort((r_who, r_at, r_pr))
    r_pr, r_who = r_pr[order], r_who[order]
    pair = r_pr * 1_000_003 + r_who
    first = np.ones(len(pair), bool)
    if len(pair):
        _, uidx = np.unique(pair, return_index=True)
        first[:] = False
        first[uidx] = True
    r_pr, r_who = r_pr[first], r_who[first]
    rank, size = rank_within(r_pr, keyed_u64(r_pr * 64 + r_who % 64, *k, "reviewer-order"))
    answers = int_between(r_pr, 1, np.minimum(size, 3), *k, "answers")
    take = rank < answers
    r_pr, r_who, rank = r_pr[take], r_who[take], rank[take]
    by_id = np.argsort(r_pr * 10 + rank, kind="stable")
    return r_pr[by_id], r_who[by_id], rank[by_id]


def _reviewer_answers(
    s: _Surveyed,
    r_pr: np.ndarray,
    r_who: np.ndarray,
    rank: np.ndarray,
    *,
    k: Key,
    week_starts: Sequence[dt.date],
    quality: float | np.ndarray,
    end: int,
) -> pa.Table:
    """metrics_prsurveyreview: each answering reviewer's quality rating and AI guess."""
    pos = np.full(int(s.ids.max(initial=0)) + 1, -1, np.int64)
    pos[s.ids] = np.arange(len(s.ids))
    srow = pos[r_pr]
    team = s.team[srow]
    rid = r_pr * 10 + rank
    week = week_index(s.merged_us[srow], week_starts)
    q = per_week(quality, len(week_starts))[week]
    d = q - 2.0
    p1 = np.where(d >= 0, 0.15 * (1 - d), -d + 0.15 * (1 + d))
    p3 = np.where(d >= 0, d + 0.15 * (1 - d), 0.15 * (1 + d))
    probs = np.clip(np.stack([p1, 1 - p1 - p3, p3], axis=1), 0, 1)
    u = stratified_uniform(group_code(team, week), rid, *k, "quality")
    rating = categorical(u, probs) + 1
    resp = clamp_after(s.created[srow], (keyed_uniform(rid, *k, "review-delay") * 47.0 + 0.1) * US_PER_HOUR, end)
    # a running quota per author in answer order: any stretch of weeks has each author's accuracy
    correct = systematic(s.accuracy[srow], s.author[srow] + 1, rid, *k, "guess", order=resp)
    guess = np.where(correct, s.ai[srow], ~s.ai[srow])
    rsrc = categorical(keyed_uniform(rid, *k, "review-source"), np.array([0.5, 0.35, 0.15]))
    return build_table(
        "metrics_prsurveyreview",
        {
            "id": rid,
            "created_at": (_ts3 := ts_array(resp)),
            "updated_at": _ts3,
            "team_id": team,
            "survey_id": r_pr,
            "reviewer_id": r_who,
            "quality_rating": rating.astype(np.int32),
            "ai_guess": pa.array(guess, type=pa.bool_()),
            "guess_correct": pa.array(correct, type=pa.bool_()),
            "responded_at": _ts3,
            "response_source": take_strings(SOURCES, rsrc),
            "feedback_clarity": int_between(rid, 2, 5, *k, "clarity").astype(np.int32),
            "review_burden": int_between(rid, 1, 4, *k, "burden").astype(np.int32),
        },
    )
