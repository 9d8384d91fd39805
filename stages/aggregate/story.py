"""The story a snapshot tells, read from demoseed_team_weekly (one team's weeks).

:func:`headline` picks the columns a scenario's story lives in (to highlight)
and writes a one-line summary of what they did over the weeks, e.g.
``AI-assisted share 12 % -> 74 % over 8 weeks; median cycle time 70 h -> 25 h``.
Pooled figures weight each week by its denominator (``surveys_completed``,
``guesses``, ``reviews``), so a quiet week does not count as much as a busy one.
Unknown scenarios, legacy teams and real projects get a general summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import polars as pl

# scenario -> the columns its story is about (first = the headline metric)
HEADLINE_COLUMNS: dict[str, tuple[str, ...]] = {
    "ai-success": ("ai_assisted_share", "cycle_time_median_hours"),
    "review-bottleneck": ("top_reviewer_share", "review_time_median_hours"),
    "baseline": ("ai_assisted_share", "cycle_time_median_hours", "review_time_median_hours"),
    "detective-game": ("guess_accuracy",),
}
DEFAULT_COLUMNS = ("prs_merged", "ai_assisted_share", "cycle_time_median_hours")
# "Flat" for the baseline: the least-squares change over the period stays below a limit, in
# points for fractions (0..1) and relative to the mean for times. Set from 100 baseline seeds
# (largest: 0.08 points for the AI share, 0.31 for cycle and review time) against the stories
# that do move (AI share +0.65, cycle time -0.9, review time +1.2).
FLAT_SHARE_POINTS = 0.10
FLAT_RELATIVE = 0.35


@dataclass(frozen=True)
class Headline:
    """What to highlight and the one-line story."""

    columns: tuple[str, ...]
    summary: str


def pooled(weeks: pl.DataFrame, share: str, weight: str) -> float | None:
    """Sum of share x weight over sum of weight (the share over all the weeks together)."""
    df = weeks.filter(pl.col(share).is_not_null() & (pl.col(weight) > 0))
    total, weighted = df.select(pl.col(weight).sum(), (pl.col(share) * pl.col(weight)).sum()).row(0)
    if not total:
        return None
    return float(weighted / total)


def first_last(weeks: pl.DataFrame, column: str) -> tuple[float | None, float | None]:
    """The first and the last non-null weekly value of a column."""
    s = weeks.sort("week_start").get_column(column).drop_nulls()
    if s.len() == 0:
        return None, None
    return float(s[0]), float(s[-1])


def fitted_change(weeks: pl.DataFrame, column: str) -> tuple[float, float] | None:
    """(least-squares change from the first to the last week, mean) of a column; None with < 3 values."""
    df = weeks.sort("week_start").with_row_index("i").filter(pl.col(column).is_not_null())
    if df.height < 3:
        return None
    x = df.get_column("i").cast(pl.Float64)
    y = df.get_column(column).cast(pl.Float64)
    mean_y = float(cast(float, y.mean()))
    xc = x - cast(float, x.mean())
    slope = float((xc * (y - mean_y)).sum()) / float((xc * xc).sum())
    span = float(cast(float, x.max()) - cast(float, x.min()))
    return slope * span, mean_y


def relative_trend(weeks: pl.DataFrame, column: str) -> float | None:
    """Least-squares change over the whole period relative to the mean (0 = flat), None with < 3 values."""
    fit = fitted_change(weeks, column)
    if fit is None or fit[1] == 0:
        return None
    return fit[0] / abs(fit[1])


def is_fraction(column: str) -> bool:
    return column.endswith(("_share", "_rate", "accuracy"))


def is_flat(weeks: pl.DataFrame, column: str) -> bool | None:
    """Whether a column shows no trend: points for fractions, relative to the mean otherwise (None: too few values)."""
    if is_fraction(column):
        fit = fitted_change(weeks, column)
        return None if fit is None else abs(fit[0]) < FLAT_SHARE_POINTS
    trend = relative_trend(weeks, column)
    return None if trend is None else abs(trend) < FLAT_RELATIVE


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.0f} %"


def _hours(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0f} h"


def _range(weeks: pl.DataFrame, column: str, fmt: Callable[[float | None], str]) -> str:
    s = weeks.get_column(column).drop_nulls()
    if s.len() == 0:
        return "n/a"
    return f"{fmt(float(cast(float, s.min())))}–{fmt(float(cast(float, s.max())))}"


def _arrow(weeks: pl.DataFrame, column: str, fmt: Callable[[float | None], str]) -> str:
    a, b = first_last(weeks, column)
    return f"{fmt(a)} -> {fmt(b)}"


def headline(scenario: str | None, weeks: pl.DataFrame) -> Headline:
    """The highlighted columns and the one-line story for one team's weekly rows."""
    n = weeks.height
    key = scenario if scenario in HEADLINE_COLUMNS else None
    columns = HEADLINE_COLUMNS.get(key or "", DEFAULT_COLUMNS)
    if n == 0:
        return Headline(columns, "no weeks in this snapshot")
    if key == "ai-success":
        summary = (
            f"AI-assisted share {_arrow(weeks, 'ai_assisted_share', _pct)} over {n} weeks; "
            f"median cycle time {_arrow(weeks, 'cycle_time_median_hours', _hours)}"
        )
    elif key == "review-bottleneck":
        top = pooled(weeks, "top_reviewer_share", "reviews")
        summary = (
            f"Top reviewer does {_pct(top)} of reviews (weekly {_range(weeks, 'top_reviewer_share', _pct)}); "
            f"median review time {_arrow(weeks, 'review_time_median_hours', _hours)} over {n} weeks"
        )
    elif key == "baseline":
        flat = all(is_flat(weeks, c) is not False for c in columns)
        summary = (
            f"{'Flat' if flat else 'NOT flat'} over {n} weeks: AI-assisted share "
            f"{_range(weeks, 'ai_assisted_share', _pct)}, median cycle time "
            f"{_range(weeks, 'cycle_time_median_hours', _hours)}, median review time "
            f"{_range(weeks, 'review_time_median_hours', _hours)}"
        )
    elif key == "detective-game":
        acc = pooled(weeks, "guess_accuracy", "guesses")
        guesses = int(weeks.get_column("guesses").sum())
        summary = (
            f"Reviewers guessed AI assistance right {_pct(acc)} of the time "
            f"({guesses} guesses; weekly {_range(weeks, 'guess_accuracy', _pct)})"
        )
    else:
        merged = int(weeks.get_column("prs_merged").sum())
        summary = (
            f"{merged} PRs merged over {n} weeks; AI-assisted share "
            f"{_pct(pooled(weeks, 'ai_assisted_share', 'surveys_completed'))}; median cycle time "
            f"{_arrow(weeks, 'cycle_time_median_hours', _hours)}"
        )
    return Headline(columns, summary)
