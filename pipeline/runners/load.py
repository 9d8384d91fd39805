"""``demoseed load`` composed: the load instant, the default target, the load stage.

The load instant is the one clock read of a load, and it happens here (never
in a stage, never in anything that reaches a snapshot); tests and demos pass
their own. The embedded default database path comes from :mod:`pipeline.paths`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline import paths
from pipeline.base.schemas import APP_LOAD_ORDER
from stages.load import LoadReport, load_snapshot
from stages.load.core import Progress


def now() -> dt.datetime:
    """The wall clock, UTC (the only clock read of a load; tests replace it)."""
    return dt.datetime.now(dt.UTC)


def run_load(
    snapshot_dir: Path,
    db_url: str | None,
    *,
    schema: str | None = None,
    clear: bool = False,
    rebase_dates: bool = True,
    today: dt.date | None = None,
    include: tuple[str, ...] = APP_LOAD_ORDER,
    progress: Progress | None = None,
) -> LoadReport:
    """Load ``snapshot_dir`` into ``db_url`` (None: data/app.duckdb) as of ``today`` (None: the clock)."""
    return load_snapshot(
        snapshot_dir,
        db_url,
        schema=schema,
        clear=clear,
        rebase_dates=rebase_dates,
        today=today or now().date(),
        default_db=paths.default_db_path(),
        include=include,
        progress=progress,
    )
