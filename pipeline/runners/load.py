"""``demoseed load`` composed: the load instant, the load stage, and the aggregate stage for the instant's week.

The load instant is the one clock read of a load, and it happens here (never
in a stage, never in anything that reaches a snapshot); tests and demos pass
their own (``--as-of``). The load stage cuts the snapshot at that instant; the
weekly metrics of the instant's week are recomputed from what is left by the
aggregate stage (:func:`recompute_week`), the same code that made the
snapshot's weekly rows. The embedded default database path comes from
:mod:`pipeline.paths`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from pipeline import paths
from pipeline.base.schemas import APP_LOAD_ORDER
from stages.aggregate import aggregate
from stages.aggregate.frames import COLUMNS as AGGREGATE_COLUMNS
from stages.load import LoadReport, load_snapshot
from stages.load.core import Progress


def now() -> dt.datetime:
    """The wall clock, UTC (the only clock read of a load; tests replace it)."""
    return dt.datetime.now(dt.UTC)


def recompute_week(tables: dict[str, pa.Table], week: dt.date) -> pa.Table:
    """metrics_weeklymetrics rows of one week, by the aggregate stage, from the load's cut tables."""
    return aggregate(tables, week_starts=[week])["metrics_weeklymetrics"]


def run_load(
    snapshot_dir: Path,
    db_url: str | None,
    *,
    as_of: dt.datetime | None = None,
    schema: str | None = None,
    clear: bool = False,
    rebase_dates: bool = True,
    include: tuple[str, ...] = APP_LOAD_ORDER,
    allow_empty: bool = False,
    progress: Progress | None = None,
) -> LoadReport:
    """Load ``snapshot_dir`` into ``db_url`` (None: data/app.duckdb) as of ``as_of`` (None: now)."""
    return load_snapshot(
        snapshot_dir,
        db_url,
        as_of=as_of or now(),
        recompute_week=recompute_week,
        recompute_columns=AGGREGATE_COLUMNS,
        schema=schema,
        clear=clear,
        rebase_dates=rebase_dates,
        default_db=paths.default_db_path(),
        include=include,
        allow_empty=allow_empty,
        progress=progress,
    )
