"""The fetch run: every repo in parallel, incremental, resumable.

Per repository (:func:`_fetch_repo`):

* **Plan.** A scan left unfinished by a killed or paused run resumes at its
  saved cursor. Otherwise a *full* scan runs when nothing complete is cached,
  the queries or transport changed, or ``since`` moved earlier than the cached
  window (a backfill). Else the scan is *incremental*: one cheap probe (the
  newest PR's ``updatedAt``; a REST 304 is free) and, if nothing was updated
  after the watermark, the repo is done in that one request.
* **Scan.** Pages ordered by ``UPDATED_AT DESC`` until a page reaches the stop
  point (the watermark, or ``since``), ``max_prs`` or the end. Every page is
  checkpointed (rows + state, atomically) before the next is asked.
* **Catch-up.** A PR edited while a multi-page scan runs jumps to the top,
  behind the cursor. After such a scan one probe asks whether anything was
  updated since the scan started (minus a margin); if so a short catch-up
  scan down to that point follows.
* **Watermark.** The server time of the last request that saw everything,
  minus ``margin`` (and never after ``until``). Never "newest updatedAt seen",
  which loses PRs edited mid-scan. Rows are deduped by (repo, number).
* **Null nodes.** A page with PR nodes GitHub sent null (partial data: the
  whole node, number unknown) is asked again at once, up to :data:`REASKS`
  times, keeping every row any answer carried. Where a node stays null, the
  page's start cursor and size are recorded as a *gap* (``state.gaps``) and the
  scan goes on; the watermark advances. The next run asks each gap's page once,
  before its probe, and only those: an unchanged re-run makes one request per
  gap plus the probe. A gap closes when its page comes back whole; a full scan
  starts with none.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx

from pipeline.base.github import FETCH_CONCURRENCY, FETCH_MAX_WAIT
from pipeline.base.repos import repo_ok
from stages.fetch import rest
from stages.fetch.auth import mask
from stages.fetch.cache import Cache, MemoryCache, RepoCache
from stages.fetch.clock import Clock, SystemClock, iso
from stages.fetch.errors import FetchError, Paused, RepoError, TransientError, Unreachable
from stages.fetch.graphql import GraphQLSource, query_version
from stages.fetch.pages import combine
from stages.fetch.progress import Progress
from stages.fetch.rest import RestSource
from stages.fetch.source import Page, PageSizer, Row, Source
from stages.fetch.state import Scan, ScanKind
from stages.fetch.summary import FetchSummary, RepoStats
from stages.fetch.transport import RetryPolicy, Timeouts, Transport

log = logging.getLogger(__name__)

MAX_CATCHUPS = 3
REASKS = 3  # a page with null PR nodes is asked again at once up to this many times
# Cache writes (checkpoints, state, compaction) run off the event loop on this many threads,
# shared by all repos of a run. A checkpoint is mostly GIL-bound (rows -> Arrow, JSON) plus a few
# fsyncs; more threads only fight the event loop for the GIL, and asyncio's default pool makes
# bench/bench_fetch.py slower than one thread does (docs/performance.md).
IO_THREADS = 1
T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    """How a run behaves (the CLI's flags, and a few knobs for tests and benches)."""

    concurrency: int = FETCH_CONCURRENCY
    since: str | None = None  # ISO-8601, inclusive, on updatedAt
    until: str | None = None  # ISO-8601, exclusive, on updatedAt
    refresh: bool = False
    no_cache: bool = False
    max_wait: float = FETCH_MAX_WAIT
    progress: bool = False
    margin: float = 300.0  # seconds the watermark stays behind the scan's start
    page_size: int = 25
    max_prs: int | None = None  # newest PRs per repo in a full scan
    timeouts: Timeouts = field(default_factory=Timeouts)
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def _in_window(updated: str, opts: Options) -> bool:
    return (opts.since is None or updated >= opts.since) and (opts.until is None or updated < opts.until)


class _RepoRun:
    """One repository's scan (see module doc). Owns the repo's :class:`RepoState`; the cache stores it."""

    def __init__(
        self,
        repo: str,
        source: Source,
        cache: Cache,
        opts: Options,
        stats: RepoStats,
        clock: Clock,
        progress: Progress,
        version: str,
        io: Executor | None = None,
    ) -> None:
        self.repo, self.source, self.cache, self.opts = repo, source, cache, opts
        self.stats, self.clock, self.progress, self.version = stats, clock, progress, version
        self.io = io
        self.state = cache.load_state()
        self.withheld_now: dict[int, tuple[str, ...]] = {}  # PR number -> withheld fields, this run

    async def _io(self, func: Callable[..., T], *args: object) -> T:
        """Run a cache write on the run's I/O thread (None: asyncio's default pool)."""
        return await asyncio.get_running_loop().run_in_executor(self.io, functools.partial(func, *args))

    async def _save(self, **changes: Any) -> None:
        """Change the state and save it."""
        self.state = replace(self.state, **changes)
        await self._io(self.cache.save_state, self.state)

    def _scan_matches(self, scan: Scan) -> bool:
        return scan.query_version == self.version and scan.since == self.opts.since and scan.until == self.opts.until

    def _new_scan(self, kind: ScanKind, stop_at: str | None, started: float | None) -> Scan:
        return Scan(
            kind=kind,
            stop_at=stop_at,
            since=self.opts.since,
            until=self.opts.until,
            query_version=self.version,
            started=started,
            first_started=started,
            full=kind == "full",
        )

    def _needs_full(self) -> bool:
        s = self.state
        if not s.complete or s.watermark is None:
            return True
        # new queries may ask for fields the cached rows lack; a switch between GraphQL and REST
        # (a token came or went) does not: it continues from the watermark
        if s.transport == self.source.name and s.query_version != self.version:
            return True
        cached_since, since = s.window_since, self.opts.since
        return cached_since is not None and (since is None or since < cached_since)

    def _stop_at(self, watermark: str | None) -> str | None:
        points = [p for p in (watermark, self.opts.since) if p]
        return max(points) if points else None

    def _watermark(self, server_time: float | None) -> str:
        t = (server_time if server_time is not None else self.clock.now()) - self.opts.margin
        mark = iso(t)
        return min(mark, self.opts.until) if self.opts.until else mark

    async def run(self) -> None:
        if self.opts.refresh:
            self.cache.drop()
            self.state = self.cache.load_state()
        if self.state.gaps and self.state.transport == self.source.name and not self._needs_full():
            await self._fill_gaps()
        scan = self.state.scan
        if scan and self._scan_matches(scan) and self.state.transport == self.source.name:
            self.stats.mode = "resumed"
        else:
            scan = await self._plan()
            if scan is None:
                return
        while True:
            if not scan.done:
                scan = await self._pass(scan)
            if scan.pages <= 1:
                final = scan.started
                break
            probe = await self.source.probe(self.repo, self.stats)
            if probe.etag:
                self.state = replace(self.state, etag=probe.etag)
            threshold = iso((scan.started or self.clock.now()) - self.opts.margin)
            if probe.newest_updated and probe.newest_updated >= threshold and scan.catchups < MAX_CATCHUPS:
                scan = replace(
                    self._new_scan("catchup", self._stop_at(threshold), probe.server_time),
                    first_started=scan.first_started,
                    full=scan.full,
                    catchups=scan.catchups + 1,
                    null_nodes=scan.null_nodes,
                )
                await self._save(scan=scan)
                continue
            final = probe.server_time
            break
        await self._finish(scan, final)

    async def _plan(self) -> Scan | None:
        s = self.state
        if s.transport not in (None, self.source.name):
            log.info("%s: cached by %s, now fetching by %s", self.repo, s.transport, self.source.name)
        if self._needs_full():
            self.stats.mode = "backfill" if s.complete and s.query_version == self.version else "full"
            scan = self._new_scan("full", self.opts.since, None)
            s = replace(s, gaps={}, incomplete=False)  # the full scan sees every page again
        else:
            self.stats.mode = "incremental"
            stop_at = self._stop_at(s.watermark)
            probe = await self.source.probe(self.repo, self.stats, etag=s.etag)
            if probe.etag:
                s = replace(s, etag=probe.etag)
            if probe.not_modified or probe.newest_updated is None or (stop_at and probe.newest_updated < stop_at):
                new = self._watermark(probe.server_time)
                self.state = replace(
                    s,
                    watermark=max(new, s.watermark) if s.watermark else new,
                    last_check=iso(probe.server_time or self.clock.now()),
                )
                self.stats.prs_cached = await self._io(self.cache.compact, self.state)
                self.stats.status = "unchanged"
                return None
            scan = self._new_scan("incremental", stop_at, probe.server_time)
        self.state = s
        await self._save(transport=self.source.name, scan=scan)
        return scan

    async def _pass(self, scan: Scan) -> Scan:
        """Pages until the scan is done, each checkpointed; returns the finished scan."""
        sizer = PageSizer(self.opts.page_size)
        while True:
            start = scan.cursor
            page = await self._ask(start, sizer, scan.stop_at, REASKS)
            if scan.started is None:
                started = page.server_time if page.server_time is not None else self.clock.now()
                scan = replace(scan, started=started, first_started=scan.first_started or started)
            rows = [r for r in page.rows if _in_window(r["updatedAt"], self.opts)]
            reached = bool(scan.stop_at and page.oldest and page.oldest < scan.stop_at)
            if scan.full and scan.kind == "full" and self.opts.max_prs is not None:
                room = max(0, self.opts.max_prs - scan.prs)
                if len(rows) >= room:
                    rows, reached = rows[:room], True
            for w in page.warnings:
                if w not in self.stats.warnings:
                    self.stats.warnings.append(w)
            withheld = self._withheld(rows)
            gaps = self.state.gaps
            if page.null_nodes:
                gaps = {**gaps, start or "": page.asked or sizer.size}
            scan = replace(
                scan,
                null_nodes=scan.null_nodes + page.null_nodes,
                cursor=page.end_cursor,
                pages=scan.pages + 1,
                prs=scan.prs + len(rows),
                done=reached or not page.has_next or not page.end_cursor,
            )
            self.state = replace(self.state, scan=scan, withheld=withheld, gaps=gaps, incomplete=bool(gaps))
            # checkpoint off the event loop (fsyncs), but before the next page is asked
            await self._io(self.cache.commit_page, rows, self.state)
            self.stats.pages += 1
            self.stats.prs_fetched += len(rows)
            self.progress.page(self.repo, self.stats)
            if scan.done:
                return scan

    async def _ask(
        self,
        cursor: str | None,
        sizer: PageSizer,
        skip_older: str | None,
        reasks: int,
        known: Mapping[int, str] | None = None,
    ) -> Page:
        """The page at ``cursor``; while PR nodes come back null, asked again at once (``reasks`` times at
        most), every row any answer carried kept (the dedupe keeps the newest of each PR). PRs ``known`` at
        their ``updatedAt`` (and, on a second ask, those the first answers carried) are not completed again."""
        page = await self.source.page(self.repo, cursor, self.stats, sizer, skip_older=skip_older, known=known)
        for _ in range(reasks):
            if not page.null_nodes:
                break
            self.stats.retries += 1
            log.info("%s: %d PR node(s) came back null; asking the page again", self.repo, page.null_nodes)
            have = {**(known or {}), **{r["number"]: r["updatedAt"] for r in page.rows}}
            again = await self.source.page(self.repo, cursor, self.stats, sizer, skip_older=skip_older, known=have)
            seen = {r["number"] for r in again.rows}
            earlier = [r for r in page.rows if r["number"] not in seen]
            page = replace(again, rows=[*again.rows, *earlier], warnings=[*page.warnings, *again.warnings])
        return page

    async def _fill_gaps(self) -> None:
        """Ask each recorded gap's page once; a page that comes back whole closes its gap."""
        table = await self._io(self.cache.table)
        known = dict(zip(table.column("number").to_pylist(), table.column("updatedAt").to_pylist(), strict=True))
        for cursor, first in sorted(self.state.gaps.items()):
            page = await self._ask(cursor or None, PageSizer(first), None, 0, known)
            rows = [r for r in page.rows if _in_window(r["updatedAt"], self.opts)]
            gaps = {c: n for c, n in self.state.gaps.items() if c != cursor or page.null_nodes}
            self.state = replace(self.state, withheld=self._withheld(rows), gaps=gaps, incomplete=bool(gaps))
            await self._io(self.cache.commit_page, rows, self.state)
            self.stats.pages += 1
            self.stats.prs_fetched += len(rows)
        if self.state.gaps:
            self.stats.warnings.append(
                f"GitHub still sends null PR nodes on {len(self.state.gaps)} page(s); the next run asks them again"
            )

    def _withheld(self, rows: list[Row]) -> Mapping[int, tuple[str, ...]]:
        """The state's withheld fields after ``rows``: theirs replace what an older fetch of those PRs had."""
        if not self.state.withheld and not any(r.get("withheld_fields") for r in rows):
            return self.state.withheld
        withheld = dict(self.state.withheld)
        for r in rows:
            if fields := r.get("withheld_fields"):
                withheld[r["number"]] = self.withheld_now[r["number"]] = tuple(fields)
            else:
                withheld.pop(r["number"], None)
        return withheld

    async def _finish(self, scan: Scan, final: float | None) -> None:
        s = replace(
            self.state,
            scan=None,
            last_check=iso(final if final is not None else self.clock.now()),
            incomplete=bool(self.state.gaps),
            transport=self.source.name,
            watermark=self._watermark(final),
            query_version=self.version,
        )
        if scan.full:
            s = replace(
                s,
                complete=True,
                window_since=self.opts.since,
                last_full_scan=iso(scan.first_started or self.clock.now()),
            )
        if scan.null_nodes:
            self.stats.warnings.append(
                f"{scan.null_nodes} PR node(s) came back null {1 + REASKS} times; their page is recorded "
                "and the next run asks only that page again"
            )
        if self.withheld_now:
            self.stats.withheld = len(self.withheld_now)
            fields = sorted({f for fs in self.withheld_now.values() for f in fs})
            self.stats.warnings.append(
                f"GitHub withheld {', '.join(fields)} of {len(self.withheld_now)} PR(s) from this token: "
                "kept as null and listed in the PRs' withheld_fields"
            )
        self.state = s
        self.stats.prs_cached = await self._io(self.cache.compact, s)
        self.stats.status = "ok"


async def fetch_async(
    repos: list[str],
    *,
    raw_dir: Path,
    token: str | None,
    api_url: str,
    options: Options | None = None,
    clock: Clock | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> FetchSummary:
    """The async core of :func:`stages.fetch.fetch_repos`."""
    opts = options or Options()
    clock = clock or SystemClock()
    repos = list(dict.fromkeys(repos))
    transport = _transport(api_url, token, clock, opts, http_transport)
    source, version = _source(transport, token, opts.page_size)
    stats = {r: RepoStats(r, transport=source.name) for r in repos}
    caches: dict[str, Cache] = {}
    progress = Progress(repos, transport.budget, enabled=opts.progress)

    async def one(repo: str) -> None:
        st = stats[repo]
        try:
            if not repo_ok(repo):
                raise RepoError(f"{repo!r} is not owner/name")
            cache: Cache = MemoryCache(repo) if opts.no_cache else RepoCache(raw_dir, repo)
            caches[repo] = cache
            await _RepoRun(repo, source, cache, opts, st, clock, progress, version, io).run()
        except FetchError as exc:
            _record_failure(st, exc, opts.retry.attempts, token)
            if isinstance(exc, (RepoError, Unreachable)) and repo in caches:
                caches[repo].drop_if_empty()
        finally:
            progress.done(repo, st)
        if st.error:
            log.debug("%s: %s", repo, st.error)

    io = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="fetch-io")
    try:
        with progress:
            await asyncio.gather(*(one(r) for r in repos))
    finally:
        io.shutdown(wait=True)  # a cancelled run still finishes the checkpoint being written
        await transport.aclose()
    if transport.unreachable is not None:  # one line for the run, not one per repo
        raise transport.unreachable
    return _summary(stats, source, transport, caches if opts.no_cache else None)


def _transport(
    api_url: str, token: str | None, clock: Clock, opts: Options, http_transport: httpx.AsyncBaseTransport | None
) -> Transport:
    """The HTTP side of the run, shared by every repo: concurrency, rate-limit waits, timeouts, retries."""
    return Transport(
        api_url=api_url,
        token=token,
        clock=clock,
        concurrency=opts.concurrency,
        max_wait=opts.max_wait,
        timeouts=opts.timeouts,
        retry=opts.retry,
        http_transport=http_transport,
    )


def _source(transport: Transport, token: str | None, page_size: int) -> tuple[Source, str]:
    """GraphQL with a token, REST without one; and the query version the cache is kept under."""
    if token:
        return GraphQLSource(transport), query_version()
    # REST without a token has 60 requests an hour and a PR costs ~5: small pages keep checkpoints reachable
    return RestSource(transport, per_page=min(10, page_size)), rest.QUERY_VERSION


def _record_failure(st: RepoStats, exc: FetchError, attempts: int, token: str | None) -> None:
    """The repo's status and error (the token masked) after ``exc``: paused by the rate limit, or failed."""
    if isinstance(exc, Paused):
        st.status, st.resume_at, st.error = "paused", exc.resume_at, mask(exc.message, token)
    elif isinstance(exc, (RepoError, Unreachable)):
        st.status, st.error = "failed", mask(exc.message, token)
    elif isinstance(exc, TransientError):
        st.status = "failed"
        st.error = mask(f"gave up after {attempts} attempts: {exc.message}", token)
    else:  # pragma: no cover - every subclass is handled above
        st.status, st.error = "failed", mask(exc.message, token)


def _summary(
    stats: dict[str, RepoStats], source: Source, transport: Transport, caches: dict[str, Cache] | None
) -> FetchSummary:
    """The run's summary; with ``caches`` (a --no-cache run), the rows fetched as one table."""
    summary = FetchSummary(
        repos=stats,
        transport=source.name,
        budget_remaining=transport.budget.remaining,
        budget_limit=transport.budget.limit,
    )
    if caches is not None:
        summary.raw = combine([c.table() for c in caches.values()])
    return summary
