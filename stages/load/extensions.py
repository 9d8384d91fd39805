"""The load's DuckDB connections: in memory (or the embedded target file), UTC, nothing downloaded.

DuckDB runs every SELECT of a load over the snapshot's Parquet files; it loads
no extension (PostgreSQL rows go through psycopg, SQLite rows through Python's
sqlite3), and autoinstall/autoload of extensions are off, so DuckDB never
reaches the network.

A connection that only reads the snapshot (every one but the embedded DuckDB
target's own) is held to :data:`WORK_MEMORY`: past it DuckDB spills its joins
and aggregates to a directory of its own under the system's temporary
directory (removed when the connection closes), so a load of a million PRs
runs in about half a gigabyte.
"""

from __future__ import annotations

import itertools
import os
import tempfile

import duckdb

WORK_MEMORY = "256MB"
_SPILL = itertools.count()  # one spill directory per connection


def connect(database: str = ":memory:", *, bounded: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the UTC session time zone and extension downloads off.

    ``bounded``: at most :data:`WORK_MEMORY`, spilling to a private temporary directory.
    """
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if bounded:
        config["memory_limit"] = WORK_MEMORY
        config["threads"] = 1  # two threads' buffers do not fit it; the load waits on the target, not on DuckDB
        config["temp_directory"] = os.path.join(tempfile.gettempdir(), f"demoseed-duckdb-{os.getpid()}-{next(_SPILL)}")
    con = duckdb.connect(database, config=config)
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")  # the command reports progress itself
    except BaseException:
        con.close()
        raise
    return con
