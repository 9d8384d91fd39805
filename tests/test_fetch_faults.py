"""Under every fault the fake can inject, the fetch ends with the ground truth
or with the documented clear error; rate-limit sleeps follow GitHub's rules
(checked on the fake clock: nothing really sleeps)."""

from __future__ import annotations

import json

import pytest

from stages.fetch.transport import RetryPolicy, Timeouts
from tests.fake_github import FakeGitHub
from tests.fake_github.clock import DEFAULT_START
from tests.fake_github.testing import cached, diff, run_fetch, truth

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

REPOS = {"acme/widgets": 40, "octo/tiny": 4}


def _ok(fake, raw, summary, repos=tuple(REPOS)):
    assert summary.ok, summary.as_dict()
    assert diff(cached(raw), truth(fake, list(repos))) == ""


@pytest.mark.parametrize("kind", ["502_json", "504_json", "502_html", "500_json", "went_wrong", "drop"])
def test_transient_faults_are_retried_to_ground_truth(fake, raw, kind):
    fault = fake.inject(kind, op="PullRequestsPage", repo="acme/widgets", skip=1, times=2)
    summary = run_fetch(fake, list(REPOS), raw)
    _ok(fake, raw, summary)
    assert fault.fired == 2
    assert summary.repos["acme/widgets"].retries == 2
    assert summary.repos["octo/tiny"].retries == 0
    # tenacity's waits: random exponential, capped (RetryPolicy.cap = 8 s in these tests), on the fake clock
    assert len(fake.clock.sleeps) == 2 and all(0 <= s <= 8 for s in fake.clock.sleeps)


@pytest.mark.parametrize("kind", ["502_json", "504_json", "went_wrong"])
def test_timeouts_halve_the_page_then_grow_back(fake, raw, kind):
    fake.inject(kind, op="PullRequestsPage", repo="acme/widgets", times=2)
    summary = run_fetch(fake, ["acme/widgets"], raw)
    _ok(fake, raw, summary, ["acme/widgets"])
    firsts = [r.first for r in fake.pages("acme/widgets")]
    # 25 (fails), 12 (fails), 6 served; then it grows back after two successes each
    assert firsts[:3] == [25, 12, 6]
    assert firsts[3:6] == [6, 12, 12]
    assert max(firsts[3:]) <= 25


def test_nested_list_fault_is_retried(fake, raw):
    fake.inject("502_json", op="CommitsPage", times=1)
    summary = run_fetch(fake, ["acme/widgets"], raw)
    _ok(fake, raw, summary, ["acme/widgets"])
    assert summary.repos["acme/widgets"].retries == 1


def test_slow_answer_times_out_and_is_retried(fake, raw):
    # the second page: a server that has answered before is slow, not dead (tests/test_fetch_deadnet.py)
    fake.inject("slow", op="PullRequestsPage", repo="acme/widgets", skip=1, params={"seconds": 3.0})
    summary = run_fetch(fake, ["acme/widgets"], raw, timeouts=Timeouts(deadline=2.0))
    _ok(fake, raw, summary, ["acme/widgets"])
    assert summary.repos["acme/widgets"].retries == 1
    assert [r.first for r in fake.pages("acme/widgets")][:3] == [25, 25, 12]


def test_partial_data_null_nodes_are_refetched(fake, raw):
    fault = fake.inject("null_nodes", op="PullRequestsPage", repo="acme/widgets", params={"index": [0, 3]})
    summary = run_fetch(fake, ["acme/widgets"], raw)
    _ok(fake, raw, summary, ["acme/widgets"])
    assert fault.fired == 1 and summary.repos["acme/widgets"].retries == 1


def test_persistent_null_nodes_keep_the_rest_and_say_so(fake, raw):
    # the first page and its three re-asks all come back with the second node null
    fake.inject("null_nodes", op="PullRequestsPage", repo="acme/widgets", times=4, params={"index": [1]})
    summary = run_fetch(fake, ["acme/widgets"], raw)
    st = summary.repos["acme/widgets"]
    assert st.status == "ok" and any("came back null" in w for w in st.warnings)
    want = truth(fake, ["acme/widgets"])
    newest_second = sorted(want, key=lambda r: r["updatedAt"], reverse=True)[1]
    assert diff(cached(raw), [r for r in want if r["number"] != newest_second["number"]]) == ""
    state = json.loads((raw / "acme/widgets/state.json").read_text())
    assert state["incomplete"] and state["gaps"] == {"": 25} and state["watermark"] is not None
    again = run_fetch(fake, ["acme/widgets"], raw)  # asks the gap (the first page) and probes
    _ok(fake, raw, again, ["acme/widgets"])
    assert again.repos["acme/widgets"].requests == 2 + again.repos["acme/widgets"].nested_requests


def test_transient_fault_that_never_ends_is_a_clear_error(fake, raw):
    fake.inject("502_html", op="PullRequestsPage", repo="acme/widgets", times=100)
    summary = run_fetch(fake, list(REPOS), raw, retry=RetryPolicy(attempts=3, cap=4))
    st = summary.repos["acme/widgets"]
    assert st.status == "failed"
    assert st.error == "gave up after 3 attempts: HTTP 502: HTML error page"
    assert summary.repos["octo/tiny"].status == "ok"


def test_missing_scopes_fail_the_repo_once(fake, raw):
    fake.inject("scopes", repo="octo/tiny")
    summary = run_fetch(fake, list(REPOS), raw)
    st = summary.repos["octo/tiny"]
    assert (st.status, st.retries, st.requests) == ("failed", 0, 1)
    assert st.error.startswith("GitHub refused the query (INSUFFICIENT_SCOPES): Your token has not been granted")
    assert summary.repos["acme/widgets"].status == "ok"


def test_bad_json_is_not_retried(fake, raw):
    fake.inject("bad_json", repo="octo/tiny")
    summary = run_fetch(fake, ["octo/tiny"], raw)
    st = summary.repos["octo/tiny"]
    assert (st.status, st.retries, st.error) == ("failed", 0, "HTTP 400: Problems parsing JSON")


# -- rate limits: the sleeps chosen, on the fake clock -------------------------


def test_primary_limit_waits_until_reset_by_the_date_header(fake, raw):
    # After the first page the budget is gone; the fake answers RATE_LIMITED (200) with remaining 0.
    fake.inject("primary", op="PullRequestsPage", repo="acme/widgets", skip=1)
    summary = run_fetch(fake, ["acme/widgets"], raw, max_wait=7200)
    _ok(fake, raw, summary, ["acme/widgets"])
    reset = fake.window("1").reset  # the new window's reset; the old one ended an hour after the first request
    assert fake.clock.sleeps == [3601.0]  # reset (start + 3600) - Date (start) + 1 s
    assert summary.repos["acme/widgets"].waits == 1
    assert reset == DEFAULT_START + 3601 + 3600


def test_primary_limit_new_style_error(raw):
    with FakeGitHub({"octo/tiny": 4}, rate_limit_style="RATE_LIMIT") as fake:
        fake.exhaust(reset_in=900)
        summary = run_fetch(fake, ["octo/tiny"], raw, max_wait=1000)
        _ok(fake, raw, summary, ["octo/tiny"])
        assert fake.clock.sleeps == [901.0]


def test_budget_read_on_every_page_pauses_before_a_query_would_exceed_it(raw):
    # 12 points: page 1 (2) + nested + ... runs dry; the fetcher must pause before asking, not get refused
    with FakeGitHub({"acme/widgets": 40}, graphql_limit=12) as fake:
        summary = run_fetch(fake, ["acme/widgets"], raw, max_wait=100_000)
        _ok(fake, raw, summary, ["acme/widgets"])
        refused = [r for r in fake.log if r.status == 200 and r.cost == 0 and r.op]
        assert refused == []  # never a RATE_LIMITED answer: the budget said wait first
        assert fake.clock.sleeps and all(s == pytest.approx(3601.0, abs=1) for s in fake.clock.sleeps)
        assert summary.repos["acme/widgets"].waits == len(fake.clock.sleeps)


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"), [(403, 30, [30.0]), (429, None, [60.0]), (200, None, [60.0])]
)
def test_secondary_limit_waits(fake, raw, status, retry_after, expected):
    fake.inject("secondary", op="PullRequestsPage", params={"status": status, "retry_after": retry_after})
    summary = run_fetch(fake, ["octo/tiny"], raw)
    _ok(fake, raw, summary, ["octo/tiny"])
    assert fake.clock.sleeps == expected


def test_secondary_limit_backs_off_exponentially(fake, raw):
    fake.inject("secondary", op="PullRequestsPage", times=3, params={"status": 403})
    summary = run_fetch(fake, ["octo/tiny"], raw)
    _ok(fake, raw, summary, ["octo/tiny"])
    assert fake.clock.sleeps == [60.0, 120.0, 240.0]
    assert summary.repos["octo/tiny"].retries == 0 and summary.repos["octo/tiny"].waits == 3


def test_secondary_limit_holds_every_repo(raw):
    repos = {f"acme/r{i}": 3 for i in range(4)}
    with FakeGitHub(repos) as fake:
        fake.inject("secondary", op="PullRequestsPage", repo="acme/r0", params={"retry_after": 45})
        summary = run_fetch(fake, list(repos), raw, concurrency=1)
        _ok(fake, raw, summary, list(repos))
        assert fake.clock.sleeps[0] == 45.0
        # a single 45 s pause for the run, not one per repo
        assert fake.clock.now() - 1767614400.0 == pytest.approx(45.0, abs=1e-6)


def test_max_wait_stops_cleanly_and_resumes(fake, raw):
    fake.inject("primary", op="PullRequestsPage", repo="acme/widgets", skip=1)
    summary = run_fetch(fake, list(REPOS), raw, max_wait=600)
    st = summary.repos["acme/widgets"]
    assert st.status == "paused" and not summary.ok
    assert summary.resume_at == pytest.approx(DEFAULT_START + 3601)
    assert "run again after 2026-01-05T13:00:01Z to resume" in st.error
    assert fake.clock.sleeps == []  # it did not wait at all
    state = json.loads((raw / "acme/widgets/state.json").read_text())
    assert state["scan"]["pages"] == 1 and state["scan"]["cursor"]
    pages_before = len(fake.pages("acme/widgets"))
    fake.clock.advance(3601)
    again = run_fetch(fake, list(REPOS), raw, max_wait=600)
    assert again.repos["acme/widgets"].mode == "resumed"
    _ok(fake, raw, again)
    # the resumed run started at the saved cursor: page 1 was not asked again
    resumed = fake.pages("acme/widgets")[pages_before:]
    assert resumed[0].cursor == state["scan"]["cursor"]


def test_rest_faults_and_limits_to_ground_truth(raw):
    with FakeGitHub({"acme/widgets": 14}, rest_anon_limit=10_000) as fake:
        fake.inject("502_json", api="rest", op="list", skip=1)
        fake.inject("secondary", api="rest", op="commits", params={"retry_after": 20})
        fake.inject("drop", api="rest", op="files", skip=3)
        summary = run_fetch(fake, ["acme/widgets"], raw, token=None)
        assert summary.ok, summary.as_dict()
        assert diff(cached(raw), truth(fake, ["acme/widgets"], "rest")) == ""
        st = summary.repos["acme/widgets"]
        assert (st.retries, st.waits) == (2, 1)
        assert 20.0 in fake.clock.sleeps


def test_rest_primary_limit_pauses_then_resumes(raw):
    with FakeGitHub({"acme/widgets": 25}, rest_anon_limit=60) as fake:
        summary = run_fetch(fake, ["acme/widgets"], raw, token=None, max_wait=60)
        st = summary.repos["acme/widgets"]
        assert st.status == "paused" and st.pages >= 1  # a page of 10 PRs (~45 requests) fits in 60
        assert fake.clock.sleeps == []
        modes = []
        for _ in range(4):  # 25 PRs at ~5 requests each need a few hours of 60 requests
            fake.clock.advance(3601)
            again = run_fetch(fake, ["acme/widgets"], raw, token=None, max_wait=60)
            modes.append(again.repos["acme/widgets"].mode)
            if again.ok:
                break
        assert again.ok and set(modes) == {"resumed"}
        assert diff(cached(raw), truth(fake, ["acme/widgets"], "rest")) == ""
