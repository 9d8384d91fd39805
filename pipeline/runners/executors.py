"""Where partition jobs run: this process, a local process pool, or a Dask cluster.

All three are a ``concurrent.futures.Executor``, so the partitioned runner
submits the same functions (:mod:`pipeline.runners.partition_jobs`) to each:

* ``workers == 1`` and no cluster: :class:`InlineExecutor`, the jobs one after
  another in this process (no start-up cost; memory bounded by a partition);
* ``workers > 1``: a ``ProcessPoolExecutor`` of fresh (spawned) interpreters,
  each with its share of the cores for its Arrow and polars threads;
* a Dask scheduler address (``--dask tcp://host:8786`` or ``$DEMOSEED_DASK``):
  ``distributed.Client(address).get_executor()``; the workers must have this
  demoseed installed and see the output directory at the same path.

A Dask address is checked when the command line is read (:func:`check_dask_address`:
``tcp://`` or ``tls://``, a host and a port), ``$DEMOSEED_DASK`` too, whether the
run has one partition or many. Connecting is bounded: the scheduler must accept
the connection and answer distributed's handshake within
:data:`DASK_CONNECT_TIMEOUT` seconds (``distributed.Client(timeout=...)`` alone
bounds the connect but not the handshake, and waits for ever on a port that
accepts and never answers).

Which one runs a job never changes a byte: a job's output depends on its
arguments only.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from pipeline.base.errors import UserError

T = TypeVar("T")

DASK_ENV = "DEMOSEED_DASK"
DASK_CONNECT_TIMEOUT = 10.0  # seconds for the scheduler to accept and answer
_DASK_ADDRESS = re.compile(r"^(?:(tcp|tls)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$")


class InlineExecutor(Executor):
    """Runs each job at once in this process (``workers == 1``)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future, as a pool would
            future.set_exception(exc)
        return future


def _start_worker(threads: int) -> None:
    """In a pool worker, before polars or pyarrow is imported: use ``threads`` threads, not every core;
    leave Ctrl-C to the parent (which cancels what has not started and removes the half-written snapshot)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in ("POLARS_MAX_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = str(threads)


def check_dask_address(value: str, source: str) -> str:
    """``value`` when it is a Dask scheduler address (``tcp://HOST:PORT``, ``tls://HOST:PORT`` or ``HOST:PORT``);
    else a UserError naming ``source`` (``"--dask "`` or ``"DEMOSEED_DASK="``)."""
    match = _DASK_ADDRESS.match(value)
    if match is None or not 1 <= int(match.group(3)) <= 65535:
        raise UserError(
            f"{source}{value!r} is not a Dask scheduler address; use tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786)"
        )
    return value


def dask_address(option: str | None) -> str | None:
    """The Dask scheduler to use: ``--dask``, else ``$DEMOSEED_DASK``, else None (run locally)."""
    return option or os.environ.get(DASK_ENV) or None


@contextlib.contextmanager
def open_executor(workers: int, dask: str | None = None) -> Iterator[Executor]:
    """An executor for partition jobs (see the module docstring); closed when the block ends."""
    if dask:
        with _dask_executor(dask) as executor:
            yield executor
        return
    if workers <= 1:
        yield InlineExecutor()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    threads = max(1, (os.cpu_count() or 1) // workers)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(threads,),
    )
    try:
        yield pool
    except BrokenProcessPool:
        raise UserError(
            f"a worker process died (out of memory?); try fewer --workers than {workers} or a smaller --partition-teams"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _handshake(address: str, unreachable: Callable[[str], UserError]) -> None:
    """Connect to the scheduler and complete distributed's handshake within DASK_CONNECT_TIMEOUT seconds."""
    import asyncio

    from distributed.comm import connect

    bound = DASK_CONNECT_TIMEOUT

    async def shake() -> None:
        comm = await asyncio.wait_for(connect(address, timeout=bound), bound)
        await comm.close()

    try:
        asyncio.run(shake())
    except TimeoutError:
        raise unreachable(f"it did not answer within {bound:g} s") from None
    except OSError as exc:
        raise unreachable(str(exc)) from None


@contextlib.contextmanager
def _dask_executor(address: str) -> Iterator[Executor]:
    from distributed import Client

    def unreachable(why: str) -> UserError:
        return UserError(
            f"--dask {address}: cannot reach the Dask scheduler ({why}); start it ('dask scheduler') "
            f"or check the address (or unset ${DASK_ENV})"
        )

    _handshake(address, unreachable)
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise unreachable(str(exc)) from None
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
