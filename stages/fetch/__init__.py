"""Fetch stage: real pull-request metadata from GitHub into a raw Parquet cache.

Public entry points (the agreed interface; see the modules for how):

* :func:`fetch_repos` — fetch repos in parallel (GraphQL with a token, REST
  without), incremental and resumable, into ``data/raw/github/<owner>/<repo>/``
  (:mod:`stages.fetch.run`, :mod:`stages.fetch.transport`,
  :mod:`stages.fetch.graphql`, :mod:`stages.fetch.rest`).
* :func:`load_raw` — the cached PR nodes as one ``gh_raw_pull_requests`` table
  (:mod:`stages.fetch.cache`).
* :func:`raw_fingerprint` — a hash of what is cached, for manifests.
* :class:`FetchSummary` — per repo: status, counts, requests, points,
  retries, waits, errors; ``.ok``.

Rate limits follow GitHub's own signals (:mod:`stages.fetch.ratelimit`); the
token never leaves memory (:mod:`stages.fetch.auth`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.base.github import FETCH_CONCURRENCY, FETCH_MAX_WAIT
from stages.fetch.auth import resolve_token

if TYPE_CHECKING:
    from stages.fetch.cache import load_raw, raw_fingerprint
    from stages.fetch.clock import Clock, SystemClock
    from stages.fetch.run import Options, fetch_async
    from stages.fetch.summary import FetchSummary, RepoStats


__all__ = [
    "Clock",
    "FetchSummary",
    "Options",
    "RepoStats",
    "SystemClock",
    "fetch_async",
    "fetch_repos",
    "load_raw",
    "raw_fingerprint",
    "resolve_token",
    "to_iso",
]


# The HTTP client and pyarrow load when first used, not with the package: ``demoseed snapshot``
# asks for the token (and an unchanged snapshot for nothing more) without either.
def __getattr__(name: str) -> Any:
    if name in ("load_raw", "raw_fingerprint"):
        from stages.fetch import cache

        return getattr(cache, name)
    if name in ("Options", "fetch_async"):
        from stages.fetch import run

        return getattr(run, name)
    if name in ("FetchSummary", "RepoStats"):
        from stages.fetch import summary

        return getattr(summary, name)
    if name in ("Clock", "SystemClock"):
        from stages.fetch import clock

        return getattr(clock, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_iso(value: str | dt.date | dt.datetime | None) -> str | None:
    """A date, datetime or ISO string as GitHub's ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = (
            dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value else dt.date.fromisoformat(value)
        )
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{value.isoformat()}T00:00:00Z"


def fetch_repos(
    repos: list[str],
    *,
    raw_dir: Path,
    token: str | None,
    api_url: str,
    concurrency: int = FETCH_CONCURRENCY,
    since: str | dt.date | dt.datetime | None = None,
    until: str | dt.date | dt.datetime | None = None,
    refresh: bool = False,
    no_cache: bool = False,
    max_wait: float = FETCH_MAX_WAIT,
    progress: bool = False,
    max_prs: int | None = None,
    clock: Clock | None = None,
) -> FetchSummary:
    """Fetch ``repos`` (owner/name) into ``raw_dir`` (``data/raw/github``); see :mod:`stages.fetch.run`."""
    import asyncio

    from stages.fetch.run import Options, fetch_async

    options = Options(
        concurrency=concurrency,
        since=to_iso(since),
        until=to_iso(until),
        refresh=refresh,
        no_cache=no_cache,
        max_wait=max_wait,
        progress=progress,
        max_prs=max_prs,
    )
    return asyncio.run(
        fetch_async(repos, raw_dir=Path(raw_dir), token=token, api_url=api_url, options=options, clock=clock)
    )
