"""The fetch stage's exception hierarchy.

Every failure is one of four kinds, and the kind decides what happens next:

* :class:`TransientError` — 5xx, an HTML error page, "Something went wrong",
  connection errors, timeouts: retried (tenacity, jitter, capped). ``shrink``
  asks the GraphQL pager to halve its page size before the next attempt.
* :class:`RateLimited` — GitHub said "slow down" (primary or secondary
  limit); the transport waits as GitHub's rules say, then sends again.
* :class:`RepoError` — never retried (bad credentials, missing repo,
  validation errors, missing scopes): one message for the repo, the other
  repos carry on.
* :class:`Paused` — a wait would pass ``--max-wait``: the run stops cleanly
  with what it has (everything is checkpointed) and says when to resume.
* :class:`Unreachable` — the API URL is not a URL, or nothing answers there
  (connection refused, unknown host, TLS failure; a connect or answer timeout
  before the server ever answered): no repo can be fetched, so the whole run
  stops at once with one line naming the URL. It is a
  :class:`~pipeline.base.errors.UserError`: the CLI prints it, and a snapshot
  falls back to the raw cache.
"""

from __future__ import annotations

from typing import Any

from pipeline.base.errors import UserError
from stages.fetch.ratelimit import RateHeaders


class FetchError(Exception):
    """Base of the fetch stage's errors; ``str()`` is safe to show (no token)."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id


class TransientError(FetchError):
    """A failure worth retrying as is (or with a smaller page, when ``shrink``)."""

    def __init__(self, message: str, *, shrink: bool = False, request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.shrink = shrink


class RateLimited(FetchError):
    """GitHub asked us to wait (``kind`` is primary or secondary); ``headers`` are its signals."""

    def __init__(self, message: str, *, kind: str, headers: RateHeaders, request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.kind = kind
        self.headers = headers


class PartialData(TransientError):
    """A GraphQL answer with data and errors (null nodes); ``payload`` is what came back."""

    def __init__(self, message: str, *, payload: dict[str, Any], request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.payload = payload


class RepoError(FetchError):
    """A refusal that retrying cannot fix; reported once for the repo."""


class Forbidden(RepoError):
    """HTTP 403 that is not a rate limit: the token may not see this resource (REST)."""


class Paused(FetchError):
    """The run stopped before a wait longer than ``--max-wait``; resume after ``resume_at`` (epoch)."""

    def __init__(self, message: str, *, resume_at: float) -> None:
        super().__init__(message)
        self.resume_at = resume_at


class Unreachable(FetchError, UserError):
    """Nothing answers at the API URL (or it is not a URL): the run stops, never retried."""
