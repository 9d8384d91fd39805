"""The PR skeleton: who opens how many PRs when, their states, times, sizes and flags.

All teams at once, as numpy columns. A PR's stable key packs (team, member,
week, ordinal); every draw is keyed by it or by its (team x week) group, so a
team's rows do not depend on how many teams there are. Rates that tell the
story (PR states, reverts, hotfixes) are quota-drawn per team x week;
durations use stratified quantiles so weekly means track the curves.

Warm-up: PRs are also drawn for the weeks before the window (week -j is
stored as 1024 - j in keys and group codes, so in-window keys do not move)
with week 0's curve values; only those still unresolved at the window start
are kept, so week 1's merges and open backlog look like any other week's.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from pipeline.base.rng import Key, keyed_u64, keyed_uniform
from stages.generate.draws import (
    US_PER_DAY,
    US_PER_HOUR,
    categorical,
    int_between,
    lognormal_factor,
    rank_within,
    stratified_uniform,
    systematic,
)
from stages.generate.scenario import Scenario
from stages.generate.simulated.base import window_us
from stages.generate.synthetic.aim import aim_durations
from stages.generate.synthetic.team import Roster


class PRState(IntEnum):
    """A PR's state as stored in :attr:`PRFrame.state`; ``STATES[state]`` is the app's value."""

    MERGED = 0
    CLOSED = 1
    OPEN = 2


STATES = np.array(["merged", "closed", "open"], dtype=object)
_DAY_WEIGHTS = np.array([0.22, 0.22, 0.22, 0.2, 0.12, 0.01, 0.01])
SURVEY_MARGIN = 2 * US_PER_HOUR  # merged PRs keep room for a survey answer before the window ends
OPEN_REVIEW_MARGIN = 60_000_000  # an open PR's first review is at least a minute before the window end
MAX_WARMUP_WEEKS = 12
WEEK_BITS = 1024  # the week field of a PR key; warm-up week -j is stored as 1024 - j


def warmup_weeks(scenario: Scenario, weeks: int) -> int:
    """Weeks of PR history before the window: ~4x the week-1 cycle time, at least 2, at most 12."""
    ct0 = float(scenario.curve("cycle_time_hours", weeks)[0])
    return int(min(MAX_WARMUP_WEEKS, max(2, math.ceil(4 * ct0 / 168))))


def week_code(week: np.ndarray) -> np.ndarray:
    """A creation week (negative for warm-up weeks) as the non-negative code used in keys and groups."""
    return np.asarray(np.mod(week, WEEK_BITS))


@dataclass
class PRFrame:
    """Per-PR columns in id order (id = offset + position)."""

    key: np.ndarray
    team: np.ndarray  # 0-based team index
    member: np.ndarray  # local member index
    week: np.ndarray  # creation week index (negative: a warm-up week before the window)
    id: np.ndarray
    author_id: np.ndarray
    created: np.ndarray  # epoch us
    state: np.ndarray  # PRState
    first_review: np.ndarray  # epoch us; -1 for an open PR nobody has reviewed yet (and every draft)
    closed: np.ndarray  # merged_at for merged, close time for closed, -1 for open
    additions: np.ndarray
    deletions: np.ndarray
    is_revert: np.ndarray
    is_hotfix: np.ndarray
    is_draft: np.ndarray
    ai_probability: np.ndarray
    guess_accuracy: np.ndarray

    @property
    def n(self) -> int:
        return len(self.key)

    def take(self, idx: np.ndarray) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name)[idx])


def _counts(
    scenario: Scenario, roster: Roster, teams: range, weeks: int, warmup: int, k: Key, fixed: int | None
) -> np.ndarray:
    """PRs per (team, member, week) cell, weeks -warmup..weeks-1, shape (teams * members * (warmup + weeks),)."""
    m = roster.size
    span = warmup + weeks
    cells = np.arange(len(teams) * m * span, dtype=np.int64)
    t, rem = np.divmod(cells, m * span)
    t += teams.start
    mem, e = np.divmod(rem, span)
    cell_key = (t * 65_536 + mem) * 1024 + week_code(e - warmup)
    vol = roster.volume[mem]
    if fixed is None:
        lo, hi = scenario.prs_per_member_week
        base = int_between(cell_key, lo, hi, *k, "volume")
        x = base * vol
        return np.asarray(np.floor(x) + (keyed_uniform(cell_key, *k, "volume-round") < x - np.floor(x)), np.int64)
    expected = fixed * vol / (vol[: m * span].sum())
    floor = np.floor(expected)
    extra = systematic(expected - floor, t, cell_key, *k, "volume-fixed")
    return np.asarray(floor + extra, np.int64)


@dataclass
class _Draft:
    """The PRs of some teams before ids, flags and sizes: what :func:`count_prs` needs."""

    key: np.ndarray
    team: np.ndarray
    member: np.ndarray
    week: np.ndarray
    created: np.ndarray
    state: np.ndarray
    first_review: np.ndarray
    closed: np.ndarray


def _draft(
    scenario: Scenario,
    roster: Roster,
    teams: range,
    week_starts: list[dt.date],
    k: Key,
    fixed_prs: int | None,
    warmup: int,
    *,
    only_warmup: bool = False,
) -> _Draft:
    weeks = len(week_starts)
    m = roster.size
    start, end = window_us(week_starts)
    span = warmup + weeks
    counts = _counts(scenario, roster, teams, weeks, warmup, k, fixed_prs)
    if only_warmup:  # every draw is per PR or per team x week: the warm-up weeks' PRs alone come out the same
        counts = np.where(np.arange(len(counts)) % span < warmup, counts, 0)
    cell = np.repeat(np.arange(len(counts)), counts)
    ordinal = np.arange(len(cell)) - np.repeat(np.cumsum(counts) - counts, counts)
    t, rem = np.divmod(cell, m * span)
    t += teams.start
    mem, e = np.divmod(rem, span)
    w = e - warmup  # creation week; negative in the warm-up
    wc = week_code(w)
    cw = np.maximum(w, 0)  # the curves' week: warm-up weeks follow week 0
    key = ((t * 65_536 + mem) * 1024 + wc) * 4096 + ordinal
    group = t * 1024 + wc  # team x creation week

    day = categorical(keyed_uniform(key, *k, "day"), _DAY_WEIGHTS)
    hour = 7.5 + keyed_uniform(key, *k, "hour") * 11.0
    created = start + w * 7 * US_PER_DAY + day * US_PER_DAY + (hour * US_PER_HOUR).astype(np.int64)

    # states: quota per team x week from the scenario's curves
    probs = np.stack([scenario.curve(c, weeks) for c in ("pr_merged", "pr_closed", "pr_open")], axis=1)
    state = categorical(stratified_uniform(group, key, *k, "state"), probs[cw])

    first_review, closed = _durations(scenario, key, group, state, created, cw, start, weeks, k)
    # PRs that would merge/close after the window are still open at its end; an open PR keeps its
    # first review if that came before the window end (drafts lose it in _flags_and_sizes)
    late = closed >= end - SURVEY_MARGIN
    state = np.where(late, PRState.OPEN, state)
    closed = np.where(state == PRState.OPEN, -1, closed)
    first_review = np.where((state == PRState.OPEN) & (first_review >= end - OPEN_REVIEW_MARGIN), -1, first_review)
    # warm-up PRs resolved before the window are history the app never sees: drop them
    keep = (w >= 0) | (state == PRState.OPEN) | (closed >= start)
    if not keep.all():
        key, t, mem, w, created, state, first_review, closed = (
            a[keep] for a in (key, t, mem, w, created, state, first_review, closed)
        )
    return _Draft(key, t, mem, w, created, state, first_review, closed)


def _durations(
    scenario: Scenario,
    key: np.ndarray,
    group: np.ndarray,
    state: np.ndarray,
    created: np.ndarray,
    cw: np.ndarray,
    start: int,
    weeks: int,
    k: Key,
) -> tuple[np.ndarray, np.ndarray]:
    """(first review, close) times: stratified lognormal around the curve value of the week the PR merges
    in (the week the app reports it in): a first guess from the creation week, then the week that guess
    lands in."""
    rt_f = lognormal_factor(stratified_uniform(group, key, *k, "review-time"), 0.5)
    ct_f = lognormal_factor(stratified_uniform(group, key, *k, "cycle-time"), 0.4)
    close_f = np.where(state == PRState.CLOSED, 0.5 + keyed_uniform(key, *k, "close-factor"), 1.0)
    rt_curve = scenario.curve("review_time_hours", weeks)
    ct_curve = scenario.curve("cycle_time_hours", weeks)
    at_week = cw
    for _ in range(2):
        rt = np.maximum(rt_curve[at_week] * rt_f, 0.25)
        ct = np.maximum(ct_curve[at_week] * ct_f, rt * 1.15 + 0.5)
        ct = np.maximum(ct * close_f, rt * 1.15 + 0.5)
        at_week = np.clip((created + (ct * US_PER_HOUR).astype(np.int64) - start) // (7 * US_PER_DAY), 0, weeks - 1)
    return created + (rt * US_PER_HOUR).astype(np.int64), created + (ct * US_PER_HOUR).astype(np.int64)


def count_prs(
    scenario: Scenario,
    roster: Roster,
    *,
    teams: range,
    week_starts: list[dt.date],
    k: Key,
    fixed_prs: int | None,
    warmup: int = 0,
) -> int:
    """How many PRs :func:`skeleton` makes for ``teams`` (the id offset of the teams after them): every PR
    created in the window, and the warm-up PRs still unresolved at its start (only those are drawn here)."""
    counts = _counts(scenario, roster, teams, len(week_starts), warmup, k, fixed_prs)
    in_window = int(counts[np.arange(len(counts)) % (warmup + len(week_starts)) >= warmup].sum())
    kept = _draft(scenario, roster, teams, week_starts, k, fixed_prs, warmup, only_warmup=True)
    return in_window + len(kept.key)


def skeleton(
    scenario: Scenario,
    roster: Roster,
    *,
    teams: range,
    week_starts: list[dt.date],
    k: Key,
    fixed_prs: int | None,
    warmup: int = 0,
    pr_offset: int = 0,
) -> PRFrame:
    """All PRs of the window for ``teams`` (0-based indexes), plus (``warmup`` > 0) the PRs of the weeks
    before it that are still unresolved when the window starts: created in week -warmup..-1 with week 0's
    curve values, kept only if they merge or close inside the window or stay open (the backlog a running
    team has). Ids run from ``pr_offset + 1``: the PRs of the teams before ``teams`` come first."""
    d = _draft(scenario, roster, teams, week_starts, k, fixed_prs, warmup)
    m = roster.size
    # ids: per team in creation order; team t's block follows team t-1's
    order = np.lexsort((d.key, d.created, d.team))
    frame = PRFrame(
        key=d.key,
        team=d.team,
        member=d.member,
        week=d.week,
        id=np.zeros(len(d.key), np.int64),
        author_id=d.team * m + d.member + 1,
        created=d.created,
        state=d.state,
        first_review=d.first_review,
        closed=d.closed,
        additions=np.zeros(len(d.key), np.int64),
        deletions=np.zeros(len(d.key), np.int64),
        is_revert=np.zeros(len(d.key), bool),
        is_hotfix=np.zeros(len(d.key), bool),
        is_draft=np.zeros(len(d.key), bool),
        ai_probability=np.zeros(len(d.key)),
        guess_accuracy=np.zeros(len(d.key)),
    )
    frame.take(order)
    frame.id = np.arange(pr_offset + 1, pr_offset + frame.n + 1, dtype=np.int64)
    weeks = len(week_starts)
    start, end = window_us(week_starts)
    frame.first_review, frame.closed = aim_durations(
        created=frame.created,
        first_review=frame.first_review,
        closed=frame.closed,
        merged=frame.state == PRState.MERGED,
        team=frame.team,
        start=start,
        weeks=weeks,
        latest_merge=end - SURVEY_MARGIN,
        review_curve=scenario.curve("review_time_hours", weeks),
        cycle_curve=scenario.curve("cycle_time_hours", weeks),
    )
    _flags_and_sizes(frame, scenario, roster, week_starts, k)
    return frame


def _flags_and_sizes(frame: PRFrame, scenario: Scenario, roster: Roster, week_starts: list[dt.date], k: Key) -> None:
    weeks = len(week_starts)
    key, w, t = frame.key, frame.week, frame.team
    merged = frame.state == PRState.MERGED
    start, _ = window_us(week_starts)
    merge_week = np.where(merged, np.clip((frame.closed - start) // (7 * US_PER_DAY), 0, weeks - 1), w)
    # reverts and hotfixes spread evenly over a team's merged PRs in merge-week order (a running quota)
    seq = (merge_week.astype(np.uint64) << np.uint64(40)) | (keyed_u64(key, *k, "flag-order") >> np.uint64(24))
    curve_week = np.maximum(merge_week, 0)  # warm-up PRs not merged have week < 0; their rates are unused
    revert_p = np.where(merged, scenario.curve("revert_rate", weeks)[curve_week], 0.0)
    frame.is_revert = systematic(revert_p, t, key, *k, "revert", order=seq)
    hot = scenario.curve("hotfix_rate", weeks)[curve_week]
    hot_p = np.where(merged & ~frame.is_revert, hot / np.maximum(1 - revert_p, 0.05), 0.0)
    frame.is_hotfix = systematic(hot_p, t, key, *k, "hotfix", order=seq)
    frame.is_draft = (frame.state == PRState.OPEN) & (keyed_uniform(key, *k, "draft") < 0.25)
    frame.first_review = np.where(frame.is_draft, -1, frame.first_review)  # nobody reviews a draft

    size_u = keyed_uniform(key, *k, "size")
    adds = np.round(90 * lognormal_factor(size_u, 1.0) * 1.6487212707001282).astype(np.int64) + 1  # x e^0.5
    dels = np.round(adds * 0.35 * lognormal_factor(keyed_uniform(key, *k, "dels"), 0.7)).astype(np.int64)
    hot_adds = np.minimum(adds, 40)
    adds = np.where(frame.is_hotfix, hot_adds, adds)
    adds, dels = np.where(frame.is_revert, np.minimum(dels, 30), adds), np.where(frame.is_revert, adds, dels)
    frame.additions = np.minimum(adds, 20_000)
    frame.deletions = np.minimum(dels, 20_000)

    off = roster.ai_offset
    mean_off = off.mean()
    ai_curve = scenario.curve("ai_share", weeks)
    frame.ai_probability = np.clip(ai_curve[np.maximum(w, 0)] + off[frame.member] - mean_off, 0.02, 0.98)
    member_key = frame.author_id
    u = keyed_uniform(member_key, *k, "guess-target")
    lo, hi = roster.guess_lo[frame.member], roster.guess_hi[frame.member]
    frame.guess_accuracy = lo + (0.4 + 0.2 * u) * (hi - lo)


def repo_and_number(frame: PRFrame, company: np.ndarray, k: Key) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(company index, service index, PR number) per PR: 2-4 services per team, numbers per repo in order."""
    from stages.generate.words import words

    n_services = len(words("services"))
    steps = np.array([s for s in range(1, n_services) if np.gcd(s, n_services) == 1])
    teams = np.arange(frame.team.max(initial=-1) + 1)
    n_repos = int_between(teams, 2, 4, *k, "repos")
    base = int_between(teams, 0, n_services - 1, *k, "repo-base")
    step = steps[int_between(teams, 0, len(steps) - 1, *k, "repo-step")]
    slot = np.minimum(
        categorical(keyed_uniform(frame.key, *k, "repo"), np.array([0.5, 0.3, 0.2, 0.1])), n_repos[frame.team] - 1
    )
    service = (base[frame.team] + slot * step[frame.team]) % n_services
    rank, _ = rank_within(frame.team * 64 + slot, frame.id)
    first_no = int_between(frame.team * 64 + slot, 40, 2400, *k, "first-number")
    return company[frame.team], service, first_no + rank
