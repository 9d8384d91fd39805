"""Aiming review and cycle times at the curves, as the app reports them.

The app's review-time and cycle-time cards are the mean ``review_time_hours`` /
``cycle_time_hours`` of the PRs *merged* in a week. A PR's durations are drawn
around the curve value of the week it merges in (``pr_skeleton.py``), but a week's
merged PRs come from several creation weeks, a 5-person team merges only 10-20
PRs a week, and the window end cuts the longest ones short; left alone, a
week's mean misses its curve by 20-50 %. So, per team x merge week, the merged
PRs' durations are scaled by one factor (found by bisection) so that their mean
is the week's curve value:

* review time first: ``first_review = created + rt * s``, kept between 15
  minutes and half an hour before the merge;
* then cycle time: ``merged = created + ct * s``, kept inside the PR's merge
  week, after its first review and early enough for a survey answer before the
  window ends. The merge week never changes, so every quota drawn per merge
  week (AI share, surveys, reverts) is untouched.

The factor is the same for the whole cohort, so the shape of the distribution
(lognormal spread) is kept. Only basic float arithmetic: the result is the
same on every machine.
"""

from __future__ import annotations

import numpy as np

from stages.generate.draws import US_PER_DAY, US_PER_HOUR

MIN_REVIEW_US = US_PER_HOUR // 4  # a first review at least 15 minutes after creation
REVIEW_GAP_US = US_PER_HOUR // 2  # ... and at least 30 minutes before the merge
_ITERATIONS = 60
_MAX_SCALE = 64.0


def scale_to_mean(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, group: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per group, ``clip(x * s, lo, hi)`` with the one ``s`` that makes the group's mean ``target``.

    ``target`` is one value per row (equal within a group). Where the bounds do not allow the
    target, the mean comes as near as they allow. ``lo <= hi`` row-wise; the result is float.
    """
    if len(x) == 0:
        return np.asarray(x, np.float64)
    _, inv = np.unique(group, return_inverse=True)
    n_groups = int(inv.max()) + 1
    count = np.bincount(inv, minlength=n_groups)
    want = np.bincount(inv, weights=target, minlength=n_groups) / count
    s_lo = np.zeros(n_groups)
    s_hi = np.full(n_groups, _MAX_SCALE)
    for _ in range(_ITERATIONS):
        mid = (s_lo + s_hi) / 2
        mean = np.bincount(inv, weights=np.clip(x * mid[inv], lo, hi), minlength=n_groups) / count
        high = mean > want
        s_hi = np.where(high, mid, s_hi)
        s_lo = np.where(high, s_lo, mid)
    s = (s_lo + s_hi) / 2
    return np.asarray(np.clip(x * s[inv], lo, hi))


def aim_durations(
    *,
    created: np.ndarray,
    first_review: np.ndarray,
    closed: np.ndarray,
    merged: np.ndarray,
    team: np.ndarray,
    start: int,
    weeks: int,
    latest_merge: int,
    review_curve: np.ndarray,
    cycle_curve: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(first_review, closed) with the merged PRs' weekly means on the curves (see the module docstring).

    Times are epoch microseconds; ``merged`` marks the merged PRs (their ``closed`` is the merge time,
    inside the window and before ``latest_merge``); other PRs keep their times.
    """
    rows = np.flatnonzero(merged)
    if len(rows) == 0:
        return first_review, closed
    c, fr, cl = created[rows], first_review[rows], closed[rows]
    week = np.clip((cl - start) // (7 * US_PER_DAY), 0, weeks - 1)
    group = team[rows] * 1024 + week

    rt = (fr - c) / US_PER_HOUR
    rt_hi = (cl - REVIEW_GAP_US - c) / US_PER_HOUR
    rt_lo = np.minimum(MIN_REVIEW_US / US_PER_HOUR, rt_hi)
    rt = scale_to_mean(rt, rt_lo, np.maximum(rt_hi, rt_lo), group, review_curve[week])
    fr = c + (rt * US_PER_HOUR).astype(np.int64)

    week_start = start + week * 7 * US_PER_DAY
    ct = (cl - c) / US_PER_HOUR
    ct_lo = (np.maximum(week_start + 1_000_000, fr + REVIEW_GAP_US) - c) / US_PER_HOUR
    ct_hi = (np.minimum(week_start + 7 * US_PER_DAY, latest_merge) - 1_000_000 - c) / US_PER_HOUR
    ct_lo = np.minimum(ct_lo, ct)  # the current merge time is always allowed
    ct_hi = np.maximum(ct_hi, ct)
    ct = scale_to_mean(ct, ct_lo, ct_hi, group, cycle_curve[week])
    cl = c + (ct * US_PER_HOUR).astype(np.int64)

    first_review, closed = first_review.copy(), closed.copy()
    first_review[rows] = fr
    closed[rows] = cl
    return first_review, closed
