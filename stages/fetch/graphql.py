"""The GraphQL transport: pages of PR nodes with every nested list complete.

Queries live in ``queries/*.graphql``. ``PullRequestsPage`` asks for
``$first`` PRs ordered by ``UPDATED_AT DESC`` with the first page of each
nested list and its ``totalCount``; any list with more (``hasNextPage``) is
paged to completion with ``<list>_page.graphql`` (100 per request), never
cut. Every query also asks ``rateLimit``, so the budget is read on every page.

:func:`check_graphql` classifies a 200 answer's ``errors``: RATE_LIMITED /
RATE_LIMIT -> wait; secondary-limit message -> wait; "Something went wrong"
(a server timeout) -> retry with a smaller page; NOT_FOUND on the repository,
validation errors, missing scopes -> the repo's error; null PR nodes (partial
data) -> retry, and after the last attempt keep what came back and say so.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import httpx

from stages.fetch.errors import PartialData, RateLimited, RepoError, TransientError
from stages.fetch.ratelimit import RateHeaders
from stages.fetch.source import Json, Page, PageSizer, Probe, Row, gather_strict, split_repo
from stages.fetch.summary import RepoStats
from stages.fetch.transport import Transport

log = logging.getLogger(__name__)

QUERY_DIR = Path(__file__).parent / "queries"
# nested list -> (query file, operation name)
NESTED: dict[str, tuple[str, str]] = {
    "labels": ("labels_page.graphql", "LabelsPage"),
    "assignees": ("assignees_page.graphql", "AssigneesPage"),
    "closingIssuesReferences": ("closing_issues_page.graphql", "ClosingIssuesReferencesPage"),
    "reviews": ("reviews_page.graphql", "ReviewsPage"),
    "commits": ("commits_page.graphql", "CommitsPage"),
    "files": ("files_page.graphql", "FilesPage"),
}
NESTED_FIRST = 100
# first: of each nested list inside PullRequestsPage (for the cost estimate)
_NESTED_IN_PAGE = 6


@functools.cache
def query(name: str) -> str:
    """The text of ``queries/<name>``."""
    return (QUERY_DIR / name).read_text(encoding="utf-8")


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
_FATAL_TYPES = {
    "INSUFFICIENT_SCOPES",
    "FORBIDDEN",
    "MAX_NODE_LIMIT_EXCEEDED",
    "MISSING_PAGINATION_BOUNDARIES",
    "EXCESSIVE_PAGINATION",
}


def _etype(err: Json) -> str:
    ext = err.get("extensions") or {}
    return str(err.get("type") or ext.get("type") or err.get("code") or ext.get("code") or "")


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
    for err in errors:
        etype, msg = _etype(err), str(err.get("message", ""))
        if "something went wrong" in msg.lower():
            raise TransientError(f"GitHub timed out: {msg[:120]}", shrink=True, request_id=rid)
        path = err.get("path") or []
        if etype == "NOT_FOUND" and path[:1] == ["repository"] and len(path) == 1:
            raise RepoError(f"repository not found: {msg}", request_id=rid)
        if etype in _FATAL_TYPES:
            raise RepoError(f"GitHub refused the query ({etype}): {msg}", request_id=rid)
    if data is None:  # validation errors and the like: no data at all
        msgs = "; ".join(str(e.get("message", "")) for e in errors[:3])
        raise RepoError(f"GitHub refused the query: {msgs}", request_id=rid)
    msgs = "; ".join(str(e.get("message", "")) for e in errors[:2])
    raise PartialData(f"partial data ({len(errors)} error(s): {msgs[:160]})", payload=payload, request_id=rid)


# -- mapping nodes to rows -----------------------------------------------------


def _user(u: Json | None) -> Json | None:
    if not u:
        return None
    return {"login": u.get("login"), "databaseId": u.get("databaseId")}


def _nodes(conn: Json | None) -> list[Json]:
    return [n for n in (conn or {}).get("nodes") or [] if n is not None]


def _commit(n: Json) -> Json:
    c = n.get("commit") or {}
    return {
        "oid": c.get("oid"),
        "message": c.get("message"),
        "authoredDate": c.get("authoredDate"),
        "committedDate": c.get("committedDate"),
        "additions": c.get("additions"),
        "deletions": c.get("deletions"),
        "author": _user((c.get("author") or {}).get("user")),
    }


Lists = dict[str, list[Json | None] | None]  # nested list name -> its items (None: GitHub sent null)

_ITEM: dict[str, Callable[[Json], Json | None]] = {
    "labels": lambda n: {"name": n.get("name"), "color": n.get("color")},
    "assignees": _user,
    "closingIssuesReferences": lambda n: {"number": n.get("number"), "title": n.get("title")},
    "reviews": lambda n: {
        "databaseId": n.get("databaseId"),
        "author": _user(n.get("author")),
        "state": n.get("state"),
        "submittedAt": n.get("submittedAt"),
        "body": n.get("body"),
    },
    "commits": _commit,
    "files": lambda n: {
        "path": n.get("path"),
        "additions": n.get("additions"),
        "deletions": n.get("deletions"),
        "changeType": n.get("changeType"),
    },
}


def map_pr(repo: str, node: Json, lists: Lists) -> Row:
    """A PullRequest node (with its completed nested lists) as a gh_raw_pull_requests row."""
    ms = node.get("milestone")

    def total(name: str) -> int | None:
        conn = node.get(name)
        return None if conn is None else conn.get("totalCount")

    return {
        "repo": repo,
        "number": node["number"],
        "id": node["id"],
        "title": node.get("title"),
        "body": node.get("body"),
        "state": node["state"],
        "isDraft": node.get("isDraft"),
        "createdAt": node["createdAt"],
        "updatedAt": node["updatedAt"],
        "mergedAt": node.get("mergedAt"),
        "closedAt": node.get("closedAt"),
        "additions": node.get("additions"),
        "deletions": node.get("deletions"),
        "changedFiles": node.get("changedFiles"),
        "author": _user(node.get("author")),
        "mergedBy": _user(node.get("mergedBy")),
        "headRefName": node.get("headRefName"),
        "baseRefName": node.get("baseRefName"),
        "labels": lists["labels"],
        "milestone": None
        if ms is None
        else {"title": ms.get("title"), "number": ms.get("number"), "dueOn": ms.get("dueOn")},
        "assignees": lists["assignees"],
        "closingIssuesReferences": lists["closingIssuesReferences"],
        "reviews": lists["reviews"],
        "reviewsTotalCount": total("reviews"),
        "commits": lists["commits"],
        "commitsTotalCount": total("commits"),
        "files": lists["files"],
        "filesTotalCount": total("files"),
        "commentsTotalCount": total("comments"),
    }


def _has_more(node: Json) -> bool:
    return any(((node.get(f) or {}).get("pageInfo") or {}).get("hasNextPage") for f in NESTED)


def _first_pages(node: Json) -> Lists:
    return {f: None if node.get(f) is None else [_ITEM[f](n) for n in _nodes(node.get(f))] for f in NESTED}


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
        nodes = _nodes(conn)
        return Probe(newest_updated=nodes[0]["updatedAt"] if nodes else None, server_time=rh.date)

    async def page(
        self, repo: str, cursor: str | None, stats: RepoStats, sizer: PageSizer, *, skip_older: str | None = None
    ) -> Page:
        owner, name = split_repo(repo)

        def variables() -> Json:
            return {"owner": owner, "name": name, "first": sizer.size, "after": cursor}

        def on_transient(exc: TransientError) -> None:
            if exc.shrink:
                sizer.shrink()
                log.info("%s: page size now %d", repo, sizer.size)

        warnings: list[str] = []
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
            payload, rh = exc.payload, RateHeaders()
            warnings.append(exc.message)
        sizer.success()
        repo_node = (payload.get("data") or {}).get("repository")
        if repo_node is None:
            raise RepoError(f"repository {repo} not found or not visible to this token")
        conn = repo_node["pullRequests"]
        raw_nodes = conn.get("nodes") or []
        keep = [n for n in raw_nodes if n is not None and not (skip_older and n["updatedAt"] < skip_older)]
        # nested lists that need more pages are fetched concurrently; the rest are mapped at once
        longer = [n for n in keep if _has_more(n)]
        paged = dict(
            zip((n["number"] for n in longer), await gather_strict(*(self._complete(repo, n, stats) for n in longer)))
        )
        rows = [map_pr(repo, n, paged.get(n["number"]) or _first_pages(n)) for n in keep]
        info = conn.get("pageInfo") or {}
        nulls = sum(1 for n in raw_nodes if n is None)
        if nulls:
            warnings.append(f"{nulls} PR node(s) came back null; the next run fetches them again")
        return Page(
            rows=rows,
            end_cursor=info.get("endCursor"),
            has_next=bool(info.get("hasNextPage")),
            total_count=conn.get("totalCount"),
            server_time=rh.date,
            oldest=min((n["updatedAt"] for n in raw_nodes if n is not None), default=None),
            null_nodes=nulls,
            warnings=warnings,
        )

    async def _complete(self, repo: str, node: Json, stats: RepoStats) -> Lists:
        """Every nested list of ``node``, paged to its totalCount."""
        owner, name = split_repo(repo)
        out: Lists = {}
        for field, (qfile, op) in NESTED.items():
            conn = node.get(field)
            if conn is None:
                out[field] = None
                continue
            items = [_ITEM[field](n) for n in _nodes(conn)]
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
                pr = ((payload.get("data") or {}).get("repository") or {}).get("pullRequest")
                sub = (pr or {}).get(field)
                if sub is None:
                    break
                items.extend(_ITEM[field](n) for n in _nodes(sub))
                info = sub.get("pageInfo") or {}
                after = info.get("endCursor")
            total = conn.get("totalCount")
            if total is not None and len(items) != total:
                log.warning("%s#%s: %s has %d of %d items", repo, node["number"], field, len(items), total)
            out[field] = items
        return out
