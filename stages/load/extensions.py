"""The load's DuckDB connections: in memory (or the embedded target file), UTC, nothing downloaded.

DuckDB runs every SELECT of a load over the snapshot's Parquet files; it loads
no extension (PostgreSQL rows go through psycopg, SQLite rows through Python's
sqlite3), and autoinstall/autoload of extensions are off, so DuckDB never
reaches the network.
"""

from __future__ import annotations

import duckdb


def connect(database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the UTC session time zone and extension downloads off."""
    con = duckdb.connect(
        database,
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    try:
        con.execute("SET TimeZone = 'UTC'")
    except BaseException:
        con.close()
        raise
    return con
