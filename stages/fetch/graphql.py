"""The GraphQL transport: pages of PR nodes with every nested list complete.

Queries live in ``queries/*.graphql``. ``PullRequestsPage`` asks for
``$first`` PRs ordered by ``UPDATED_AT DESC`` with the first page of each
nested list and its ``totalCount``; any list with more (``hasNextPage``) is
paged to completion with ``<list>_page.graphql`` (100 per request), never
cut. Every query also asks ``rateLimit``, so the budget is read on every page.

:func:`check_graphql` classifies a 200 answer's ``errors``: RATE_LIMITED /
RATE_LIMIT -> wait; secondary-limit message -> wait; "Something went wrong"
(a server timeout) -> retry with a smaller page; FORBIDDEN or NOT_FOUND on
the repository itself, validation errors, missing scopes, no data at all ->
the repo's error; other errors with data -> retry, and after the last attempt
keep what came back and say so. An error that nulled a whole PR node (a
non-null field of it failed, whatever the type: GitHub then cannot even say
the PR's number) is the caller's: the answer is returned with the node null
and :class:`Page` counts it; the run asks the page again at once and records
what stays null as a gap (:mod:`stages.fetch.run`).

FORBIDDEN or NOT_FOUND *inside* a PR node (a linked issue in a private repo,
a field the token may not see: that part is null, the rest of the page is
there) is not the repo's error: the page is kept, the PR is asked once more
alone (``pull_request.graphql``), and what is still withheld is recorded in
the row's ``withheld_fields`` (:func:`withheld_paths`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from stages.fetch.errors import PartialData, RateLimited, RepoError, TransientError
from stages.fetch.nodes import ITEM, NESTED, Lists, first_pages, has_more, map_pr, nodes_of
from stages.fetch.ratelimit import RateHeaders
from stages.fetch.source import Json, Page, PageSizer, Probe, Row, gather_strict, split_repo
from stages.fetch.summary import RepoStats
from stages.fetch.transport import Transport

log = logging.getLogger(__name__)

QUERY_DIR = Path(__file__).parent / "queries"
FRAGMENTS = "fragments.graphql"  # appended to the queries that use them
NESTED_FIRST = 100
# first: of each nested list inside PullRequestsPage (for the cost estimate)
_NESTED_IN_PAGE = 6


@functools.cache
def query(name: str) -> str:
    """The text of ``queries/<name>``, with the fragments it uses."""
    text = (QUERY_DIR / name).read_text(encoding="utf-8")
    return text + "\n" + query(FRAGMENTS) if "...PullRequestFields" in text else text


@functools.cache
def query_version() -> str:
    """A hash of every query file: a change means cached rows may lack fields -> full rescan."""
    h = hashlib.sha256()
    for path in sorted(QUERY_DIR.glob("*.graphql")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return "graphql-" + h.hexdigest()[:12]


def estimate_cost(first: int, nested: int = _NESTED_IN_PAGE) -> int:
    """GitHub's cost of a page: (1 + first x nested connections) requests / 100, at least 1."""
    return max(1, round((1 + first * nested) / 100))


# -- classifying answers -------------------------------------------------------

_RATE_TYPES = {"RATE_LIMITED", "RATE_LIMIT"}
_REFUSED_TYPES = {"FORBIDDEN", "NOT_FOUND"}  # the repo's error on the repository, withheld inside a PR
_FATAL_TYPES = {
    "INSUFFICIENT_SCOPES",
    "MAX_NODE_LIMIT_EXCEEDED",
    "MISSING_PAGINATION_BOUNDARIES",
    "EXCESSIVE_PAGINATION",
}


def _etype(err: Json) -> str:
    ext = err.get("extensions") or {}
    return str(err.get("type") or ext.get("type") or err.get("code") or ext.get("code") or "")


def _inside_pr(path: list[object]) -> tuple[int | None, list[object]] | None:
    """(node index, path inside the PR) for a path into a field of a PR node; None otherwise.

    ``repository.pullRequests.nodes.3.closingIssuesReferences`` -> (3, [closingIssuesReferences]);
    ``repository.pullRequest.reviews.nodes.0.author`` (a one-PR query) -> (None, [reviews, nodes, 0, author]).
    """
    if path[:3] == ["repository", "pullRequests", "nodes"] and len(path) > 4 and isinstance(path[3], int):
        return path[3], path[4:]
    if path[:2] == ["repository", "pullRequest"] and len(path) > 2:
        return None, path[2:]
    return None


def _withheld(err: Json) -> tuple[int | None, str] | None:
    """(node index, field) when ``err`` withholds part of one PR from the token; None otherwise."""
    if _etype(err) not in _REFUSED_TYPES:
        return None
    inside = _inside_pr(list(err.get("path") or []))
    if inside is None:
        return None
    index, rest = inside
    return index, ".".join(str(p) for p in rest if not isinstance(p, int) and p not in ("nodes", "edges", "node"))


def _null_node(err: Json, nodes: list[Json | None]) -> bool:
    """Whether ``err`` is on a PR node of the page that came back null (the whole node is gone)."""
    path = list(err.get("path") or [])
    if path[:3] != ["repository", "pullRequests", "nodes"] or len(path) < 4 or not isinstance(path[3], int):
        return False
    return path[3] < len(nodes) and nodes[path[3]] is None


def _page_nodes(data: Json | None) -> list[Json | None]:
    conn = ((data or {}).get("repository") or {}).get("pullRequests") or {}
    nodes = conn.get("nodes") if isinstance(conn, dict) else None
    return nodes if isinstance(nodes, list) else []


def withheld_paths(payload: Json) -> dict[int | None, set[str]]:
    """What GitHub withheld, per PR node index (None for a one-PR query): ``closingIssuesReferences``,
    ``reviews.author``... (list indexes dropped)."""
    out: dict[int | None, set[str]] = {}
    for err in payload.get("errors") or []:
        found = _withheld(err)
        if found is not None:
            out.setdefault(found[0], set()).add(found[1])
    return out


def _wanted(
    raw_nodes: list[Json | None],
    held: Mapping[int | None, set[str]],
    skip_older: str | None,
    known: Mapping[int, str] | None,
) -> list[tuple[Json, set[str]]]:
    """The page's nodes to keep, each with the paths GitHub withheld from it: not null, not updated
    before ``skip_older``, not held already at their ``updatedAt``."""
    return [
        (n, held.get(i, set()))
        for i, n in enumerate(raw_nodes)
        if n is not None
        and not (skip_older and n["updatedAt"] < skip_older)
        and not (known and known.get(n["number"]) == n["updatedAt"])
    ]


def check_graphql(resp: httpx.Response, rh: RateHeaders) -> Json:
    """Return the payload of a usable answer, or raise what its errors mean."""
    rid = resp.headers.get("x-github-request-id")
    try:
        payload = resp.json()
    except ValueError:
        raise TransientError("GraphQL answer is not JSON", request_id=rid) from None
    if not isinstance(payload, dict):
        raise TransientError("GraphQL answer is not a JSON object", request_id=rid)
    errors = payload.get("errors") or []
    if not errors:
        return payload
    data = payload.get("data")
    for err in errors:
        etype, msg = _etype(err), str(err.get("message", ""))
        low = msg.lower()
        if etype in _RATE_TYPES or etype == "graphql_rate_limit":
            raise RateLimited(f"GraphQL rate limit: {msg}", kind="primary", headers=rh, request_id=rid)
        if "secondary rate limit" in low:
            raise RateLimited(f"secondary rate limit: {msg}", kind="secondary", headers=rh, request_id=rid)
    nodes = _page_nodes(data)
    others = [e for e in errors if _withheld(e) is None and not _null_node(e, nodes)]
    for err in others:
        etype, msg = _etype(err), str(err.get("message", ""))
        if "something went wrong" in msg.lower():
            raise TransientError(f"GitHub timed out: {msg[:120]}", shrink=True, request_id=rid)
        path = err.get("path") or []
        if etype == "NOT_FOUND" and path == ["repository"]:
            raise RepoError(f"repository not found: {msg}", request_id=rid)
        if etype in _REFUSED_TYPES and len(path) <= 1:
            raise RepoError(f"GitHub refused the repository ({etype}): {msg}", request_id=rid)
        if etype in _FATAL_TYPES:
            raise RepoError(f"GitHub refused the query ({etype}): {msg}", request_id=rid)
    if data is None:  # validation errors and the like: no data at all
        msgs = "; ".join(str(e.get("message", "")) for e in errors[:3])
        raise RepoError(f"GitHub refused the query: {msgs}", request_id=rid)
    if not others:  # only parts of PRs withheld, or whole nodes nulled: the caller handles them
        return payload
    msgs = "; ".join(str(e.get("message", "")) for e in others[:2])
    raise PartialData(f"partial data ({len(others)} error(s): {msgs[:160]})", payload=payload, request_id=rid)


# -- the source ------------------------------------------------------------------


def _fixed(variables: Json) -> Callable[[], Json]:
    """Variables that stay the same on every attempt."""
    return lambda: variables


class GraphQLSource:
    """Pages of a repository's PRs over GraphQL (needs a token)."""

    name = "graphql"

    def __init__(self, transport: Transport) -> None:
        self.t = transport

    def _observe(self, payload: Json, rh: RateHeaders, stats: RepoStats) -> None:
        rate = (payload.get("data") or {}).get("rateLimit")
        if rate:
            stats.points += int(rate.get("cost") or 0)
            self.t.budget.observe_object(rate, now=self.t.clock.now(), server_now=rh.date)

    async def _post(
        self,
        q: str,
        op: str,
        variables: Callable[[], Json],
        stats: RepoStats,
        cost: int,
        on_transient: Callable[[TransientError], None] | None = None,
    ) -> tuple[Json, RateHeaders]:
        """Send a query; ``variables`` is asked again on every attempt (a retry may shrink the page)."""

        def check(resp: httpx.Response, rh: RateHeaders) -> tuple[Json, RateHeaders]:
            try:
                return check_graphql(resp, rh), rh
            except PartialData:
                self._observe(resp.json(), rh, stats)
                raise

        payload, rh = await self.t.send(
            "POST",
            self.t.graphql_url,
            stats=stats,
            check=check,
            json=lambda: {"query": q, "variables": variables(), "operationName": op},
            cost=cost,
            on_transient=on_transient,
        )
        self._observe(payload, rh, stats)
        return payload, rh

    async def probe(self, repo: str, stats: RepoStats, *, etag: str | None = None) -> Probe:
        owner, name = split_repo(repo)
        variables = _fixed({"owner": owner, "name": name})
        payload, rh = await self._post(query("probe.graphql"), "NewestUpdate", variables, stats, 1)
        conn = ((payload.get("data") or {}).get("repository") or {}).get("pullRequests") or {}
        nodes = nodes_of(conn)
        return Probe(newest_updated=nodes[0]["updatedAt"] if nodes else None, server_time=rh.date)

    async def page(
        self,
        repo: str,
        cursor: str | None,
        stats: RepoStats,
        sizer: PageSizer,
        *,
        skip_older: str | None = None,
        known: Mapping[int, str] | None = None,
    ) -> Page:
        """A page of rows; nodes updated before ``skip_older``, or held already at their ``updatedAt``
        (``known``: number -> updatedAt), are left out, their nested lists not asked."""
        payload, rh, warnings = await self._post_page(repo, cursor, stats, sizer)
        asked = sizer.size
        sizer.success()
        repo_node = (payload.get("data") or {}).get("repository")
        if repo_node is None:
            raise RepoError(f"repository {repo} not found or not visible to this token")
        conn = repo_node["pullRequests"]
        raw_nodes = conn.get("nodes") or []
        keep = _wanted(raw_nodes, withheld_paths(payload), skip_older, known)
        rows = await self._rows(repo, keep, stats)
        info = conn.get("pageInfo") or {}
        return Page(
            rows=rows,
            end_cursor=info.get("endCursor"),
            has_next=bool(info.get("hasNextPage")),
            total_count=conn.get("totalCount"),
            server_time=rh.date,
            oldest=min((n["updatedAt"] for n in raw_nodes if n is not None), default=None),
            null_nodes=sum(1 for n in raw_nodes if n is None),
            warnings=warnings,
            asked=asked,
        )

    async def _post_page(
        self, repo: str, cursor: str | None, stats: RepoStats, sizer: PageSizer
    ) -> tuple[Json, RateHeaders, list[str]]:
        """The page's answer at the sizer's size (shrunk on a transient error that asks for it), its
        headers, and a warning when GitHub still answered only in part after every retry."""
        owner, name = split_repo(repo)

        def variables() -> Json:
            return {"owner": owner, "name": name, "first": sizer.size, "after": cursor}

        def on_transient(exc: TransientError) -> None:
            if exc.shrink:
                sizer.shrink()
                log.info("%s: page size now %d", repo, sizer.size)

        try:
            payload, rh = await self._post(
                query("pull_requests.graphql"),
                "PullRequestsPage",
                variables,
                stats,
                estimate_cost(sizer.size),
                on_transient,
            )
        except PartialData as exc:  # still partial after every retry: keep what came back
            return exc.payload, RateHeaders(), [exc.message]
        return payload, rh, []

    async def _rows(self, repo: str, keep: list[tuple[Json, set[str]]], stats: RepoStats) -> list[Row]:
        """The kept nodes as rows: a PR GitHub withheld part of is asked once more, alone (what is still
        withheld is recorded); nested lists that need more pages are fetched concurrently."""
        again = await gather_strict(*(self._refetch(repo, n, w, stats) for n, w in keep if w))
        redone = {n["number"]: (n, w) for n, w in again}
        keep = [redone.get(n["number"], (n, w)) for n, w in keep]
        return await gather_strict(*(self._row(repo, n, w, stats) for n, w in keep))

    async def _refetch(self, repo: str, node: Json, withheld: set[str], stats: RepoStats) -> tuple[Json, set[str]]:
        """``node`` asked once more alone, with what GitHub still withholds (the old node if that fails)."""
        owner, name = split_repo(repo)
        variables = _fixed({"owner": owner, "name": name, "number": node["number"]})
        stats.nested_requests += 1
        try:
            payload, _ = await self._post(query("pull_request.graphql"), "PullRequest", variables, stats, 1)
        except (PartialData, RepoError) as exc:
            log.info("%s#%s: asking again failed (%s); keeping the first answer", repo, node["number"], exc.message)
            return node, withheld
        again = ((payload.get("data") or {}).get("repository") or {}).get("pullRequest")
        if again is None:
            return node, withheld
        return again, withheld_paths(payload).get(None, set())

    async def _row(self, repo: str, node: Json, withheld: set[str], stats: RepoStats) -> Row:
        """The row of ``node``: its nested lists completed (if longer than their first page)."""
        if not has_more(node):
            return map_pr(repo, node, first_pages(node), withheld)
        lists, more = await self._complete(repo, node, stats)
        return map_pr(repo, node, lists, withheld | more)

    async def _complete(self, repo: str, node: Json, stats: RepoStats) -> tuple[Lists, set[str]]:
        """Every nested list of ``node``, paged to its totalCount, and what GitHub withheld on the way."""
        owner, name = split_repo(repo)
        out: Lists = {}
        withheld: set[str] = set()
        for field, (qfile, op) in NESTED.items():
            conn = node.get(field)
            if conn is None:
                out[field] = None
                continue
            items = [ITEM[field](n) for n in nodes_of(conn)]
            info = conn.get("pageInfo") or {}
            after = info.get("endCursor")
            while info.get("hasNextPage") and after:
                variables = {
                    "owner": owner,
                    "name": name,
                    "number": node["number"],
                    "first": NESTED_FIRST,
                    "after": after,
                }
                stats.nested_requests += 1
                payload, _ = await self._post(
                    query(qfile), op, _fixed(variables), stats, estimate_cost(NESTED_FIRST, 1)
                )
                withheld |= withheld_paths(payload).get(None, set())
                pr = ((payload.get("data") or {}).get("repository") or {}).get("pullRequest")
                sub = (pr or {}).get(field)
                if sub is None:
                    break
                items.extend(ITEM[field](n) for n in nodes_of(sub))
                info = sub.get("pageInfo") or {}
                after = info.get("endCursor")
            total = conn.get("totalCount")
            if total is not None and len(items) != total and field not in withheld:
                log.warning("%s#%s: %s has %d of %d items", repo, node["number"], field, len(items), total)
            out[field] = items
        return out, withheld
