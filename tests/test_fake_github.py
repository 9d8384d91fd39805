"""The fake GitHub behaves as github-api.md says GitHub does (else the fetch tests prove nothing)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from stages.fetch.graphql import query
from tests.fake_github import FakeGitHub
from tests.fake_github.clock import DEFAULT_START

pytestmark = pytest.mark.slow  # the fake GitHub server's own behaviour

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture(scope="module")
def fake():
    with FakeGitHub({"acme/widgets": 30}) as gh:
        yield gh


@pytest.fixture
def client(fake):
    with httpx.Client(base_url=fake.url, headers=AUTH) as c:
        yield c


def gql(client, text, variables=None, op=None, headers=None):
    return client.post(
        "/graphql", json={"query": text, "variables": variables or {}, "operationName": op}, headers=headers
    )


def page(client, first, after=None):
    r = gql(
        client,
        query("pull_requests.graphql"),
        {"owner": "acme", "name": "widgets", "first": first, "after": after},
        "PullRequestsPage",
    )
    assert r.status_code == 200
    return r


def test_auth_and_body_errors(fake):
    with httpx.Client(base_url=fake.url) as c:
        r = gql(c, "{ viewer { login } }")
        assert (r.status_code, r.json()["message"]) == (401, "This endpoint requires you to be authenticated.")
        r = gql(c, "{ viewer { login } }", headers={"Authorization": "Bearer nope"})
        assert (r.status_code, r.json()["message"]) == (401, "Bad credentials")
        r = c.post("/graphql", content=b"{not json", headers=AUTH)
        assert (r.status_code, r.json()["message"]) == (400, "Problems parsing JSON")


def test_invalid_queries_get_github_shaped_errors(client):
    r = gql(client, '{ repository(owner: "acme", name: "widgets") { nope } }')
    assert r.status_code == 200 and "data" not in r.json()
    assert r.json()["errors"][0]["message"] == "Field 'nope' doesn't exist on type 'Repository'"
    assert r.json()["errors"][0]["extensions"] == {
        "code": "undefinedField",
        "typeName": "Repository",
        "fieldName": "nope",
    }
    r = gql(client, '{ repository(owner: "acme", name: "widgets") { pullRequests { nodes { number } } } }')
    assert r.json()["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    r = gql(client, '{ repository(owner: "acme", name: "widgets") { pullRequests(first: 101) { nodes { number } } } }')
    err = r.json()["errors"][0]
    assert err["type"] == "EXCESSIVE_PAGINATION"
    assert (
        err["message"]
        == "Requesting 101 records on the `pullRequests` connection exceeds the `first` limit of 100 records."
    )
    # totalCount alone needs no first (like GitHub)
    r = gql(client, '{ repository(owner: "acme", name: "widgets") { pullRequests { totalCount } } }')
    assert r.json()["data"]["repository"]["pullRequests"]["totalCount"] == 30
    r = gql(
        client,
        '{ repository(owner: "acme", name: "widgets") { pullRequests(first: 100) { nodes { reviews(first: 100) { nodes { commit { history(first: 100) { nodes { oid } } } } } } } } }',
    )
    assert r.json()["errors"][0]["type"] == "MAX_NODE_LIMIT_EXCEEDED"


def test_not_found_repo(client):
    r = gql(client, query("probe.graphql"), {"owner": "acme", "name": "nope"}, "NewestUpdate")
    body = r.json()
    assert body["data"]["repository"] is None
    assert body["errors"][0]["type"] == "NOT_FOUND" and body["errors"][0]["path"] == ["repository"]
    assert body["errors"][0]["message"] == "Could not resolve to a Repository with the name 'acme/nope'."


def test_cost_rate_limit_object_and_headers(fake, client):
    r = page(client, 25)
    rate = r.json()["data"]["rateLimit"]
    assert rate["cost"] == 2 and rate["nodeCount"] == 25 + 25 * (10 + 10 + 10 + 25 + 25 + 50)
    assert int(r.headers["x-ratelimit-remaining"]) == rate["remaining"] == 5000 - rate["used"]
    assert r.headers["x-ratelimit-resource"] == "graphql"
    assert int(r.headers["x-ratelimit-reset"]) == int(DEFAULT_START + 3600)
    assert rate["resetAt"] == "2026-01-05T13:00:00Z"
    assert r.headers["date"] == "Mon, 05 Jan 2026 12:00:00 GMT"
    assert r.headers["x-github-request-id"].startswith("F4KE:")
    probe = gql(client, query("probe.graphql"), {"owner": "acme", "name": "widgets"}, "NewestUpdate").json()
    assert probe["data"]["rateLimit"]["cost"] == 1


def test_cursors_page_through_everything_in_update_order(fake, client):
    seen, after = [], None
    while True:
        conn = page(client, 7, after).json()["data"]["repository"]["pullRequests"]
        seen += [(n["updatedAt"], n["number"]) for n in conn["nodes"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert len(seen) == 30 and seen == sorted(seen, reverse=True)
    assert base64.b64decode(after).startswith(b"cursor:v2:")


def test_edit_mid_scan_jumps_behind_the_cursor():
    with FakeGitHub({"acme/widgets": 30}) as fake, httpx.Client(base_url=fake.url, headers=AUTH) as c:
        first = page(c, 10).json()["data"]["repository"]["pullRequests"]
        oldest = min(n["number"] for n in first["nodes"]) - 5  # a PR on a later page
        fake.clock.advance(60)
        fake.dataset.edit("acme/widgets", oldest, fake.clock.now())
        rest, after = [], first["pageInfo"]["endCursor"]
        while after:
            conn = page(c, 10, after).json()["data"]["repository"]["pullRequests"]
            rest += [n["number"] for n in conn["nodes"]]
            after = conn["pageInfo"]["endCursor"] if conn["pageInfo"]["hasNextPage"] else None
        assert oldest not in rest  # lost by this scan: it moved to the top
        top = page(c, 1).json()["data"]["repository"]["pullRequests"]["nodes"][0]
        assert top["number"] == oldest and top["updatedAt"] == "2026-01-05T12:01:00Z"


def test_primary_limit_and_reset_on_the_clock():
    with FakeGitHub({"acme/widgets": 5}, graphql_limit=3) as fake, httpx.Client(base_url=fake.url, headers=AUTH) as c:
        assert page(c, 25).json()["data"]["rateLimit"]["remaining"] == 1
        r = page(c, 25)
        assert r.json() == {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]}
        assert r.headers["x-ratelimit-remaining"] == "1"
        fake.clock.advance(3600)
        assert page(c, 25).json()["data"]["rateLimit"]["remaining"] == 1


def test_secondary_limit_points_per_minute():
    with (
        FakeGitHub({"acme/widgets": 5}, secondary_points_per_minute=4) as fake,
        httpx.Client(base_url=fake.url, headers=AUTH) as c,
    ):
        page(c, 25)
        page(c, 25)
        r = c.post(
            "/graphql",
            json={
                "query": query("pull_requests.graphql"),
                "variables": {"owner": "acme", "name": "widgets", "first": 25},
            },
        )
        assert r.status_code == 403 and r.headers["retry-after"] == "60"
        assert "secondary rate limit" in r.json()["message"]
        fake.clock.advance(60)
        assert page(c, 25).json()["data"]["rateLimit"]["cost"] == 2


def test_memoized_answers_are_still_charged_and_fresh():
    """--memoize skips execution only: budget, limits, rateLimit, headers behave as without it."""
    with (
        FakeGitHub({"acme/widgets": 30}, memoize=True, graphql_limit=5, secondary_points_per_minute=4) as fake,
        httpx.Client(base_url=fake.url, headers=AUTH) as c,
        FakeGitHub({"acme/widgets": 30}, graphql_limit=5, secondary_points_per_minute=4) as plain,
        httpx.Client(base_url=plain.url, headers=AUTH) as p,
    ):
        first, again = page(c, 25), page(c, 25)
        assert len(fake._memo) == 1
        want = page(p, 25).json()["data"]
        got1, got2 = first.json()["data"], again.json()["data"]
        for got in (got1, got2):
            assert got["repository"] == want["repository"]  # same nodes and cursors
            assert list(got) == list(want) and list(got["rateLimit"]) == list(want["rateLimit"])
        assert got1["rateLimit"] == want["rateLimit"] and got1["rateLimit"]["remaining"] == 3
        assert got2["rateLimit"] == {**want["rateLimit"], "remaining": 1, "used": 4}
        assert (first.headers["x-ratelimit-remaining"], again.headers["x-ratelimit-remaining"]) == ("3", "1")
        assert first.headers["x-github-request-id"] != again.headers["x-github-request-id"]
        assert [r.cost for r in fake.log] == [2, 2]
        fake.clock.advance(60)  # a new minute: only the hourly budget (1 point left) holds it back now
        limited = page(c, 25)
        assert limited.json()["errors"][0]["type"] == "RATE_LIMITED" and limited.headers["x-ratelimit-remaining"] == "1"
        fake.clock.advance(3600)
        for _ in range(2):  # 4 points this minute: the next is a secondary limit
            page(c, 25)
        variables = {"owner": "acme", "name": "widgets", "first": 25}
        r = gql(c, query("pull_requests.graphql"), variables, "PullRequestsPage")
        assert r.status_code == 403 and "secondary rate limit" in r.json()["message"]
        assert len(fake._memo) == 1  # refusals are not kept


def test_faults(fake, client):
    fake.inject("502_html", op="NewestUpdate")
    r = gql(client, query("probe.graphql"), {"owner": "acme", "name": "widgets"}, "NewestUpdate")
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    fake.inject("went_wrong", op="NewestUpdate")
    r = gql(client, query("probe.graphql"), {"owner": "acme", "name": "widgets"}, "NewestUpdate")
    assert r.status_code == 200 and r.json()["errors"][0]["message"].startswith(
        "Something went wrong while executing your query"
    )
    fake.inject("null_nodes", op="PullRequestsPage", params={"index": [2]})
    body = page(client, 5).json()
    nodes = body["data"]["repository"]["pullRequests"]["nodes"]
    assert nodes[2] is None and all(n is not None for i, n in enumerate(nodes) if i != 2)
    assert body["errors"][0]["path"] == ["repository", "pullRequests", "nodes", 2, "assignees"]
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake.inject("gremlins")


def test_rest_pagination_etag_and_anonymous_limit():
    with FakeGitHub({"acme/widgets": 25}, rest_anon_limit=4) as fake, httpx.Client(base_url=fake.url) as c:
        params = {"state": "all", "sort": "updated", "direction": "desc", "per_page": 10}
        r = c.get("/repos/acme/widgets/pulls", params=params)
        assert r.status_code == 200 and len(r.json()) == 10
        assert r.headers["x-ratelimit-limit"] == "4" and r.headers["x-ratelimit-remaining"] == "3"
        assert 'rel="next"' in r.headers["link"] and 'page=3>; rel="last"' in r.headers["link"]
        etag = r.headers["etag"]
        r304 = c.get("/repos/acme/widgets/pulls", params=params, headers={"If-None-Match": etag})
        assert r304.status_code == 304 and r304.headers["x-ratelimit-remaining"] == "3"  # free
        nxt = c.get(r.headers["link"].split(";")[0].strip("<>"))
        stamps = [p["updated_at"] for p in r.json() + nxt.json()]
        assert len(stamps) == 20 and stamps == sorted(stamps, reverse=True)
        detail = c.get("/repos/acme/widgets/pulls/9").json()
        assert detail["commits"] == 130 and detail["changed_files"] == len(
            c.get("/repos/acme/widgets/pulls/9/files").json()
        )
        r = c.get("/repos/acme/widgets/pulls/9/commits")
        assert r.status_code == 403 and r.headers["x-ratelimit-remaining"] == "0"
        assert r.json()["message"] == "API rate limit exceeded for 127.0.0.1."


def test_dataset_is_deterministic():
    a = FakeGitHub({"acme/widgets": 20}).dataset.expected_rows("acme/widgets")
    b = FakeGitHub({"acme/widgets": 20}).dataset.expected_rows("acme/widgets")
    assert json.dumps(a) == json.dumps(b)
    c = FakeGitHub({"acme/widgets": 20}, seed=8).dataset.expected_rows("acme/widgets")
    assert json.dumps(a) != json.dumps(c)


def test_forbidden_fault_has_githubs_partial_data_shape():
    """A field withheld inside one PR node: that field null, the rest of the page there, an error with its path."""
    with FakeGitHub({"acme/widgets": 30}) as gh, httpx.Client(base_url=gh.url, headers=AUTH) as c:
        clean = page(c, 5).json()
        gh.inject("forbidden", op="PullRequestsPage", params={"index": [3]})
        got = page(c, 5).json()
    assert got["errors"] == [
        {
            "type": "FORBIDDEN",
            "path": ["repository", "pullRequests", "nodes", 3, "closingIssuesReferences"],
            "extensions": {"saml_failure": False},
            "locations": got["errors"][0]["locations"],
            "message": "Resource not accessible by integration",
        }
    ]
    assert got["errors"][0]["locations"][0]["line"] > 0
    nodes, want = (
        got["data"]["repository"]["pullRequests"]["nodes"],
        clean["data"]["repository"]["pullRequests"]["nodes"],
    )
    assert nodes[3]["closingIssuesReferences"] is None and want[3]["closingIssuesReferences"] is not None
    assert nodes[3] == {**want[3], "closingIssuesReferences": None}
    assert nodes[:3] + nodes[4:] == want[:3] + want[4:]
    assert (
        got["data"]["repository"]["pullRequests"]["pageInfo"] == clean["data"]["repository"]["pullRequests"]["pageInfo"]
    )


def test_forbidden_fault_by_number_follows_the_pr_into_one_pr_queries():
    with FakeGitHub({"acme/widgets": 30}) as gh, httpx.Client(base_url=gh.url, headers=AUTH) as c:
        gh.inject("forbidden", times=5, params={"numbers": [7], "field": "reviews"})
        text = query("pull_request.graphql")
        r = gql(c, text, {"owner": "acme", "name": "widgets", "number": 7}, "PullRequest").json()
        assert r["data"]["repository"]["pullRequest"]["reviews"] is None
        assert r["data"]["repository"]["pullRequest"]["number"] == 7
        assert [(e["type"], e["path"]) for e in r["errors"]] == [
            ("FORBIDDEN", ["repository", "pullRequest", "reviews"])
        ]
        other = gql(c, text, {"owner": "acme", "name": "widgets", "number": 8}, "PullRequest").json()
        assert "errors" not in other and other["data"]["repository"]["pullRequest"]["reviews"] is not None


def test_forbidden_fault_on_rest_is_a_403_for_the_prs_named():
    with FakeGitHub({"acme/widgets": 30}, rest_anon_limit=1000) as gh, httpx.Client(base_url=gh.url) as c:
        gh.inject("forbidden", api="rest", op="reviews", times=5, params={"numbers": [7]})
        r = c.get("/repos/acme/widgets/pulls/7/reviews")
        assert r.status_code == 403 and r.json()["message"] == "Resource not accessible by integration"
        assert int(r.headers["x-ratelimit-remaining"]) > 0  # not a rate limit
        assert c.get("/repos/acme/widgets/pulls/8/reviews").status_code == 200
