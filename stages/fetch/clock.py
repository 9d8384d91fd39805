"""Time as an injected dependency: ``now()`` and ``async sleep()``.

The fetcher never calls ``time.time`` or ``asyncio.sleep`` directly, so tests
drive it with a fake clock (no real sleeping) that the fake GitHub shares.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """What the fetcher needs from time."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (never negative)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        import asyncio  # here: reading the raw cache (which formats times with iso()) does not need asyncio

        await asyncio.sleep(max(0.0, seconds))


def iso(ts: float) -> str:
    """Epoch seconds as GitHub's ISO-8601 form (``2026-01-05T12:00:00Z``)."""
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    """GitHub's ISO-8601 timestamp (``Z`` or an offset) as epoch seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
