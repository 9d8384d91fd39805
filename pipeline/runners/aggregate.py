"""The aggregate runner: app tables (+ their weeks) -> the two weekly tables.

Weeks come from the generate run that made the tables: in ``snapshot`` from
the generate runner, for a directory from its ``info.json`` (a generate
output) or its manifest (a snapshot); without either, from the data.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from pipeline.base.errors import UserError
from pipeline.base.manifest import MANIFEST_NAME, read_manifest, table_paths
from pipeline.base.parquet import read_table_files, write_table
from pipeline.base.schemas import spec
from pipeline.runners.generate import INFO_NAME

REQUIRED = ("metrics_teammember", "metrics_pullrequest")


@dataclass(frozen=True)
class AggregateResult:
    """``metrics_weeklymetrics`` and ``demoseed_team_weekly``, over how many weeks, in how long."""

    tables: dict[str, pa.Table]
    weeks: int
    seconds: float

    @property
    def member_weeks(self) -> int:
        return int(self.tables["metrics_weeklymetrics"].num_rows)

    @property
    def team_weeks(self) -> int:
        return int(self.tables["demoseed_team_weekly"].num_rows)


def run_aggregate(tables: dict[str, pa.Table], week_starts: Sequence[dt.date] | None) -> AggregateResult:
    """The weekly tables for ``tables`` (weeks: ``week_starts``, or from the data when None)."""
    from stages.aggregate import aggregate

    t0 = time.perf_counter()
    out = aggregate(tables, week_starts=list(week_starts) if week_starts is not None else None)
    weeks = len(set(out["demoseed_team_weekly"].column("week_start").to_pylist()))
    return AggregateResult(out, len(week_starts) if week_starts is not None else weeks, time.perf_counter() - t0)


def directory_weeks(directory: Path) -> tuple[tuple[dt.date, ...] | None, str]:
    """The weeks a directory's tables were generated for and where they came from (None: "the data")."""
    info = directory / INFO_NAME
    if info.is_file():
        try:
            weeks = json.loads(info.read_text(encoding="utf-8"))["week_starts"]
            return tuple(dt.date.fromisoformat(str(w)) for w in weeks), INFO_NAME
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise UserError(f"{info}: no readable week_starts ({exc}); fix or remove it") from None
    if (directory / MANIFEST_NAME).is_file():
        weeks_of_snapshot = read_manifest(directory).week_starts
        if weeks_of_snapshot is not None:
            return weeks_of_snapshot, MANIFEST_NAME
    return None, "the data"


def read_app_tables(directory: Path) -> dict[str, pa.Table]:
    """The app tables the aggregate stage reads, from a generate output or a snapshot directory."""
    from stages.aggregate import INPUT_TABLES

    if not directory.is_dir():
        raise UserError(f"--input {directory}: no such directory; give a generate output or a snapshot directory")
    files = {n: table_paths(directory, n) for n in INPUT_TABLES}
    missing = [n for n in REQUIRED if not files[n]]
    if missing:
        raise UserError(
            f"--input {directory}: no {', '.join(f'{n}.parquet' for n in missing)}; "
            "give a directory written by 'demoseed generate' or 'demoseed snapshot'"
        )
    return {n: read_table_files(f, spec(n)) for n, f in files.items() if f}


def aggregate_directory(input_dir: Path, output_dir: Path) -> tuple[AggregateResult, str]:
    """Aggregate a directory of app tables into ``output_dir`` (never into a snapshot); the weeks' source."""
    if (output_dir / MANIFEST_NAME).is_file():
        raise UserError(
            f"{output_dir} is a snapshot: writing into it would break its manifest; give --output DIR "
            "(or rebuild the snapshot with 'demoseed snapshot --force')"
        )
    tables = read_app_tables(input_dir)
    week_starts, source = directory_weeks(input_dir)
    result = run_aggregate(tables, week_starts)
    for name, table in result.tables.items():
        write_table(table, spec(name), output_dir / f"{name}.parquet")
    return result, source
