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

import contextlib
import ctypes
import functools
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


def one_malloc_arena() -> None:
    """Let every thread of this process allocate from glibc's main arena (``mallopt(M_ARENA_MAX, 1)``).

    A load streams rows through a second thread (DuckDB + pgpq encode there,
    the main thread sends); with an arena per thread, the buffers one thread
    frees stay scattered in the other's arena, some 80 MB at a million PRs
    that :func:`release_memory` cannot hand back. One arena keeps the peak
    down; the threads allocate few, large blocks, so they hardly contend.
    Called before the load starts any thread; elsewhere than glibc it does nothing.
    """
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError):
            libc.mallopt(_M_ARENA_MAX, 1)


def release_memory() -> None:
    """Hand memory freed by the last step back to the system (glibc keeps freed blocks in its arenas).

    Between the steps of a load (the cut, each table's stream) the Arrow
    batches and encoded COPY buffers of the step before are free but still
    counted in the process's resident size; ``malloc_trim(0)`` returns them,
    as Dask's workers do. Elsewhere than glibc this does nothing.
    """
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError):
            libc.malloc_trim(0)


_M_ARENA_MAX = -8  # glibc's malloc.h


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None
