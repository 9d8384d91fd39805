"""Load stage: bulk-copy a verified snapshot into the app database with DuckDB.

Targets by URL (see :mod:`stages.load.target`): PostgreSQL (the app's real
database; DuckDB's postgres extension, binary COPY), SQLite, and an embedded
DuckDB file (the default, ``data/app.duckdb``). One transaction per load; the
snapshot is verified before anything is written and read back after.

Entry point: :func:`load_snapshot` -> :class:`LoadReport`.
"""

from __future__ import annotations

from .core import load_snapshot
from .report import LoadReport, TableReport
from .target import Target, mask_url, parse_db_url

__all__ = ["LoadReport", "TableReport", "Target", "load_snapshot", "mask_url", "parse_db_url"]
