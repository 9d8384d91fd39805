"""Clocks the fake GitHub and the fetcher under test can share.

:class:`FakeClock` is thread-safe (the fake serves from threads) and never
sleeps: ``await sleep(s)`` records ``s`` and moves time forward to
``max(now, start_of_sleep + s)``, so several tasks waiting for the same reset
move the clock once, as real time would.
"""

from __future__ import annotations

import asyncio
import threading
import time

# 2026-01-05T12:00:00Z: the default anchor Monday, noon
DEFAULT_START = 1767614400.0


class FakeClock:
    """A controllable clock: ``now()``, ``advance()``, ``set()``, and a recording ``sleep()``."""

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)

    def set(self, epoch: float) -> None:
        with self._lock:
            self._now = float(epoch)

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, float(seconds))
        with self._lock:
            target = self._now + seconds
            self.sleeps.append(seconds)
            self._now = max(self._now, target)
        await asyncio.sleep(0)


class RealClock:
    """Wall-clock time (for the command-line fake)."""

    def now(self) -> float:
        return time.time()

    def advance(self, seconds: float) -> None:  # pragma: no cover - not meaningful for real time
        raise RuntimeError("cannot advance the real clock")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))
