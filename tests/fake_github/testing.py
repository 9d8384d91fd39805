"""Helpers for tests that run the fetcher against the fake."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from stages.fetch import Options, fetch_async, load_raw
from stages.fetch.transport import RetryPolicy, Timeouts
from tests.fake_github.server import FakeGitHub

TOKEN = "test-token"
FAST_RETRY = RetryPolicy(attempts=5, backoff=1.0, cap=8.0)


def run_fetch(fake: FakeGitHub, repos: list[str], raw_dir: Path, *, token: str | None = TOKEN, **opts: Any):
    """Fetch with the fake's clock (no real sleeping) and short timeouts; returns the FetchSummary."""
    opts.setdefault("retry", FAST_RETRY)
    opts.setdefault("timeouts", Timeouts(connect=5.0, deadline=20.0))
    return asyncio.run(
        fetch_async(repos, raw_dir=raw_dir, token=token, api_url=fake.url, options=Options(**opts), clock=fake.clock)
    )


def truth(fake: FakeGitHub, repos: list[str], transport: str = "graphql", since: str | None = None) -> list[dict]:
    rows: list[dict] = []
    for r in sorted(repos):
        rows += fake.dataset.expected_rows(r, transport, since=since)
    return rows


def cached(raw_dir: Path, repos: list[str] | None = None) -> list[dict]:
    return load_raw(raw_dir, repos).to_pylist()


def diff(got: list[dict], want: list[dict]) -> str:
    """A short description of how two row lists differ ('' when equal)."""
    if got == want:
        return ""
    g = {(r["repo"], r["number"]): r for r in got}
    w = {(r["repo"], r["number"]): r for r in want}
    out = []
    if missing := sorted(set(w) - set(g)):
        out.append(f"missing {missing[:10]}")
    if extra := sorted(set(g) - set(w)):
        out.append(f"unexpected {extra[:10]}")
    if len(got) != len(g):
        out.append(f"{len(got) - len(g)} duplicate rows")
    for k in sorted(set(g) & set(w)):
        if g[k] != w[k]:
            fields = [f for f in w[k] if g[k].get(f) != w[k][f]]
            out.append(f"{k} differs in {fields}")
            if len(out) > 8:
                break
    return "; ".join(out)
