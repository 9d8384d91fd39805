"""The REST transport (no token: 60 requests/hour): the same rows as GraphQL.

The list endpoint (``/repos/{o}/{r}/pulls?state=all&sort=updated&
direction=desc``) gives a page of PRs; it lacks sizes and merged_by, so each
PR also needs ``/pulls/{n}``, ``/pulls/{n}/reviews``, ``/pulls/{n}/commits``
and ``/pulls/{n}/files``, each paged by the ``link`` header. Answers are
mapped into the ``gh_raw_pull_requests`` shape; what REST cannot say is null
(``closingIssuesReferences``, per-commit additions/deletions). The probe sends
the last ``etag`` as ``If-None-Match``: a 304 costs nothing. A 403 (not a
rate limit) on one PR's reviews, commits or files is asked once more; if
GitHub still refuses, that list is null and named in ``withheld_fields``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin

import httpx

from stages.fetch.errors import Forbidden, TransientError
from stages.fetch.ratelimit import RateHeaders, parse_headers
from stages.fetch.source import Json, Page, PageSizer, Probe, Row, gather_strict
from stages.fetch.summary import RepoStats
from stages.fetch.transport import Transport

log = logging.getLogger(__name__)

PER_PAGE_LIST = 30
PER_PAGE_NESTED = 100
QUERY_VERSION = "rest-1"
CHANGE_TYPES = {
    "added": "ADDED",
    "removed": "DELETED",
    "modified": "MODIFIED",
    "renamed": "RENAMED",
    "copied": "COPIED",
    "changed": "CHANGED",
    "unchanged": "CHANGED",
}


def next_link(link: str | None) -> str | None:
    """The ``rel="next"`` URL of a ``link`` header, if any."""
    for part in (link or "").split(","):
        if 'rel="next"' in part:
            url = part.split(";")[0].strip()
            return url[1:-1] if url.startswith("<") else url
    return None


def _user(u: Json | None) -> Json | None:
    return None if not u else {"login": u.get("login"), "databaseId": u.get("id")}


def _review(r: Json) -> Json:
    return {
        "databaseId": r.get("id"),
        "author": _user(r.get("user")),
        "state": r.get("state"),
        "submittedAt": r.get("submitted_at"),
        "body": r.get("body"),
    }


def _commit(c: Json) -> Json:
    commit = c.get("commit") or {}
    return {
        "oid": c.get("sha"),
        "message": commit.get("message"),
        "authoredDate": (commit.get("author") or {}).get("date"),
        "committedDate": (commit.get("committer") or {}).get("date"),
        "additions": None,
        "deletions": None,
        "author": _user(c.get("author")),
    }


def _file(f: Json) -> Json:
    return {
        "path": f.get("filename"),
        "additions": f.get("additions"),
        "deletions": f.get("deletions"),
        "changeType": CHANGE_TYPES.get(str(f.get("status")), "CHANGED"),
    }


def map_rest(
    repo: str, pr: Json, reviews: list[Json] | None, commits: list[Json] | None, files: list[Json] | None
) -> Row:
    """A REST pull request (detail) and its lists as a gh_raw_pull_requests row (a list GitHub withheld: None)."""
    ms = pr.get("milestone")
    state = "MERGED" if pr.get("merged_at") else str(pr.get("state", "")).upper()
    withheld = [name for name, items in (("commits", commits), ("files", files), ("reviews", reviews)) if items is None]
    return {
        "repo": repo,
        "number": pr["number"],
        "id": pr["node_id"],
        "title": pr.get("title"),
        "body": pr.get("body"),
        "state": state,
        "isDraft": pr.get("draft"),
        "createdAt": pr["created_at"],
        "updatedAt": pr["updated_at"],
        "mergedAt": pr.get("merged_at"),
        "closedAt": pr.get("closed_at"),
        "additions": pr.get("additions"),
        "deletions": pr.get("deletions"),
        "changedFiles": pr.get("changed_files"),
        "author": _user(pr.get("user")),
        "mergedBy": _user(pr.get("merged_by")),
        "headRefName": (pr.get("head") or {}).get("ref"),
        "baseRefName": (pr.get("base") or {}).get("ref"),
        "labels": [{"name": x.get("name"), "color": x.get("color")} for x in pr.get("labels") or []],
        "milestone": None
        if not ms
        else {"title": ms.get("title"), "number": ms.get("number"), "dueOn": ms.get("due_on")},
        "assignees": [_user(a) for a in pr.get("assignees") or []],
        "closingIssuesReferences": None,
        "reviews": None if reviews is None else [_review(r) for r in reviews],
        "reviewsTotalCount": None if reviews is None else len(reviews),
        "commits": None if commits is None else [_commit(c) for c in commits],
        "commitsTotalCount": pr.get("commits"),
        "files": None if files is None else [_file(f) for f in files],
        "filesTotalCount": pr.get("changed_files"),
        "commentsTotalCount": pr.get("comments"),
        "withheld_fields": withheld or None,
    }


Answer = tuple[Any, httpx.Response]  # the JSON body (None for a 304) and the response


def _check(stats: RepoStats) -> Callable[[httpx.Response, RateHeaders], Answer]:
    def check(resp: httpx.Response, rh: RateHeaders) -> Answer:
        if resp.status_code == 304:
            stats.not_modified += 1
            return None, resp
        stats.points += 1
        try:
            return resp.json(), resp
        except ValueError:
            raise TransientError(
                "REST answer is not JSON", request_id=resp.headers.get("x-github-request-id")
            ) from None

    return check


class RestSource:
    """Pages of a repository's PRs over REST (works without a token)."""

    name = "rest"

    def __init__(self, transport: Transport, per_page: int = PER_PAGE_LIST) -> None:
        self.t = transport
        self.per_page = per_page

    def _url(self, path: str) -> str:
        return urljoin(self.t.api_url + "/", path.lstrip("/"))

    async def _get(
        self,
        url: str,
        stats: RepoStats,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        return await self.t.send("GET", url, stats=stats, check=_check(stats), params=params, headers=headers)

    async def _all(self, url: str, stats: RepoStats) -> list[Json]:
        items: list[Json] = []
        next_url: str | None = url
        params: dict[str, Any] | None = {"per_page": PER_PAGE_NESTED}
        while next_url:
            body, resp = await self._get(next_url, stats, params=params)
            items.extend(body or [])
            next_url, params = next_link(resp.headers.get("link")), None
        return items

    async def probe(self, repo: str, stats: RepoStats, *, etag: str | None = None) -> Probe:
        params = {"state": "all", "sort": "updated", "direction": "desc", "per_page": 1}
        headers = {"If-None-Match": etag} if etag else None
        body, resp = await self._get(self._url(f"/repos/{repo}/pulls"), stats, params=params, headers=headers)
        date = _date(resp)
        if resp.status_code == 304:
            return Probe(newest_updated=None, server_time=date, not_modified=True, etag=etag)
        newest = body[0]["updated_at"] if body else None
        return Probe(newest_updated=newest, server_time=date, etag=resp.headers.get("etag"))

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
        if cursor:
            url, params = cursor, None
        else:
            url = self._url(f"/repos/{repo}/pulls")
            params = {"state": "all", "sort": "updated", "direction": "desc", "per_page": self.per_page}
        body, resp = await self._get(url, stats, params=params)
        listed = [p for p in body or [] if not (skip_older and p["updated_at"] < skip_older)]
        rows = await gather_strict(*(self._one(repo, p["number"], stats) for p in listed))
        nxt = next_link(resp.headers.get("link"))
        return Page(
            rows=list(rows),
            end_cursor=nxt,
            has_next=nxt is not None,
            server_time=_date(resp),
            oldest=min((p["updated_at"] for p in body or []), default=None),
        )

    async def _one(self, repo: str, number: int, stats: RepoStats) -> Row:
        base = f"/repos/{repo}/pulls/{number}"
        stats.nested_requests += 4
        detail, _ = await self._get(self._url(base), stats)
        reviews, commits, files = await gather_strict(
            self._unless_withheld(self._url(base + "/reviews"), stats),
            self._unless_withheld(self._url(base + "/commits"), stats),
            self._unless_withheld(self._url(base + "/files"), stats),
        )
        return map_rest(repo, detail, reviews, commits, files)

    async def _unless_withheld(self, url: str, stats: RepoStats) -> list[Json] | None:
        """A PR's list (:meth:`_all`), asked once more after a 403; None when GitHub refuses it twice."""
        try:
            return await self._all(url, stats)
        except Forbidden as exc:
            log.info("%s: %s; asking once more", url, exc.message)
        try:
            return await self._all(url, stats)
        except Forbidden:
            return None


def _date(resp: httpx.Response) -> float | None:
    return parse_headers(resp.headers).date
