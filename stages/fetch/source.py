"""What the two transports (GraphQL and REST) share: a page of rows, page sizing.

A *source* answers two questions for one repository: :meth:`probe` (when was
the newest PR updated? one cheap request) and :meth:`page` (the next page of
PRs, newest update first, every nested list complete, already mapped to the
``gh_raw_pull_requests`` row shape).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from stages.fetch.summary import RepoStats

Json = dict[str, Any]  # a JSON object from GitHub
Row = dict[str, Any]  # a gh_raw_pull_requests row, as the sources map it


@dataclass
class Page:
    """One page of PR rows, newest update first."""

    rows: list[Row]
    end_cursor: str | None
    has_next: bool
    total_count: int | None = None
    server_time: float | None = None  # the answer's Date header (server clock)
    oldest: str | None = None  # oldest updatedAt of every node on the page (skipped ones included)
    null_nodes: int = 0  # PR nodes GitHub nulled (partial data) and that stayed null after retries
    warnings: list[str] = field(default_factory=list)
    asked: int = 0  # how many PRs the request that answered asked for (``first``)


@dataclass
class Probe:
    """The newest PR's update time (None for a repo without PRs), and when we asked."""

    newest_updated: str | None
    server_time: float | None
    not_modified: bool = False  # REST: the etag matched (free, nothing changed)
    etag: str | None = None


class Source(Protocol):
    name: str

    async def probe(self, repo: str, stats: RepoStats, *, etag: str | None = None) -> Probe: ...

    async def page(
        self,
        repo: str,
        cursor: str | None,
        stats: RepoStats,
        sizer: PageSizer,
        *,
        skip_older: str | None = None,
        known: Mapping[int, str] | None = None,
    ) -> Page: ...


class PageSizer:
    """Page size that halves after a timeout/502 (floor 1) and grows back after successes."""

    def __init__(self, start: int = 25, *, floor: int = 1, grow_after: int = 2) -> None:
        self.max = start
        self.size = start
        self.floor = floor
        self.grow_after = grow_after
        self._ok = 0

    def shrink(self) -> None:
        self.size = max(self.floor, self.size // 2)
        self._ok = 0

    def success(self) -> None:
        self._ok += 1
        if self.size < self.max and self._ok >= self.grow_after:
            self.size = min(self.max, self.size * 2)
            self._ok = 0


def split_repo(repo: str) -> tuple[str, str]:
    owner, _, name = repo.partition("/")
    return owner, name


async def gather_strict(*aws: Awaitable[Any]) -> list[Any]:
    """Like asyncio.gather, but the first failure cancels the others before it is raised."""
    import asyncio  # here, not at the top: reading the raw cache (demoseed snapshot) does not need it

    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
