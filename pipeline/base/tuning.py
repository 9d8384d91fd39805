"""The process tuning demoseed keeps, in one place; each part falls back to the plain path.

Only what gains at least a tenth of a command's time or memory stays here
(``bench/bench_startup.py``, ``bench/bench_load.py`` measure it); everything
else runs on the libraries' public defaults. See docs/tuning.md.

Start-up (:func:`start_command`, :func:`end_command`, called by
``pipeline.entry``): the cyclic garbage collector starts a pass every 200,000
new container objects instead of every 700. Loading numpy, pyarrow and polars
creates some 95,000 objects that stay alive to the end, and the default
threshold walks them again and again. When the command is done, what is still
alive is frozen (:func:`gc.freeze`), so the interpreter's shutdown does not
walk it once more. Longer runs still collect, every 200,000 objects; commands
close their files and connections themselves. Both are the standard library's
public ``gc`` API; where ``gc.freeze`` is missing (another interpreter), the
command ends as usual.

Load memory (:func:`load_memory`): a load streams rows through a second
thread (DuckDB and pgpq encode there, the main thread sends). glibc's
allocator keeps what either thread frees in its arenas, an arena per thread,
so the process's resident size only grows. While the load runs, every thread
allocates from one arena (``mallopt(M_ARENA_MAX, 1)``) and
:func:`release_memory` hands the freed pages back (``malloc_trim(0)``)
between its steps. glibc is reached through :mod:`ctypes`; where the process
runs on another C library (musl, macOS) or these names are missing, both do
nothing and the load runs as plain Python. glibc fixes its arena limit the
first time a thread needs an arena, so the limit cannot be taken back; it is
set only by a command that loads, before the load starts a thread, and the
default is kept by every other command.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Iterator
from typing import Any

GC_THRESHOLDS = (200_000, 10, 10)  # new objects per pass; the older generations as by default (x10, x10)
_M_ARENA_MAX = -8  # glibc's malloc.h


def start_command() -> None:
    """Raise the collector's first threshold (see module doc)."""
    gc.set_threshold(*GC_THRESHOLDS)


def end_command() -> None:
    """Freeze what is alive once the command is done, so the shutdown does not walk it again."""
    freeze = getattr(gc, "freeze", None)
    if freeze is not None:
        freeze()


@contextlib.contextmanager
def load_memory() -> Iterator[None]:
    """While a load runs: one malloc arena for all threads, and freed memory handed back at the end."""
    _glibc_call("mallopt", _M_ARENA_MAX, 1)
    try:
        yield
    finally:
        release_memory()


def release_memory() -> None:
    """Hand memory freed by the last step back to the system (``malloc_trim(0)``; elsewhere than glibc, nothing)."""
    _glibc_call("malloc_trim", 0)


def _glibc_call(name: str, *args: int) -> bool:
    """Call glibc's ``name`` when this process runs on glibc and it has that function; whether it was called."""
    function = getattr(_glibc(), name, None)
    if function is None:
        return False
    function(*args)
    return True


@functools.cache
def _glibc() -> Any:
    """glibc, loaded through ctypes, or None (another C library, or no ctypes)."""
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6")
    except (ImportError, OSError):
        return None
