"""The fake GitHub: a real HTTP server on 127.0.0.1 serving GraphQL and REST.

:class:`FakeGitHub` holds the dataset, the clock, the rate-limit budgets and
the injected faults; :meth:`FakeGitHub.handle` turns one request into one
answer (usable without sockets), and :meth:`FakeGitHub.start` serves it from
a threading HTTP/1.1 server on an ephemeral port. Every answer carries
GitHub's headers: ``x-ratelimit-limit/remaining/used/reset/resource``,
``x-github-request-id`` and a ``Date`` from the (controllable) clock.

Budgets: GraphQL 5,000 points/hour per user (all of a user's tokens share
it), REST 5,000 requests/hour per user or 60 per IP without a token; windows
start at a user's first request and reset an hour later on the fake clock.
Secondary limits: more than ``max_concurrent`` requests at once, or more than
``secondary_points_per_minute`` GraphQL points in a clock minute.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fake_github import gql
from tests.fake_github.clock import FakeClock
from tests.fake_github.dataset import Dataset
from tests.fake_github.faults import (
    FORBIDDEN_MESSAGE,
    HTML_502,
    SCOPES_MESSAGE,
    SECONDARY_MESSAGE,
    TIMEOUT_MESSAGE,
    Fault,
)

DOCS = "https://docs.github.com/graphql"
HOUR = 3600.0


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay: float = 0.0


@dataclass
class Window:
    limit: int
    used: int = 0
    reset: float = 0.0


@dataclass
class Record:
    """One request as the fake saw it (tests read these)."""

    api: str
    op: str | None
    repo: str | None
    cursor: str | None
    first: int | None
    status: int = 0
    cost: int = 0
    time: float = 0.0
    fault: str | None = None


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Answer:
    return Answer(
        status, json.dumps(payload).encode(), {"content-type": "application/json; charset=utf-8", **(headers or {})}
    )


class FakeGitHub:
    """A faithful fake of api.github.com for tests and for trying `demoseed fetch` by hand."""

    def __init__(
        self,
        repos: dict[str, int] | None = None,
        *,
        seed: int = 7,
        clock: Any = None,
        latency: float = 0.0,
        tokens: dict[str, int] | None = None,
        graphql_limit: int = 5000,
        rest_limit: int = 5000,
        rest_anon_limit: int = 60,
        secondary_points_per_minute: int = 2000,
        max_concurrent: int = 100,
        rate_limit_style: str = "RATE_LIMITED",
        long_lists: bool = True,
        memoize: bool = False,
        jsonl: Sequence[str | Path] = (),
        synthetic_reviews: bool = False,
    ) -> None:
        self.clock = clock or FakeClock()
        self.dataset = Dataset(
            repos if repos is not None else ({} if jsonl else {"acme/widgets": 60}),
            seed=seed,
            start=self.clock.now(),
            long_lists=long_lists,
        )
        if jsonl:  # real PR metadata (tests.fake_github.jsonl), next to any generated repos
            from tests.fake_github.jsonl import load_jsonl

            load_jsonl(self.dataset, jsonl, synthetic_reviews=synthetic_reviews)
        self.latency = latency
        self.tokens = tokens if tokens is not None else {"test-token": 1}
        self.limits = {"graphql": graphql_limit, "core": rest_limit, "anon": rest_anon_limit}
        self.secondary_points_per_minute = secondary_points_per_minute
        self.max_concurrent = max_concurrent
        self.rate_limit_style = rate_limit_style
        # memoize: answer a repeated GraphQL request (same body, user, data) from the kept JSON,
        # skipping graphql-core's execution but still charged like any request (graphql_api.Memo)
        self.memoize = memoize
        self._memo: dict[tuple, Any] = {}
        self.faults: list[Fault] = []
        self.log: list[Record] = []
        self.hooks: list[Callable[[Record], None]] = []
        self._windows: dict[tuple[str, str], Window] = {}
        self._minute: dict[tuple[str, int], int] = {}
        self._lock = threading.RLock()
        self._active = 0
        self._rid = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control -------------------------------------------------------------

    def inject(self, kind: str, **kw: Any) -> Fault:
        """Add a fault (see :mod:`tests.fake_github.faults`); returns it (``.fired`` counts)."""
        params = kw.pop("params", {})
        fault = Fault(kind, params=params, **kw)
        with self._lock:
            self.faults.append(fault)
        return fault

    def window(self, user: str, resource: str = "graphql") -> Window:
        """The budget window of ``user`` (``anon`` for REST without a token)."""
        with self._lock:
            return self._get_window(user, resource)

    def exhaust(self, user: str = "1", resource: str = "graphql", reset_in: float = 1800.0) -> None:
        """Spend the budget now; it resets ``reset_in`` seconds later."""
        with self._lock:
            w = self._get_window(user, resource)
            w.used, w.reset = w.limit, self.clock.now() + reset_in

    def pages(self, repo: str | None = None, op: str = "PullRequestsPage") -> list[Record]:
        return [r for r in self.log if r.op == op and (repo is None or (r.repo or "").lower() == repo.lower())]

    # -- serving -------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def bind(self, host: str = "127.0.0.1", port: int = 0) -> FakeGitHub:
        """Listen on ``host:port`` (0: a free port) without serving yet."""
        fake = self
        gql.schema()  # build it now, not inside the first request

        from tests.fake_github.httpd import Handler, Server

        class _Bound(Handler):
            server_fake = fake

        self._server = Server((host, port), _Bound)
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread (a pre-forked worker of the command-line fake)."""
        assert self._server is not None, "bind() first"
        self._server.serve_forever()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeGitHub:
        """Listen and serve from a background thread."""
        self.bind(host, port)
        self._thread = threading.Thread(target=self.serve_forever, name="fake-github", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGitHub:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one request -----------------------------------------------------------

    def _next_rid(self) -> str:
        with self._lock:
            self._rid += 1
            return f"F4KE:{self._rid:06X}"

    def _get_window(self, user: str, resource: str) -> Window:
        key = (user, resource)
        now = self.clock.now()
        limit = self.limits["anon"] if user == "anon" else self.limits[resource]
        w = self._windows.get(key)
        if w is None or now >= w.reset:
            w = Window(limit=limit, used=0, reset=float(int(now + HOUR)))
            self._windows[key] = w
        return w

    def _rate_headers(self, w: Window, resource: str, rid: str) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(w.limit),
            "x-ratelimit-remaining": str(max(0, w.limit - w.used)),
            "x-ratelimit-used": str(w.used),
            "x-ratelimit-reset": str(int(w.reset)),
            "x-ratelimit-resource": resource,
            "x-github-request-id": rid,
        }

    def _user(self, headers: dict[str, str]) -> tuple[str | None, bool]:
        """(user id, token given) from the Authorization header; (None, True) for a bad token."""
        auth = headers.get("authorization", "")
        if not auth:
            return None, False
        scheme, _, token = auth.partition(" ")
        uid = self.tokens.get(token.strip()) if scheme.lower() in ("bearer", "token") else None
        return (str(uid) if uid is not None else None), True

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        headers = {k.lower(): v for k, v in headers.items()}
        parts = urlsplit(target)
        path = parts.path.rstrip("/")
        rid = self._next_rid()
        with self._lock:
            self._active += 1
            crowded = self._active > self.max_concurrent
        try:
            if path.endswith("/graphql") and method == "POST":
                from tests.fake_github.graphql_api import handle_graphql

                ans = handle_graphql(self, headers, body, rid, crowded)
            elif method == "GET":
                from tests.fake_github.rest import handle_rest

                ans = handle_rest(self, path, parse_qs(parts.query), headers, rid, crowded)
            else:
                ans = _json(404, {"message": "Not Found", "documentation_url": DOCS})
        finally:
            with self._lock:
                self._active -= 1
        ans.headers.setdefault("x-github-request-id", rid)
        ans.headers["date"] = formatdate(self.clock.now(), usegmt=True)
        ans.headers["server"] = "GitHub.com"
        return ans

    def _fault(self, api: str, op: str | None, repo: str | None, number: int | None = None) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.take(api, op, repo, number):
                    return f
        return None

    def record(self, rec: Record) -> None:
        with self._lock:
            self.log.append(rec)
        for hook in list(self.hooks):
            hook(rec)

    def fault_answer(
        self, fault: Fault, api: str, rid: str, w: Window, resource: str, repo: str | None
    ) -> Answer | None:
        """The answer a fault gives instead of the real one (None: serve normally)."""
        rate = self._rate_headers(w, resource, rid)
        k = fault.kind
        if k in ("502_json", "504_json", "500_json"):
            return _json(int(k[:3]), {"message": TIMEOUT_MESSAGE.format(rid=rid), "documentation_url": DOCS}, rate)
        if k == "502_html":
            return Answer(502, HTML_502.encode(), {"content-type": "text/html; charset=utf-8"})
        if k == "went_wrong":
            return _json(200, {"data": None, "errors": [{"message": TIMEOUT_MESSAGE.format(rid=rid)}]}, rate)
        if k == "drop":
            return Answer(0, drop=True)
        if k == "slow":
            return Answer(-1, delay=float(fault.params.get("seconds", 1.0)))
        if k == "scopes":
            return _json(
                200, {"data": None, "errors": [{"type": "INSUFFICIENT_SCOPES", "message": SCOPES_MESSAGE}]}, rate
            )
        if k == "forbidden" and api == "rest":
            return _json(403, {"message": FORBIDDEN_MESSAGE, "documentation_url": DOCS, "status": "403"}, rate)
        if k == "bad_json":
            return _json(400, {"message": "Problems parsing JSON", "documentation_url": DOCS}, rate)
        if k == "secondary":
            status = int(fault.params.get("status", 403))
            extra = dict(rate)
            if fault.params.get("retry_after") is not None:
                extra["retry-after"] = str(fault.params["retry_after"])
            msg = SECONDARY_MESSAGE.format(rid=rid)
            if status == 200:
                return _json(200, {"errors": [{"message": msg}]}, extra)
            return _json(status, {"message": msg, "documentation_url": DOCS}, extra)
        if k == "primary":
            with self._lock:
                w.used = w.limit
            rate = self._rate_headers(w, resource, rid)
            if api == "graphql":
                return self._rate_limited(rate, "1")
            return _json(403, {"message": "API rate limit exceeded for user ID 1.", "documentation_url": DOCS}, rate)
        if k == "edit" and repo:
            number = int(fault.params["number"])
            self.dataset.edit(fault.params.get("repo", repo), number, self.clock.now())
        return None

    def _rate_limited(self, rate: dict[str, str], user: str) -> Answer:
        if self.rate_limit_style == "RATE_LIMIT":
            err = {
                "type": "RATE_LIMIT",
                "code": "graphql_rate_limit",
                "message": f"API rate limit already exceeded for user ID {user}.",
            }
        else:
            err = {"type": "RATE_LIMITED", "message": f"API rate limit exceeded for user ID {user}."}
        return _json(200, {"errors": [err]}, rate)
