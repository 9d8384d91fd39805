"""What a load writes: per table, the DuckDB SELECT that turns a snapshot file into target rows.

Three transformations happen in that SELECT, over whole columns:

- id remapping: ``id + offset(table)`` and every foreign-key column
  ``+ offset(referenced table)``, so the rows land past the target's existing
  ids (offset 0 into an empty database: the ids stay as in the snapshot);
  a team row that ``--clear`` keeps keeps its id (``team_map``);
- date rebasing: every timestamptz and date column moves by the same whole
  number of weeks (weekdays and Monday week starts survive);
- dialect shaping: SQLite gets ISO text for timestamps/dates and floats for
  decimals, as Django's SQLite backend stores them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.base.manifest import Manifest
from pipeline.base.schemas import TableSpec

from .ddl import quote


@dataclass(frozen=True)
class Rebase:
    """How far dates move: ``weeks`` whole weeks, from the snapshot's last week to today's."""

    last_week: dt.date | None
    target_week: dt.date | None
    weeks: int
    source: str  # where last_week came from

    @property
    def days(self) -> int:
        return 7 * self.weeks


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def snapshot_last_week(manifest: Manifest, directory: Path) -> tuple[dt.date | None, str]:
    """The Monday of the snapshot's last week: manifest parameters first, then the data."""
    params: dict[str, Any] = manifest.params
    generate: dict[str, Any] = params["generate"] if isinstance(params.get("generate"), dict) else {}
    weeks = generate.get("week_starts") or params.get("week_starts")
    if weeks:
        return monday(max(dt.date.fromisoformat(str(w)) for w in weeks)), "manifest week_starts"
    request: dict[str, Any] = params["request"] if isinstance(params.get("request"), dict) else {}
    for where, value in (("anchor", params.get("anchor")), ("request anchor", request.get("anchor"))):
        if value:
            return monday(dt.date.fromisoformat(str(value))), f"manifest {where}"
    weekly = directory / "metrics_weeklymetrics.parquet"
    if weekly.is_file():
        col = pq.read_table(weekly, columns=["week_start"]).column("week_start")
        if len(col) and col.null_count < len(col):
            return monday(pc.max(col).as_py()), "max week_start in metrics_weeklymetrics"
    prs = directory / "metrics_pullrequest.parquet"
    if prs.is_file():
        col = pq.read_table(prs, columns=["pr_created_at"]).column("pr_created_at")
        if len(col) and col.null_count < len(col):
            return monday(pc.max(col).as_py().date()), "latest pr_created_at"
    return None, "no dates in the snapshot"


def plan_rebase(manifest: Manifest, directory: Path, *, enabled: bool, today: dt.date | None) -> Rebase:
    last, source = snapshot_last_week(manifest, directory)
    if not enabled or last is None:
        return Rebase(last, None, 0, source if enabled else "disabled (--no-rebase-dates)")
    if today is None:
        raise ValueError("plan_rebase: the load day is an input (the runner reads the clock)")
    target = monday(today)
    return Rebase(last, target, (target - last).days // 7, source)


def _is_ts(f: pa.Field) -> bool:
    return bool(pa.types.is_timestamp(f.type))


def column_expr(
    f: pa.Field,
    *,
    offsets: dict[str, int],
    refs: dict[str, str],
    table: str,
    days: int,
    dialect: str,
    team_map: dict[int, int] | None = None,
) -> str:
    """The DuckDB expression producing one target column from the snapshot column.

    ``team_map``: snapshot team id -> the id of the team row --clear keeps (other teams: + offset).
    """
    col = quote(f.name)
    expr = col
    ref = table if f.name == "id" else refs.get(f.name)
    if ref == "teams_team" and team_map:
        kept = " ".join(f"WHEN {int(a)} THEN {int(b)}" for a, b in sorted(team_map.items()))
        expr = f"CASE {col} {kept} ELSE {col} + {int(offsets.get(ref, 0))} END"
    elif f.name == "id" and offsets.get(table):
        expr = f"{col} + {int(offsets[table])}"
    elif f.name in refs and offsets.get(refs[f.name]):
        expr = f"{col} + {int(offsets[refs[f.name]])}"
    elif _is_ts(f) and days:
        expr = f"{col} + to_days({int(days)})"  # to_days: INTERVAL -7 DAY is a syntax error
    elif pa.types.is_date(f.type) and days:
        expr = f"{col} + ({int(days)})"
    if dialect == "sqlite":
        if _is_ts(f):
            expr = f"strftime({expr}, '%Y-%m-%d %H:%M:%S.%f')"
        elif pa.types.is_date(f.type):
            expr = f"strftime({expr}, '%Y-%m-%d')"
        elif pa.types.is_decimal(f.type):
            expr = f"CAST({expr} AS DOUBLE)"
    return expr if expr == col else f"{expr} AS {col}"


def select_sql(
    spec: TableSpec,
    source: str,
    *,
    offsets: dict[str, int],
    refs: dict[str, str],
    days: int,
    dialect: str,
    team_map: dict[int, int] | None = None,
    row_id: str | None = None,
) -> str:
    """``SELECT <target columns> FROM (<source>)`` for one table (``source``: a DuckDB SELECT of its rows);
    ``row_id``: also the row's id as in the snapshot (before any remapping), under that name."""
    cols = ", ".join(
        column_expr(f, offsets=offsets, refs=refs, table=spec.name, days=days, dialect=dialect, team_map=team_map)
        for f in spec.schema
    )
    if row_id:
        cols += f', "id" AS "{row_id}"'
    return f"SELECT {cols} FROM ({source})"


def _lit(text: str) -> str:
    return text.replace("'", "''")


def sql_literal(value: str) -> str:
    return "'" + _lit(value) + "'"


def describe_rebase(rebase: Rebase) -> str:
    if rebase.last_week is None:
        return "dates kept (no dates in the snapshot)"
    if rebase.target_week is None:
        return f"dates kept exactly (last week {rebase.last_week})"
    return (
        f"dates shifted by {rebase.weeks:+d} week(s): last week {rebase.last_week} -> {rebase.target_week} "
        f"(from the {rebase.source})"
    )
