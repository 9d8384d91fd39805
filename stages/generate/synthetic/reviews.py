"""Reviews (metrics_prreview): who reviews which PR, by archetype quota.

Per team x creation week, every non-open PR gets ``reviewers_per_pr`` slots;
the week's slots are apportioned to members by their review share (or
weight). Members are then served in order of demand, largest first; each
takes its quota from the PRs it may review (not its own, not twice) with the
most open slots. That is what makes "one reviewer does 60 % of all reviews"
come out at 60 %, where per-member weights alone land far lower. When a share
cannot be met because of the no-self-review rule, the week's slot count is
trimmed first so the shares still hold.
"""

from __future__ import annotations

import datetime as dt
from enum import IntEnum

import numpy as np
import pyarrow as pa

from pipeline.base.parquet import conform
from pipeline.base.rng import Key, keyed_u64, keyed_uniform
from pipeline.base.schemas import spec
from stages.generate.draws import (
    US_PER_HOUR,
    categorical,
    int_between,
    pick,
    rank_within,
    stratified_uniform,
    systematic,
    ts_array,
)
from stages.generate.scenario import Scenario
from stages.generate.simulated.base import window_us
from stages.generate.synthetic.pr_skeleton import PRFrame, PRState, week_code
from stages.generate.synthetic.team import Roster


class ReviewState(IntEnum):
    """A review's drawn state; ``REVIEW_STATES[state]`` is the app's value."""

    APPROVED = 0
    CHANGES_REQUESTED = 1
    COMMENTED = 2


OPEN_SPAN = 72 * US_PER_HOUR  # an open PR's later reviews come within three days of its first
MAX_WAITING = 0.95  # the largest share of a reviewer's reviews on open PRs that leave the PR waiting on them
ROUND_UP = 1.0 - 1e-9  # the running quota's phase: counts are rounded up
REVIEW_STATES = np.array(["approved", "changes_requested", "commented"], dtype=object)
BODIES = np.array(
    [
        "",
        "LGTM",
        "Looks good to me.",
        "Please add a test for the edge case.",
        "A few nits, see inline comments.",
        "Can we split this into two PRs?",
        "Nice cleanup!",
        "",
    ],
    dtype=object,
)


def review_share(roster: Roster) -> np.ndarray:
    """Each member's share of the team's reviews: the archetypes' review_share, else their weights."""
    if roster.review_share is not None:
        return roster.review_share
    w = roster.review_weight if roster.review_weight.sum() > 0 else np.ones(roster.size)
    return np.asarray(w / w.sum())


def allocate(frame: PRFrame, roster: Roster, scenario: Scenario, k: Key) -> tuple[np.ndarray, np.ndarray]:
    """(PR row index, reviewer local member index) per review slot, all teams at once.

    Per team x creation week: review slots per PR (trimmed so that every member's share fits), a quota
    per member (largest remainder of the shares), the quotas filled PR by PR, and a reviewer for a PR
    left without one.
    """
    m = roster.size
    rows = np.flatnonzero(frame.first_review >= 0)
    if len(rows) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    key = frame.key[rows]
    author = frame.member[rows]
    uniq, ginv = np.unique(frame.team[rows] * 1024 + week_code(frame.week[rows]), return_inverse=True)
    share = review_share(roster)
    # eligible PRs per group and member (not authored by them)
    authored = np.zeros((len(uniq), m), np.int64)
    np.add.at(authored, (ginv, author), 1)
    eligible = np.bincount(ginv, minlength=len(uniq))[:, None] - authored
    slots = _review_slots(frame.state[rows], key, ginv, eligible, share, scenario, m, k)
    total = np.bincount(ginv, weights=slots, minlength=len(uniq)).astype(np.int64)
    quota = np.minimum(_largest_remainder(total, share, uniq, k), eligible)
    pr_idx, who = _fill_quotas(quota, share, slots, author, ginv, key, k)
    pr_idx, who = _no_pr_unreviewed(pr_idx, who, author, key, m, k)
    return rows[pr_idx], who


def _review_slots(
    state: np.ndarray,
    key: np.ndarray,
    ginv: np.ndarray,
    eligible: np.ndarray,
    share: np.ndarray,
    scenario: Scenario,
    m: int,
    k: Key,
) -> np.ndarray:
    """Reviewers per PR: the scenario's range, trimmed (PRs with more than the least first, keyed order)
    until every member's share of a group's slots fits in the PRs they may review."""
    lo, hi = scenario.reviewers_per_pr
    hi = min(hi, m - 1)
    lo = min(lo, hi)
    n_groups = len(eligible)
    # a PR still open at the window end has every reviewer it asked for (at most one review each so far)
    slots = np.where(state == PRState.OPEN, hi, int_between(key, lo, hi, *k, "n-reviewers"))
    n_prs = np.bincount(ginv, minlength=n_groups)
    total = np.bincount(ginv, weights=slots, minlength=n_groups).astype(np.int64)
    with np.errstate(divide="ignore"):
        cap = np.where(share[None, :] > 0, np.floor(eligible / share[None, :] + 1e-9), np.inf).min(axis=1)
    cap = np.maximum(cap, n_prs).astype(np.int64)  # never below one reviewer per PR
    excess = np.maximum(total - cap, 0)
    if excess.any():
        for _ in range(hi):
            can = slots > max(lo, 1)
            trim_rank, _ = rank_within(np.where(can, ginv, -1), keyed_u64(key, *k, "trim"))
            cut = can & (trim_rank < excess[ginv])
            slots = slots - cut
            excess = excess - np.bincount(ginv[cut], minlength=n_groups)
            if not excess.any():
                break
    return np.asarray(slots)


def _largest_remainder(total: np.ndarray, share: np.ndarray, uniq: np.ndarray, k: Key) -> np.ndarray:
    """Per group and member: the member's share of the group's slots, rounded by largest remainder
    (ties broken by a keyed draw)."""
    n_groups, m = len(total), len(share)
    exact = total[:, None] * share[None, :]
    quota = np.floor(exact + 1e-9).astype(np.int64)
    left = total - quota.sum(axis=1)
    rema = (
        exact
        - quota
        + keyed_uniform(uniq.repeat(m) * 1024 + np.tile(np.arange(m), n_groups), *k, "tie").reshape(n_groups, m) * 1e-6
    )
    order = np.argsort(-rema, axis=1, kind="stable")
    bonus = np.zeros_like(quota)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(m)[None, :].repeat(n_groups, 0), axis=1)
    bonus[ranks < left[:, None]] = 1
    return np.asarray(quota + bonus)


def _fill_quotas(
    quota: np.ndarray,
    share: np.ndarray,
    slots: np.ndarray,
    author: np.ndarray,
    ginv: np.ndarray,
    key: np.ndarray,
    k: Key,
) -> tuple[np.ndarray, np.ndarray]:
    """(PR, member) review pairs: members in order of demand take their quota of the group's PRs they did
    not author, the PRs with most open slots first (then keyed)."""
    n_groups, m = quota.shape
    remaining = slots.copy()
    demand_order = np.argsort(-(quota + share[None, :] * 1e-6), axis=1, kind="stable")
    out_pr, out_member = [], []
    rand = keyed_u64(key, *k, "pick") >> np.uint64(1)
    for r in range(m):
        member = demand_order[ginv, r]
        elig = (author != member) & (remaining > 0)
        q = quota[ginv, member]
        sort = np.lexsort((rand, -remaining, ~elig, ginv))
        g_sorted = ginv[sort]
        starts = np.searchsorted(g_sorted, np.arange(n_groups))
        rank = np.empty(len(sort), np.int64)
        rank[sort] = np.arange(len(sort)) - starts[g_sorted]
        chosen = elig & (rank < q)
        out_pr.append(np.flatnonzero(chosen))
        out_member.append(member[chosen])
        remaining = remaining - chosen
    return np.concatenate(out_pr), np.concatenate(out_member)


def _no_pr_unreviewed(
    pr_idx: np.ndarray, who: np.ndarray, author: np.ndarray, key: np.ndarray, m: int, k: Key
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs plus one keyed reviewer (not its author) for each PR left without any."""
    has = np.zeros(len(author), bool)
    has[pr_idx] = True
    lonely = np.flatnonzero(~has)
    if len(lonely):
        fallback = int_between(key[lonely], 0, m - 2, *k, "fallback")
        fallback = fallback + (fallback >= author[lonely])
        pr_idx = np.concatenate([pr_idx, lonely])
        who = np.concatenate([who, fallback])
    return pr_idx, who


def build_reviews(
    frame: PRFrame,
    pr_row: np.ndarray,
    reviewer_local: np.ndarray,
    scenario: Scenario,
    roster: Roster,
    week_starts: list[dt.date],
    k: Key,
) -> tuple[pa.Table, np.ndarray]:
    """The review rows; also returns, per PR, whether any review requested changes."""
    weeks = len(week_starts)
    order = np.lexsort((reviewer_local, pr_row))
    pr_row, reviewer_local = pr_row[order], reviewer_local[order]
    pr_id = frame.id[pr_row]
    pair_key = pr_id * 1024 + reviewer_local
    j, _ = rank_within(pr_row, keyed_u64(pair_key, *k, "review-order"))
    rid = pr_id * 10 + j
    by_id = np.argsort(rid, kind="stable")
    pr_row, reviewer_local, pr_id, pair_key, j, rid = (
        a[by_id] for a in (pr_row, reviewer_local, pr_id, pair_key, j, rid)
    )
    is_open = frame.state[pr_row] == PRState.OPEN
    at = _review_times(frame, pr_row, j, pair_key, is_open, k)
    _, end = window_us(week_starts)
    keep = at < end - 1_000_000  # only the reviews that came before the window end exist
    pr_row, reviewer_local, pr_id, pair_key, rid, at, is_open = (
        a[keep] for a in (pr_row, reviewer_local, pr_id, pair_key, rid, at, is_open)
    )
    state = _review_states(frame, pr_row, reviewer_local, pair_key, at, is_open, scenario, roster, weeks, k)
    body_idx = np.where(
        state == ReviewState.CHANGES_REQUESTED, 3, int_between(pair_key, 0, len(BODIES) - 1, *k, "review-body")
    )
    reviewer_id = frame.team[pr_row] * roster.size + reviewer_local + 1
    table = conform(
        pa.table(
            {
                "id": rid,
                "created_at": (_ts0 := ts_array(at)),
                "updated_at": _ts0,
                "team_id": frame.team[pr_row] + 1,
                "github_review_id": 1_000_000_000 + rid,
                "pull_request_id": pr_id,
                "reviewer_id": reviewer_id,
                "state": pick(REVIEW_STATES, state),
                "body": pick(BODIES, body_idx),
                "submitted_at": _ts0,
                "is_ai_review": np.zeros(len(rid), bool),
                "ai_reviewer_type": pa.array([""] * len(rid), type=pa.string()),
            }
        ),
        spec("metrics_prreview"),
    )
    changes = np.zeros(frame.n, bool)
    changes[pr_row[state == ReviewState.CHANGES_REQUESTED]] = True
    return table, changes


def _review_states(
    frame: PRFrame,
    pr_row: np.ndarray,
    reviewer_local: np.ndarray,
    pair_key: np.ndarray,
    at: np.ndarray,
    is_open: np.ndarray,
    scenario: Scenario,
    roster: Roster,
    weeks: int,
    k: Key,
) -> np.ndarray:
    """Each review's state: a quota per team x week x open from the scenario's curves; on a PR still
    open, as the reviews in flight stand (:func:`_waiting`)."""
    group = (frame.team[pr_row] * 1024 + week_code(frame.week[pr_row])) * 2 + is_open
    w = np.maximum(frame.week[pr_row], 0)
    probs = np.stack(
        [scenario.curve(c, weeks) for c in ("review_approved", "review_changes_requested", "review_commented")], axis=1
    )
    state = categorical(stratified_uniform(group, pair_key, *k, "review-state"), probs[w])
    waiting = _waiting(probs[w], frame.team[pr_row], reviewer_local, pair_key, at, is_open, roster, k)
    return np.asarray(np.where(is_open, waiting, state))


def _review_times(
    frame: PRFrame, pr_row: np.ndarray, j: np.ndarray, pair_key: np.ndarray, is_open: np.ndarray, k: Key
) -> np.ndarray:
    """When each review is submitted: the first at the PR's first review; later ones between it and the
    close (on a PR still open at the window end, within OPEN_SPAN of the first review)."""
    first = frame.first_review[pr_row]
    close = np.where(is_open, first + OPEN_SPAN, frame.closed[pr_row])
    frac = 0.05 + 0.85 * keyed_uniform(pair_key, *k, "review-at")
    at = np.where(j == 0, first, first + ((close - first) * frac).astype(np.int64))
    at = np.minimum(at, close - 1_000_000)
    return np.asarray(np.maximum(at, frame.created[pr_row] + 1_000_000))


def _waiting(
    probs: np.ndarray,
    team: np.ndarray,
    reviewer: np.ndarray,
    pair_key: np.ndarray,
    at: np.ndarray,
    is_open: np.ndarray,
    roster: Roster,
    k: Key,
) -> np.ndarray:
    """The state of each review on a PR still open at the window end.

    Not approved (the PR waits on its reviewer: changes requested or commented, in the week's
    proportion) with the week's non-approved share times the square of the reviewer's load (their
    share of the team's reviews over an even share; capped at 95 %): a queue grows faster than
    its load, so an overloaded reviewer leaves PRs waiting and a lightly loaded one comes back
    to them soon. With even shares (load 1) it is the week's non-approved share. Drawn as a running quota per reviewer in time order,
    rounded up: at any instant a reviewer's waiting PRs are their share of the reviews so far,
    rounded up, so whoever has reviewed an open PR has one waiting on them from the first.
    """
    load = review_share(roster)[reviewer] * roster.size
    p = np.clip((1.0 - probs[:, ReviewState.APPROVED]) * load * load, 0.0, MAX_WAITING)
    p = np.where(is_open, p, 0.0)
    waits = systematic(p, team * roster.size + reviewer, pair_key, *k, "waiting", phase=ROUND_UP, order=at)
    cr, cm = probs[:, ReviewState.CHANGES_REQUESTED], probs[:, ReviewState.COMMENTED]
    cr_share = np.where(cr + cm > 0, cr / np.maximum(cr + cm, 1e-9), 0.5)
    changes = keyed_uniform(pair_key, *k, "waiting-kind") < cr_share
    return np.where(
        waits, np.where(changes, ReviewState.CHANGES_REQUESTED, ReviewState.COMMENTED), ReviewState.APPROVED
    )
