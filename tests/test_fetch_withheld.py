"""Parts of a PR GitHub withholds from the token (issue 12, point 6).

GitHub answers FORBIDDEN inside a node (a linked issue in a private repo, a
field the token may not see) with that part null and the rest of the page
there. The fetch keeps the page, asks the PR once more alone, records what
stays withheld (the row's ``withheld_fields``, the repo's ``state.json``) and
finishes the repo. Only a refusal of the repository itself fails it.
"""

from __future__ import annotations

import json

import httpx
import pytest

from stages.fetch.errors import PartialData, RepoError
from stages.fetch.graphql import check_graphql, withheld_paths
from stages.fetch.ratelimit import RateHeaders
from stages.normalize import normalize
from tests.fake_github.testing import cached, diff, run_fetch, truth

REPO = "acme/widgets"
REPOS = {REPO: 40}  # the fake GitHub of the shared `fake` fixture (tests/conftest.py)
FAKE_OPTIONS = {"rest_anon_limit": 10_000}
# updated-desc page 1 of acme/widgets (40 PRs): index 1 is PR 39, with 11 closing issues (more than a first page)
PR = 39


def _state(raw) -> dict:
    return json.loads((raw / REPO / "state.json").read_text())


def _ops(fake, op: str) -> int:
    return sum(1 for r in fake.log if r.op == op)


def test_withheld_once_is_asked_again_and_ends_complete(fake, raw):
    fault = fake.inject("forbidden", op="PullRequestsPage", params={"index": [1]})
    summary = run_fetch(fake, [REPO], raw)
    st = summary.repos[REPO]
    assert fault.fired == 1 and (st.status, st.withheld, st.retries) == ("ok", 0, 0)
    assert _ops(fake, "PullRequest") == 1  # PR 39 alone, once
    # then its 11th closing issue, as for PRs 13 and 26 (11 each too)
    assert _ops(fake, "ClosingIssuesReferencesPage") == 3
    assert diff(cached(raw), truth(fake, [REPO])) == ""
    assert "withheld" not in _state(raw)


def test_withheld_for_good_is_recorded_and_the_repo_finishes(fake, raw):
    fake.inject("forbidden", times=1000, params={"numbers": [PR]})
    summary = run_fetch(fake, [REPO], raw)
    st = summary.repos[REPO]
    assert (st.status, st.mode, st.withheld, st.prs_cached) == ("ok", "full", 1, 40)
    assert _ops(fake, "PullRequest") == 1  # asked once more, not again and again
    want = {r["number"]: r for r in truth(fake, [REPO])}
    want[PR] = {**want[PR], "closingIssuesReferences": None, "withheld_fields": ["closingIssuesReferences"]}
    assert diff(cached(raw), [want[n] for n in sorted(want)]) == ""
    state = _state(raw)
    assert state["withheld"] == {str(PR): ["closingIssuesReferences"]}
    assert state["complete"] and state["watermark"] and not state["incomplete"]  # finished: no endless refetch
    assert st.warnings == [
        "GitHub withheld closingIssuesReferences of 1 PR(s) from this token: "
        "kept as null and listed in the PRs' withheld_fields"
    ]
    report = normalize(cached_table(raw)).report
    assert report["withheld"] == {"closingIssuesReferences": 1}

    # the token gains access and the PR changes: the next incremental run fetches it whole
    fake.faults.clear()
    fake.clock.advance(3600)
    fake.dataset.edit(REPO, PR, fake.clock.now())
    again = run_fetch(fake, [REPO], raw)
    assert (again.repos[REPO].mode, again.repos[REPO].withheld) == ("incremental", 0)
    assert diff(cached(raw), truth(fake, [REPO])) == ""
    assert "withheld" not in _state(raw)


def cached_table(raw):
    from stages.fetch import load_raw

    return load_raw(raw)


def test_withheld_review_lists_over_rest(fake, raw):
    # PR 7's reviews refused twice (kept null), PR 14's once (asked again: complete)
    fake.inject("forbidden", api="rest", op="reviews", times=2, params={"numbers": [7]})
    fake.inject("forbidden", api="rest", op="reviews", times=1, params={"numbers": [14]})
    summary = run_fetch(fake, [REPO], raw, token=None)
    st = summary.repos[REPO]
    assert (st.status, st.withheld) == ("ok", 1)
    want = {r["number"]: r for r in truth(fake, [REPO], transport="rest")}
    want[7] = {**want[7], "reviews": None, "reviewsTotalCount": None, "withheld_fields": ["reviews"]}
    assert diff(cached(raw), [want[n] for n in sorted(want)]) == ""
    assert _state(raw)["withheld"] == {"7": ["reviews"]}


def _answer(payload: dict) -> httpx.Response:
    return httpx.Response(200, json=payload, request=httpx.Request("POST", "https://api.github.com/graphql"))


INSIDE = {
    "type": "FORBIDDEN",
    "path": ["repository", "pullRequests", "nodes", 3, "closingIssuesReferences"],
    "message": "Resource not accessible by integration",
    "extensions": {"saml_failure": False},
}


def test_a_refusal_inside_a_node_keeps_the_page():
    payload = {"data": {"repository": {"pullRequests": {"nodes": []}}}, "errors": [INSIDE]}
    assert check_graphql(_answer(payload), RateHeaders()) == payload
    deep = {**INSIDE, "type": "NOT_FOUND", "path": ["repository", "pullRequests", "nodes", 3, "reviews", "nodes", 0]}
    deeper = {**INSIDE, "path": ["repository", "pullRequests", "nodes", 5, "reviews", "nodes", 2, "author"]}
    alone = {**INSIDE, "path": ["repository", "pullRequest", "files"]}
    assert withheld_paths({"errors": [INSIDE, deep, deeper, alone]}) == {
        3: {"closingIssuesReferences", "reviews"},
        5: {"reviews.author"},
        None: {"files"},
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"data": {"repository": None}, "errors": [{**INSIDE, "path": ["repository"]}]},
        {"data": {"repository": None}, "errors": [{**INSIDE, "type": "NOT_FOUND", "path": ["repository"]}]},
        {"data": None, "errors": [{**INSIDE, "path": None}]},
        {"errors": [INSIDE]},  # no data at all
    ],
    ids=["forbidden-repository", "not-found-repository", "no-path", "no-data"],
)
def test_a_refusal_of_the_repository_fails_the_repo(payload):
    with pytest.raises(RepoError):
        check_graphql(_answer(payload), RateHeaders())


def test_a_whole_node_refused_is_a_null_node_not_the_repos_error():
    node = {**INSIDE, "path": ["repository", "pullRequests", "nodes", 3]}
    payload = {"data": {"repository": {"pullRequests": {"nodes": [None]}}}, "errors": [node]}
    with pytest.raises(PartialData):
        check_graphql(_answer(payload), RateHeaders())
