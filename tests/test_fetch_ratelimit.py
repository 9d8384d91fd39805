"""GitHub's wait rules and the answer classification, as pure functions."""

from __future__ import annotations

import httpx
import pytest

from stages.fetch.errors import PartialData, RateLimited, RepoError, TransientError
from stages.fetch.graphql import check_graphql, estimate_cost
from stages.fetch.ratelimit import Budget, RateHeaders, limit_wait, parse_headers
from stages.fetch.rest import map_rest, next_link
from stages.fetch.source import PageSizer
from stages.fetch.transport import classify_http

NOW = 1_767_614_400.0  # Mon, 05 Jan 2026 12:00:00 GMT
DATE = "Mon, 05 Jan 2026 12:00:00 GMT"


def test_parse_headers():
    rh = parse_headers(
        httpx.Headers(
            {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "5000",
                "x-ratelimit-reset": str(int(NOW + 600)),
                "x-ratelimit-resource": "graphql",
                "retry-after": "17",
                "date": DATE,
            }
        )
    )
    assert rh == RateHeaders(5000, 0, 5000, NOW + 600, "graphql", 17.0, NOW)


def test_retry_after_comes_first():
    assert limit_wait(RateHeaders(remaining=0, reset=NOW + 900, retry_after=30, date=NOW), now=NOW) == 30


def test_exhausted_waits_until_reset_by_the_servers_date():
    # the local clock is 10 minutes fast: the Date header, not it, measures the wait
    rh = RateHeaders(remaining=0, reset=NOW + 300, date=NOW)
    assert limit_wait(rh, now=NOW + 600) == 301
    assert limit_wait(RateHeaders(remaining=0, reset=NOW + 300), now=NOW + 100) == 201  # no Date: local clock


def test_never_negative():
    assert limit_wait(RateHeaders(remaining=0, reset=NOW - 50, date=NOW), now=NOW) == 0
    assert limit_wait(RateHeaders(retry_after=-5), now=NOW) == 0


def test_otherwise_a_minute_doubling():
    rh = RateHeaders(remaining=12, reset=NOW + 300, date=NOW)
    assert [limit_wait(rh, now=NOW, attempt=a) for a in range(4)] == [60, 120, 240, 480]
    assert limit_wait(RateHeaders(), now=NOW) == 60


def test_budget_pauses_before_a_query_would_exceed_it():
    b = Budget()
    b.observe(now=NOW, remaining=5, limit=5000, reset=NOW + 1000, server_now=NOW - 20)  # server 20 s behind
    assert b.wait_before(5, NOW) == 0
    assert b.wait_before(6, NOW) == pytest.approx(1021)  # reset on the local clock is NOW + 1020
    b.reserved = 3
    assert b.wait_before(3, NOW) > 0
    b.reserved = 0
    # answers arrive out of order within a window: the smallest remaining wins
    b.observe(now=NOW, remaining=9, reset=NOW + 1000, server_now=NOW - 20)
    assert b.remaining == 5
    # a new window replaces it
    b.observe(now=NOW + 1100, remaining=4999, reset=NOW + 4600, server_now=NOW + 1080)
    assert b.remaining == 4999 and b.wait_before(100, NOW + 1100) == 0


def test_budget_object_and_pause():
    b = Budget()
    b.observe_object({"remaining": 0, "limit": 5000, "resetAt": "2026-01-05T12:10:00Z"}, now=NOW, server_now=NOW)
    assert b.wait_before(1, NOW) == 601
    assert b.pause(NOW + 60, NOW) == 60
    assert b.pause(NOW + 30, NOW) == 0  # a shorter pause does not shorten or add


def _resp(status: int, body=None, headers=None, text=None) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text, headers={"content-type": "text/html", **(headers or {})})
    return httpx.Response(status, json=body, headers=headers or {})


@pytest.mark.parametrize(
    ("resp", "kind", "shrink"),
    [
        (_resp(502, {"message": "Something went wrong"}), TransientError, True),
        (_resp(504, {"message": "timeout"}), TransientError, True),
        (_resp(500, {"message": "oops"}), TransientError, False),
        (_resp(502, text="<!DOCTYPE html><html>Unicorn</html>"), TransientError, True),
        (_resp(200, text="<html>proxy</html>"), TransientError, False),
        (_resp(401, {"message": "Bad credentials"}), RepoError, None),
        (_resp(404, {"message": "Not Found"}), RepoError, None),
        (_resp(422, {"message": "Validation Failed"}), RepoError, None),
        (_resp(403, {"message": "Resource not accessible by integration"}), RepoError, None),
    ],
)
def test_classify_http(resp, kind, shrink):
    with pytest.raises(kind) as info:
        classify_http(resp, parse_headers(resp.headers))
    if shrink is not None:
        assert info.value.shrink is shrink


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind"),
    [
        (403, {"x-ratelimit-remaining": "0"}, {"message": "API rate limit exceeded"}, "primary"),
        (429, {"retry-after": "10"}, {"message": "slow down"}, "primary"),
        (403, {}, {"message": "You have exceeded a secondary rate limit."}, "secondary"),
        (429, {}, {"message": "You have exceeded a secondary rate limit."}, "secondary"),
    ],
)
def test_classify_http_rate_limits(status, headers, body, kind):
    resp = _resp(status, body, headers)
    with pytest.raises(RateLimited) as info:
        classify_http(resp, parse_headers(resp.headers))
    assert info.value.kind == kind


def _gql(body) -> dict:
    resp = _resp(200, body)
    return check_graphql(resp, parse_headers(resp.headers))


def test_check_graphql():
    assert _gql({"data": {"x": 1}}) == {"data": {"x": 1}}
    with pytest.raises(RateLimited):
        _gql({"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]})
    with pytest.raises(RateLimited):
        _gql({"errors": [{"type": "RATE_LIMIT", "code": "graphql_rate_limit", "message": "exceeded"}]})
    with pytest.raises(RateLimited) as sec:
        _gql({"errors": [{"message": "You have exceeded a secondary rate limit."}]})
    assert sec.value.kind == "secondary"
    with pytest.raises(TransientError) as ww:
        _gql({"data": None, "errors": [{"message": "Something went wrong while executing your query."}]})
    assert ww.value.shrink
    with pytest.raises(RepoError, match="repository not found"):
        _gql(
            {
                "data": {"repository": None},
                "errors": [{"type": "NOT_FOUND", "path": ["repository"], "message": "Could not resolve"}],
            }
        )
    with pytest.raises(RepoError, match="INSUFFICIENT_SCOPES"):
        _gql({"data": {"repository": {}}, "errors": [{"type": "INSUFFICIENT_SCOPES", "message": "needs read:org"}]})
    with pytest.raises(RepoError, match="Field 'x' doesn't exist"):
        _gql(
            {
                "errors": [
                    {"message": "Field 'x' doesn't exist on type 'Query'", "locations": [{"line": 1, "column": 3}]}
                ]
            }
        )
    # a whole node nulled (any error type): the answer is the caller's, who asks the page again
    for etype in ("SERVICE_UNAVAILABLE", "FORBIDDEN"):
        nulled = {
            "data": {"repository": {"pullRequests": {"nodes": [None, {"number": 2}]}}},
            "errors": [
                {"type": etype, "message": "x", "path": ["repository", "pullRequests", "nodes", 0, "assignees"]}
            ],
        }
        assert _gql(nulled) == nulled
    # an error on a node that came back (a nullable field left null): retried as partial data
    with pytest.raises(PartialData) as part:
        _gql(
            {
                "data": {"repository": {"pullRequests": {"nodes": [{"number": 1, "milestone": None}]}}},
                "errors": [{"message": "x", "path": ["repository", "pullRequests", "nodes", 0, "milestone"]}],
            }
        )
    assert part.value.payload["data"]["repository"]["pullRequests"]["nodes"] == [{"number": 1, "milestone": None}]


def test_page_sizer():
    s = PageSizer(25)
    s.shrink()
    s.shrink()
    assert s.size == 6
    for _ in range(10):
        s.shrink()
    assert s.size == 1
    sizes = []
    for _ in range(10):
        s.success()
        sizes.append(s.size)
    assert sizes == [1, 2, 2, 4, 4, 8, 8, 16, 16, 25]


def test_estimate_cost_matches_githubs_rule():
    assert estimate_cost(25) == 2  # (1 + 25 * 6) / 100 = 1.51 -> 2
    assert estimate_cost(1) == 1
    assert estimate_cost(100) == 6


def test_next_link_and_rest_mapping():
    link = '<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"'
    assert next_link(link) == "https://api.github.com/x?page=2"
    assert next_link('<https://api.github.com/x?page=1>; rel="prev"') is None
    pr = {
        "number": 3,
        "node_id": "PR_3",
        "title": "t",
        "body": None,
        "state": "closed",
        "draft": False,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-02T00:00:00Z",
        "merged_at": "2026-01-02T00:00:00Z",
        "closed_at": "2026-01-02T00:00:00Z",
        "additions": 5,
        "deletions": 1,
        "changed_files": 1,
        "user": {"login": "a", "id": 1},
        "merged_by": None,
        "head": {"ref": "f"},
        "base": {"ref": "main"},
        "labels": [],
        "milestone": None,
        "assignees": [],
        "comments": 2,
        "commits": 1,
    }
    row = map_rest(
        "o/r",
        pr,
        [],
        [
            {
                "sha": "abc",
                "commit": {"message": "m", "author": {"date": "d1"}, "committer": {"date": "d2"}},
                "author": None,
            }
        ],
        [{"filename": "a.py", "status": "removed", "additions": 0, "deletions": 3}],
    )
    assert row["state"] == "MERGED" and row["author"] == {"login": "a", "databaseId": 1}
    assert row["commits"] == [
        {
            "oid": "abc",
            "message": "m",
            "authoredDate": "d1",
            "committedDate": "d2",
            "additions": None,
            "deletions": None,
            "author": None,
        }
    ]
    assert row["files"][0]["changeType"] == "DELETED" and row["commentsTotalCount"] == 2
