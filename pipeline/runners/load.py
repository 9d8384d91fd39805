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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from pipeline import paths
from pipeline.base.errors import UserError
from pipeline.base.schemas import APP_LOAD_ORDER
from pipeline.base.tuning import load_memory
from stages.aggregate import aggregate
from stages.aggregate.frames import COLUMNS as AGGREGATE_COLUMNS
from stages.load import LoadReport, load_snapshot
from stages.load.app import migrate_app, probe_app
from stages.load.check import CheckReport, check_snapshot
from stages.load.core import Drift, Progress
from stages.load.drift import parse_fills
from stages.load.target import mask_url


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
    follow: Follow | None = None,
) -> LoadReport:
    """Load ``snapshot_dir`` into ``db_url`` (None: data/app.duckdb) as of ``as_of`` (None: now)."""
    options = {"schema": schema, "clear": clear, "rebase_dates": rebase_dates, "allow_empty": allow_empty}
    return _run(load_snapshot, snapshot_dir, db_url, as_of, include, follow, {**options, "progress": progress})


def run_check(
    snapshot_dir: Path,
    db_url: str | None,
    *,
    as_of: dt.datetime | None = None,
    schema: str | None = None,
    clear: bool = False,
    rebase_dates: bool = True,
    include: tuple[str, ...] = APP_LOAD_ORDER,
    follow: Follow | None = None,
    allow_empty: bool = False,
    plan_only: bool = False,
) -> CheckReport:
    """What :func:`run_load` with the same arguments would do, with nothing kept (``demoseed check``): the whole
    load, rolled back, or with ``plan_only`` the plan alone."""
    options = {"schema": schema, "clear": clear, "rebase_dates": rebase_dates, "allow_empty": allow_empty}
    return _run(check_snapshot, snapshot_dir, db_url, as_of, include, follow, {**options, "plan_only": plan_only})


R = TypeVar("R", LoadReport, CheckReport)


def _run(
    stage: Callable[..., R],
    snapshot_dir: Path,
    db_url: str | None,
    as_of: dt.datetime | None,
    include: tuple[str, ...],
    follow: Follow | None,
    options: dict[str, Any],
) -> R:
    """load_snapshot or check_snapshot with the same arguments (check never runs the app's migrate), with the
    allocator's tuning for a load (:func:`pipeline.base.tuning.load_memory`)."""
    checking = stage is check_snapshot
    db_url, drift, notes = (follow or Follow()).resolve(db_url, include, migrate_allowed=not checking)
    with load_memory():
        report = stage(
            snapshot_dir,
            db_url,
            drift=drift,
            as_of=as_of or now(),
            recompute_week=recompute_week,
            recompute_columns=AGGREGATE_COLUMNS,
            default_db=paths.default_db_path(),
            include=include,
            **options,
        )
    report.notes[:0] = notes
    return report


@dataclass(frozen=True)
class Follow:
    """How a load follows the app's migrations: --fill, --ignore-missing-columns, --app DIR, --app-python, --migrate."""

    fills: tuple[str, ...] = ()
    ignore_missing: bool = False
    app: Path | None = None
    app_python: str | None = None
    migrate: bool = False

    def resolve(
        self, db_url: str | None, tables: tuple[str, ...], *, migrate_allowed: bool = True
    ) -> tuple[str | None, Drift, list[str]]:
        """The DB URL (given, else the app's DATABASES['default']), the drift answers, and lines for the summary."""
        fills = parse_fills(self.fills)
        if self.app is None:
            if self.migrate:
                raise UserError("--migrate runs the app's manage.py migrate: give --app DIR too")
            return db_url, Drift(fills, None, self.ignore_missing), []
        info = probe_app(self.app, self.app_python, list(tables))
        notes = []
        if self.migrate and migrate_allowed and (info.unapplied or not info.recorded):
            notes.append(f"ran the app's manage.py migrate: {migrate_app(self.app, self.app_python)}")
            info = probe_app(self.app, self.app_python, list(tables))
        url = db_url or info.db_url
        if not url:
            raise UserError(f"the app's database is {info.vendor or 'unknown'}; demoseed loads PostgreSQL or SQLite")
        if info.db_error and not db_url:
            raise UserError(f"the app's database did not answer: {info.db_error}")
        if not db_url and (not info.recorded or info.unapplied):
            what = "has not been migrated" if not info.recorded else f"lacks migrations {', '.join(info.unapplied)}"
            raise UserError(
                f"the app's database {mask_url(url)} {what}: run the app's manage.py migrate first (or add --migrate)"
            )
        notes.append(info.migrations_line())
        return url, Drift(fills, info.models, self.ignore_missing, app_managed=True), notes
