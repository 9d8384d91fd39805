"""PR nodes GitHub sends null (the whole node, with a FORBIDDEN error on it: its number unknown).

A page with null nodes is asked again at once; what stays null is recorded as a gap (the page's
start cursor) and the next run asks only that page, besides its probe.
"""

from __future__ import annotations

import json

import pytest

from tests.fake_github import FakeGitHub
from tests.fake_github.testing import cached, diff, run_fetch, truth

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

THREE = {"acme/api": 250, "acme/web": 250, "octo/cli": 250}


def _state(raw, repo: str) -> dict:
    return json.loads((raw / repo / "state.json").read_text())


def test_transient_null_nodes_are_asked_again_and_one_run_returns_every_pr(tmp_path):
    raw = tmp_path / "raw" / "github"
    with FakeGitHub(THREE) as fake:
        fault = fake.inject("null_forbidden", api="graphql", op="PullRequestsPage", every=7, times=10**6)
        summary = run_fetch(fake, list(THREE), raw)
        assert summary.ok, summary.as_dict()
        assert fault.fired >= 4  # several pages came back with a null node
        assert diff(cached(raw), truth(fake, list(THREE))) == ""
        assert all("gaps" not in _state(raw, r) and not _state(raw, r)["incomplete"] for r in THREE)
        again = run_fetch(fake, list(THREE), raw)
        assert again.ok and {r: s.requests for r, s in again.repos.items()} == dict.fromkeys(THREE, 1)


def test_null_nodes_on_one_request_in_23_across_every_query(tmp_path):
    raw = tmp_path / "raw" / "github"
    with FakeGitHub(THREE) as fake:
        fake.inject("null_forbidden", api="graphql", every=23, times=10**6, params={"index": [3]})
        summary = run_fetch(fake, list(THREE), raw)
        assert summary.ok, summary.as_dict()
        assert diff(cached(raw), truth(fake, list(THREE))) == ""
        again = run_fetch(fake, list(THREE), raw)
        assert all(s.requests <= 2 for s in again.repos.values()), again.as_dict()


def test_a_node_that_stays_null_is_a_gap_the_next_run_asks_alone(tmp_path):
    raw = tmp_path / "raw" / "github"
    repo = "acme/api"
    with FakeGitHub({repo: 80}) as fake:
        fault = fake.inject(
            "null_forbidden", op="PullRequestsPage", repo=repo, skip=1, times=10**6, params={"index": [2]}
        )
        first = run_fetch(fake, [repo], raw, page_size=20)
        st = first.repos[repo]
        assert st.status == "ok" and any("came back null 4 times" in w for w in st.warnings), st.warnings
        want = truth(fake, [repo])
        newest = sorted(want, key=lambda r: r["updatedAt"], reverse=True)
        lost = {r["number"] for r in newest[22:80:20]}  # the third node of every page after the first
        assert diff(cached(raw), [r for r in want if r["number"] not in lost]) == ""
        state = _state(raw, repo)
        page_starts = [r.cursor for r in fake.pages(repo)]
        assert state["gaps"] == {c: 20 for c in dict.fromkeys(page_starts[1:])}
        assert state["watermark"] is not None and state["incomplete"]

        # unchanged data, the fault still there: one request per gap and the probe, the gaps kept
        fake.log.clear()
        second = run_fetch(fake, [repo], raw, page_size=20)
        assert [r.cursor for r in fake.pages(repo)] == sorted(state["gaps"])
        assert second.repos[repo].requests == len(state["gaps"]) + 1
        assert _state(raw, repo)["gaps"] == state["gaps"]

        # the fault ends: the gaps are asked once more, come back whole, and close
        fault.times = fault.fired
        fake.log.clear()
        third = run_fetch(fake, [repo], raw, page_size=20)
        st = third.repos[repo]
        assert third.ok and st.prs_fetched == len(lost)  # only the PRs that were missing are completed
        assert st.requests == len(state["gaps"]) + 1 + st.nested_requests
        assert diff(cached(raw), want) == ""
        assert "gaps" not in _state(raw, repo) and not _state(raw, repo)["incomplete"]
        assert run_fetch(fake, [repo], raw, page_size=20).repos[repo].requests == 1


def test_one_gap_costs_two_requests_on_an_unchanged_rerun(tmp_path):
    raw = tmp_path / "raw" / "github"
    repo = "octo/cli"
    with FakeGitHub({repo: 20}) as fake:
        fake.inject("null_forbidden", op="PullRequestsPage", repo=repo, times=10**6, params={"index": [0]})
        run_fetch(fake, [repo], raw)
        assert list(_state(raw, repo)["gaps"]) == [""]  # the first page: it starts at the top
        rerun = run_fetch(fake, [repo], raw)
        assert rerun.repos[repo].requests == 2
