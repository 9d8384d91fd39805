"""GitHub's rate-limit rules as pure functions, and a shared budget tracker.

:func:`parse_headers` reads ``x-ratelimit-*``, ``retry-after`` and ``Date``.
:func:`limit_wait` is GitHub's documented rule for how long to wait after a
rate-limited answer, in order:

1. ``retry-after`` seconds when given;
2. else, when ``x-ratelimit-remaining`` is 0, until ``x-ratelimit-reset``
   measured against the response's own ``Date`` (immune to local clock skew);
3. else at least a minute, doubling with each consecutive attempt.

Never negative. :class:`Budget` is shared by every request of a run: it
learns the remaining points from every answer (headers and the GraphQL
``rateLimit`` object), reserves the estimated cost of requests in flight, and
says how long to pause before a request that would exceed what is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from stages.fetch.clock import parse_iso

SECONDARY_MIN_WAIT = 60.0
RESET_SLACK = 1.0  # reset is whole seconds; wait one more so the new window has begun


@dataclass(frozen=True)
class RateHeaders:
    """The rate-limit signals of one HTTP answer (None when absent)."""

    limit: int | None = None
    remaining: int | None = None
    used: int | None = None
    reset: float | None = None  # epoch seconds, server clock
    resource: str | None = None
    retry_after: float | None = None
    date: float | None = None  # the response's Date header, epoch seconds


def _num(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    n = _num(value)
    return None if n is None else int(n)


def parse_headers(headers: Mapping[str, str]) -> RateHeaders:
    """Read GitHub's rate-limit headers (case-insensitive mapping, e.g. httpx.Headers)."""
    date = None
    if raw := headers.get("date"):
        try:
            date = parsedate_to_datetime(raw).timestamp()
        except (TypeError, ValueError):
            date = None
    retry_after = _num(headers.get("retry-after"))
    if retry_after is None and (raw := headers.get("retry-after")):
        try:  # an HTTP date is allowed too
            retry_after = parsedate_to_datetime(raw).timestamp() - (date or 0.0) if date else None
        except (TypeError, ValueError):
            retry_after = None
    return RateHeaders(
        limit=_int(headers.get("x-ratelimit-limit")),
        remaining=_int(headers.get("x-ratelimit-remaining")),
        used=_int(headers.get("x-ratelimit-used")),
        reset=_num(headers.get("x-ratelimit-reset")),
        resource=headers.get("x-ratelimit-resource"),
        retry_after=retry_after,
        date=date,
    )


def limit_wait(rh: RateHeaders, *, now: float, attempt: int = 0, min_wait: float = SECONDARY_MIN_WAIT) -> float:
    """Seconds to wait after a rate-limited answer, by GitHub's rule (see module doc).

    ``now`` is the local clock, used only when the answer has no ``Date``;
    ``attempt`` counts consecutive rate-limited answers (0 for the first).
    """
    if rh.retry_after is not None:
        return max(0.0, rh.retry_after)
    if rh.remaining == 0 and rh.reset is not None:
        reference = rh.date if rh.date is not None else now
        return max(0.0, rh.reset - reference + RESET_SLACK)
    return max(min_wait, min_wait * 2.0 ** max(0, attempt))


class Budget:
    """Points left in GitHub's primary budget, as seen by this run.

    Times are kept on the local clock: a reset announced as server epoch is
    converted with the skew measured from the answer's ``Date`` header.
    """

    def __init__(self) -> None:
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset_at: float | None = None  # local clock
        self.reserved = 0
        self.pause_until = 0.0  # local clock; set by secondary limits and exhausted budgets

    def observe(
        self,
        *,
        now: float,
        remaining: int | None,
        limit: int | None = None,
        reset: float | None = None,
        server_now: float | None = None,
    ) -> None:
        """Learn from an answer: ``reset`` is server epoch, ``server_now`` its Date."""
        if remaining is None:
            return
        reset_local = None
        if reset is not None:
            reset_local = now + (reset - (server_now if server_now is not None else now))
        if limit is not None:
            self.limit = limit
        if self.reset_at is None or reset_local is None or reset_local > self.reset_at + 2 or now >= self.reset_at:
            # a new window (or the first answer): take it as is
            self.remaining = remaining
            if reset_local is not None:
                self.reset_at = reset_local
        else:
            # same window: answers arrive out of order; the smallest remaining is the newest
            self.remaining = remaining if self.remaining is None else min(self.remaining, remaining)

    def observe_object(self, rate: Mapping[str, object], *, now: float, server_now: float | None) -> None:
        """Learn from a GraphQL ``rateLimit { limit remaining resetAt }`` object."""
        reset, remaining, limit = rate.get("resetAt"), rate.get("remaining"), rate.get("limit")
        self.observe(
            now=now,
            remaining=remaining if isinstance(remaining, int) else None,
            limit=limit if isinstance(limit, int) else None,
            reset=parse_iso(reset) if isinstance(reset, str) else None,
            server_now=server_now,
        )

    def wait_before(self, cost: int, now: float) -> float:
        """Seconds to pause before sending a request estimated at ``cost`` points."""
        wait = max(0.0, self.pause_until - now)
        remaining, reset_at = self.remaining, self.reset_at
        if remaining is not None and reset_at is not None and now < reset_at and remaining - self.reserved < cost:
            wait = max(wait, reset_at - now + RESET_SLACK)
        return wait

    def pause(self, until: float, now: float) -> float:
        """Hold every request until ``until`` (local); returns how much the pause grew."""
        grew = max(0.0, until - max(self.pause_until, now))
        self.pause_until = max(self.pause_until, until)
        return grew
