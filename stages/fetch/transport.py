"""One HTTP client per run: concurrency, retries, rate-limit waits.

:class:`Transport` wraps a single ``httpx.AsyncClient`` (HTTP/1.1 keep-alive,
httpx's own transport and connection pool, sized to ``--concurrency``)
behind a semaphore of the same size. :meth:`Transport.send` is the only way
a request leaves the process; it

1. waits while the shared :class:`~stages.fetch.ratelimit.Budget` says a
   request of this cost would exceed what is left (or a secondary limit holds
   everyone back);
2. sends, classifies the HTTP answer (:func:`classify_http`), then lets the
   caller's ``check`` classify the body (GraphQL errors on a 200);
3. on :class:`RateLimited` waits as GitHub's rules say and sends again; on
   :class:`TransientError` retries with tenacity (random exponential backoff,
   capped, a few attempts); :class:`RepoError` goes straight up.

A wait that would take the run's total waiting past ``max_wait`` raises
:class:`Paused` here and in every other repo's next request: the run stops
cleanly, each repo's checkpoint intact. The token is only ever in the
``Authorization`` header; every message is masked.

A dead network is not waited out (:class:`Timeouts`): an API URL that is not
an http(s) URL is refused before anything is sent; a refused connection, an
unknown host or a TLS failure raises :class:`Unreachable` at once (never
retried), and so does a connect or answer timeout while the server has not
answered a single request of the run. Once it has answered, a timeout is
transient (retried with a smaller page). Every later request of the run
raises the same :class:`Unreachable` without connecting.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from pipeline import __version__
from pipeline.base.github import FETCH_CONCURRENCY, FETCH_MAX_WAIT
from stages.fetch.auth import mask
from stages.fetch.clock import Clock, iso
from stages.fetch.errors import Forbidden, Paused, RateLimited, RepoError, TransientError, Unreachable
from stages.fetch.ratelimit import Budget, RateHeaders, limit_wait, parse_headers
from stages.fetch.source import Json
from stages.fetch.summary import RepoStats

log = logging.getLogger(__name__)
T = TypeVar("T")

API_VERSION = "2022-11-28"
SECONDARY_MARKERS = ("secondary rate limit", "abuse detection")


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried."""

    attempts: int = 6
    backoff: float = 1.0  # multiplier of the random exponential wait
    cap: float = 30.0  # no single retry wait is longer
    max_rate_limit_waits: int = 20  # consecutive rate-limited answers before giving up on a request


@dataclass(frozen=True)
class Timeouts:
    """How long one request may take, in seconds (see module doc)."""

    connect: float = 5.0  # DNS + TCP (+ TLS): GitHub connects in well under a second
    deadline: float = 30.0  # from sending to the answer's last byte; GitHub gives up on a query at ~10 s


def check_api_url(api_url: str) -> str:
    """``api_url`` without a trailing slash, or :class:`Unreachable` when it is not an http(s) URL."""
    try:
        url: httpx.URL | None = httpx.URL(api_url)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise Unreachable(
            f"the GitHub API URL {api_url!r} is not an http(s) URL; "
            "set GITHUB_API_URL (or --api-url) to one like https://api.github.com"
        )
    return api_url.rstrip("/")


def _cause(exc: BaseException) -> str:
    """Why a connection failed, in a few words (refused, unknown host, or what the OS said)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "unknown host"
        if isinstance(seen, OSError) and seen.errno == errno.ECONNREFUSED:
            return "connection refused"
        seen = seen.__cause__ or seen.__context__
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200].strip()
    if isinstance(body, dict):
        return str(body.get("message") or body.get("errors") or body)[:300]
    return str(body)[:300]


def _is_html(resp: httpx.Response) -> bool:
    ctype = resp.headers.get("content-type", "")
    return "html" in ctype or resp.text[:200].lstrip().lower().startswith(("<!doctype html", "<html"))


def classify_http(resp: httpx.Response, rh: RateHeaders) -> None:
    """Raise the fetch error an HTTP answer means; return for answers the caller reads."""
    status = resp.status_code
    rid = resp.headers.get("x-github-request-id")
    if status == 304:
        return
    if 200 <= status < 300:
        if _is_html(resp):
            raise TransientError(f"HTML page instead of JSON (HTTP {status})", request_id=rid)
        return
    if status >= 500:
        kind = "HTML error page" if _is_html(resp) else _message(resp)
        raise TransientError(f"HTTP {status}: {kind}", shrink=status in (502, 504), request_id=rid)
    msg = _message(resp) if not _is_html(resp) else f"HTTP {status}"
    if status in (403, 429):
        if any(m in msg.lower() for m in SECONDARY_MARKERS):
            raise RateLimited(f"secondary rate limit: {msg}", kind="secondary", headers=rh, request_id=rid)
        if rh.remaining == 0 or rh.retry_after is not None:
            raise RateLimited(f"rate limit exhausted: {msg}", kind="primary", headers=rh, request_id=rid)
        raise Forbidden(f"forbidden (HTTP {status}): {msg}", request_id=rid)
    if status == 401:
        raise RepoError(f"GitHub refused the token (HTTP 401: {msg}); check GITHUB_TOKEN", request_id=rid)
    if status == 404:
        raise RepoError(f"not found (HTTP 404: {msg}); check the owner/name and the token's access", request_id=rid)
    raise RepoError(f"HTTP {status}: {msg}", request_id=rid)


class Transport:
    """The run's HTTP client, budget and waiting rules (see module doc)."""

    def __init__(
        self,
        *,
        api_url: str,
        token: str | None,
        clock: Clock,
        concurrency: int = FETCH_CONCURRENCY,
        max_wait: float = FETCH_MAX_WAIT,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api_url = check_api_url(api_url)
        self.token = token
        self.clock = clock
        self.max_wait = max_wait
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.budget = Budget()
        self.waited = 0.0
        self.stopped: Paused | None = None
        self.unreachable: Unreachable | None = None
        self.answered = False  # the server has answered a request of this run
        self.concurrency = max(1, concurrency)
        self._sem: asyncio.Semaphore | None = None
        headers = {
            "User-Agent": f"demoseed/{__version__}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # with no transport given, httpx builds its own AsyncHTTPTransport: these limits, HTTP/1.1 only,
        # no connect retries (tenacity retries here), proxies from HTTP(S)_PROXY/ALL_PROXY/NO_PROXY
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        timeout = httpx.Timeout(self.timeouts.deadline, connect=self.timeouts.connect)
        self.client = httpx.AsyncClient(
            headers=headers, timeout=timeout, limits=limits, transport=http_transport, follow_redirects=True
        )

    @property
    def graphql_url(self) -> str:
        if self.api_url.endswith("/api/v3"):  # GitHub Enterprise Server
            return self.api_url[: -len("/v3")] + "/graphql"
        return self.api_url + "/graphql"

    async def aclose(self) -> None:
        await self.client.aclose()

    def _semaphore(self) -> asyncio.Semaphore:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.concurrency)
        return self._sem

    def _unreachable(self, reason: str) -> Unreachable:
        """The run's :class:`Unreachable` (the first reason wins)."""
        if self.unreachable is None:
            self.unreachable = Unreachable(
                f"cannot reach the GitHub API at {self.api_url}: {reason}; "
                "check GITHUB_API_URL (or --api-url) and the network"
            )
        return Unreachable(self.unreachable.message)

    # -- waiting -------------------------------------------------------------

    def _stop(self, wait: float, reason: str) -> Paused:
        resume_at = self.clock.now() + wait
        if self.stopped is None or resume_at > self.stopped.resume_at:
            self.stopped = Paused(
                f"{reason}: waiting {wait:.0f}s would pass --max-wait {self.max_wait:.0f}s; "
                f"stopped cleanly, run again after {iso(resume_at)} to resume",
                resume_at=resume_at,
            )
        return self.stopped

    async def _hold(self, wait: float, stats: RepoStats, reason: str) -> None:
        """Pause every request for ``wait`` seconds (counted once per run), or stop the run."""
        now = self.clock.now()
        grew = max(0.0, now + wait - max(self.budget.pause_until, now))
        if self.waited + grew > self.max_wait:
            raise self._stop(wait, reason)
        self.waited += self.budget.pause(now + wait, now)
        stats.waits += 1
        log.info("%s: %s; waiting %.0fs", stats.repo, reason, wait)

    async def _ready(self, cost: int, stats: RepoStats) -> None:
        while True:
            if self.stopped is not None:
                raise Paused(str(self.stopped), resume_at=self.stopped.resume_at)
            now = self.clock.now()
            wait = self.budget.wait_before(cost, now)
            if wait <= 0:
                return
            if now + wait > self.budget.pause_until + 1e-9:  # the budget, not a pause, holds us back
                await self._hold(wait, stats, f"API budget low ({self.budget.remaining} points left)")
            stats.wait_seconds += wait
            await self.clock.sleep(wait)

    # -- sending -------------------------------------------------------------

    async def send(
        self,
        method: str,
        url: str,
        *,
        stats: RepoStats,
        check: Callable[[httpx.Response, RateHeaders], T],
        json: Callable[[], Json] | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        cost: int = 1,
        on_transient: Callable[[TransientError], None] | None = None,
    ) -> T:
        """Send one logical request (retried/waited as needed) and return ``check``'s value."""

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            stats.retries += 1
            if isinstance(exc, TransientError):
                rid = f" (request id {exc.request_id})" if exc.request_id else ""
                log.warning("%s: %s%s; retrying", stats.repo, mask(exc.message, self.token), rid)
                if on_transient is not None:
                    on_transient(exc)

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.retry.attempts),
            wait=wait_random_exponential(multiplier=self.retry.backoff, max=self.retry.cap),
            sleep=self.clock.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._send_once(method, url, stats, check, json, params, headers, cost)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(
        self,
        method: str,
        url: str,
        stats: RepoStats,
        check: Callable[[httpx.Response, RateHeaders], T],
        json: Callable[[], Json] | None,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        cost: int,
    ) -> T:
        limited = 0
        while True:
            resp = await self._request(method, url, stats, json, params, headers, cost)
            rh = parse_headers(resp.headers)
            now = self.clock.now()
            if resp.status_code != 304:
                self.budget.observe(now=now, remaining=rh.remaining, limit=rh.limit, reset=rh.reset, server_now=rh.date)
            try:
                classify_http(resp, rh)
                return check(resp, rh)
            except RateLimited as exc:
                limited += 1
                if limited > self.retry.max_rate_limit_waits:
                    raise RepoError(f"still rate limited after {limited - 1} waits: {exc.message}") from None
                wait = limit_wait(exc.headers, now=now, attempt=limited - 1)
                await self._hold(wait, stats, exc.message)
            except (RepoError, TransientError) as exc:
                exc.message = mask(exc.message, self.token)
                if exc.request_id and isinstance(exc, RepoError):
                    log.warning("%s: %s (request id %s)", stats.repo, exc.message, exc.request_id)
                raise

    async def _request(
        self,
        method: str,
        url: str,
        stats: RepoStats,
        body: Callable[[], Json] | None,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        cost: int,
    ) -> httpx.Response:
        async with self._semaphore():
            if self.unreachable is not None:
                raise Unreachable(self.unreachable.message)
            # the budget is checked and reserved only by requests about to go out
            await self._ready(cost, stats)
            self.budget.reserved += cost
            stats.requests += 1
            try:
                payload = body() if body else None
                async with asyncio.timeout(self.timeouts.deadline):
                    resp = await self.client.request(method, url, json=payload, params=params, headers=headers)
            except (TimeoutError, httpx.TimeoutException) as exc:
                connect = isinstance(exc, httpx.ConnectTimeout)
                if not self.answered:
                    t = self.timeouts
                    raise self._unreachable(
                        f"no connection within {t.connect:g}s"
                        if connect
                        else f"no answer within {t.deadline:g}s (the connection was accepted)"
                    ) from None
                raise TransientError(f"timed out ({type(exc).__name__})", shrink=not connect) from None
            except (httpx.ConnectError, httpx.UnsupportedProtocol) as exc:
                raise self._unreachable(mask(_cause(exc), self.token)) from None
            except httpx.TransportError as exc:
                raise TransientError(mask(f"connection error: {type(exc).__name__}: {exc}", self.token)) from None
            finally:
                self.budget.reserved -= cost
            self.answered = True
            return resp
