"""Inputs of the aggregate stage as polars frames, weeks, and exact decimals.

* :func:`load_frames` takes the app tables (pyarrow), keeps only the columns the
  stage reads, turns every ``numeric(p,s)`` column into an ``int64`` count of
  ``10**-s`` units (``cycle_time_hours`` 12.34 -> ``cycle_time_c`` 1234) so no
  float ever touches a decimal, and adds a ``*_week`` column (the Monday, UTC)
  next to every timestamp that is bucketed by week.
* :func:`resolve_weeks` gives the Monday list (given, or derived from the data)
  and the data's last timestamp (used for the rows' created_at/updated_at).
* :func:`decimal_array` builds a ``decimal128`` array from those integer units
  (exact, vectorized), and :func:`div_half_up` is integer division rounded half
  away from zero (PostgreSQL's ``round(numeric)`` and ``ROUND_HALF_UP``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.base.appdecimal import decimal_from_units
from pipeline.base.errors import SchemaError, UserError
from pipeline.base.schemas import spec

# What the stage reads from each app table; decimals become int64 units under a new name.
COLUMNS: dict[str, tuple[str, ...]] = {
    "teams_team": ("id",),
    "metrics_teammember": ("id", "team_id", "is_active"),
    "metrics_pullrequest": (
        "id",
        "team_id",
        "author_id",
        "state",
        "pr_created_at",
        "merged_at",
        "first_review_at",
        "cycle_time_hours",
        "review_time_hours",
        "additions",
        "deletions",
        "is_revert",
        "is_hotfix",
        "updated_at",
    ),
    "metrics_prreview": ("id", "team_id", "pull_request_id", "reviewer_id", "submitted_at", "is_ai_review"),
    "metrics_commit": ("id", "team_id", "author_id", "committed_at"),
    "metrics_prsurvey": ("id", "team_id", "pull_request_id", "author_id", "author_ai_assisted", "author_responded_at"),
    "metrics_prsurveyreview": ("id", "team_id", "survey_id", "quality_rating", "ai_guess", "guess_correct"),
    "metrics_jiraissue": ("id", "team_id", "assignee_id", "resolved_at"),
    "metrics_aiusagedaily": ("id", "team_id", "member_id", "date"),
}
DECIMAL_RENAMES = {
    "cycle_time_hours": "cycle_time_c",
    "review_time_hours": "review_time_c",
}
# Timestamps bucketed into weeks (a `<name>_week` column is added) and used to derive the week range.
WEEK_BUCKETED: dict[str, tuple[str, ...]] = {
    "metrics_pullrequest": ("pr_created_at", "merged_at", "updated_at"),
    "metrics_prreview": ("submitted_at",),
    "metrics_commit": ("committed_at",),
    "metrics_jiraissue": ("resolved_at",),
    "metrics_aiusagedaily": ("date",),
}
# The events whose weeks span the data (updated_at is bookkeeping, not an event).
EVENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "metrics_pullrequest": ("pr_created_at", "merged_at"),
    "metrics_prreview": ("submitted_at",),
    "metrics_commit": ("committed_at",),
    "metrics_jiraissue": ("resolved_at",),
    "metrics_aiusagedaily": ("date",),
}

UTC = dt.UTC
WEEK = dt.timedelta(days=7)
_LAST_SECOND = dt.timedelta(days=7, seconds=-1)


def _scaled_int(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """decimal128(p,s) -> int64 count of 10**-s units, exactly."""
    scale = col.type.scale
    factor = pa.scalar(Decimal(10**scale), pa.decimal128(scale + 1, 0))
    return pc.cast(pc.multiply(col, factor), pa.int64())


def _to_frame(name: str, table: pa.Table | None) -> pl.DataFrame:
    want = COLUMNS[name]
    if table is None:
        table = spec(name).schema.empty_table()
    missing = [c for c in want if c not in table.schema.names]
    if missing:
        raise SchemaError(f"table {name}: missing column(s) {', '.join(missing)} that the aggregate stage needs")
    table = table.select(list(want))
    cols: dict[str, pa.ChunkedArray] = {}
    for c in want:
        col = table.column(c)
        if pa.types.is_decimal(col.type):
            cols[DECIMAL_RENAMES.get(c, c)] = _scaled_int(col)
        elif pa.types.is_timestamp(col.type):
            cols[c] = col.cast(pa.timestamp("us", tz="UTC"))
        elif pa.types.is_dictionary(col.type):
            cols[c] = col.cast(col.type.value_type)
        else:
            cols[c] = col
    frame = pl.from_arrow(pa.table(cols))
    assert isinstance(frame, pl.DataFrame)
    weekly = []
    for c in WEEK_BUCKETED.get(name, ()):
        expr = pl.col(c).cast(pl.Datetime("us", "UTC")) if frame.schema[c] == pl.Date else pl.col(c)
        weekly.append(expr.dt.truncate("1w").dt.date().alias(f"{c}_week"))
    return frame.with_columns(weekly) if weekly else frame


def load_frames(tables: dict[str, pa.Table]) -> dict[str, pl.DataFrame]:
    """The columns the stage reads, as polars frames (absent tables are empty)."""
    return {name: _to_frame(name, tables.get(name)) for name in COLUMNS}


@dataclass(frozen=True)
class Weeks:
    """The Mondays covered and the data's last event time."""

    starts: list[dt.date]
    last_event: dt.datetime | None

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame({"week_start": self.starts}, schema={"week_start": pl.Date})

    def stamps(self) -> list[dt.datetime]:
        """created_at/updated_at per week: the week's last second, clamped to the last event (never before Monday)."""
        out = []
        for w in self.starts:
            start = dt.datetime(w.year, w.month, w.day, tzinfo=UTC)
            stamp = start + _LAST_SECOND
            if self.last_event is not None:
                stamp = max(start, min(stamp, self.last_event))
            out.append(stamp)
        return out


def resolve_weeks(frames: dict[str, pl.DataFrame], week_starts: list[dt.date] | None) -> Weeks:
    """Given Mondays (checked, de-duplicated, sorted) or every Monday from the first to the last event week."""
    firsts: list[dt.date] = []
    lasts: list[dt.date] = []
    last_ts: list[dt.datetime] = []
    for name, cols in EVENT_COLUMNS.items():
        f = frames[name]
        for c in cols:
            wk = f.get_column(f"{c}_week").drop_nulls()
            if wk.len():
                firsts.append(wk.min())  # type: ignore[arg-type]
                lasts.append(wk.max())  # type: ignore[arg-type]
                top = f.get_column(c).drop_nulls().max()
                if isinstance(top, dt.datetime):
                    last_ts.append(top)
                elif isinstance(top, dt.date):
                    last_ts.append(dt.datetime(top.year, top.month, top.day, tzinfo=UTC))
    last_event = max(last_ts) if last_ts else None
    if week_starts is not None:
        bad = [w for w in week_starts if not isinstance(w, dt.date) or w.weekday() != 0]
        if bad:
            raise UserError(f"week_starts must be Mondays; {bad[0]!s} is not. Pass the Monday of each week")
        return Weeks(sorted(set(week_starts)), last_event)
    if not firsts:
        return Weeks([], None)
    first, last = min(firsts), max(lasts)
    n = (last - first).days // 7 + 1
    return Weeks([first + i * WEEK for i in range(n)], last_event)


def div_half_up(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den rounded half away from zero, for integer expressions; null when den is 0 or null."""
    q = (num.abs() * 2 + den) // (den * 2)
    return pl.when(den > 0).then(pl.when(num < 0).then(-q).otherwise(q)).otherwise(None)


def decimal_array(units: pl.Series, type_: pa.Decimal128Type) -> pa.Array:
    """A decimal128 array from integer units of 10**-scale (nulls kept), built exactly."""
    valid = units.is_not_null().to_numpy()
    return decimal_from_units(units.fill_null(0).cast(pl.Int64).to_numpy(), valid, type_.precision, type_.scale)
