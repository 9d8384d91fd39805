"""The fetch stage against the fake GitHub: ground truth, incremental runs, windows.

Every test runs a real HTTP server on 127.0.0.1 and the real fetcher, with the
fake's clock (no real sleeping); the fetched rows must equal the fake's ground
truth (no PR lost or duplicated, nested lists complete).
"""

from __future__ import annotations

import json
import logging

from stages.fetch import FetchSummary, fetch_repos, load_raw, raw_fingerprint
from stages.fetch.cache import RepoCache
from tests.fake_github import FakeGitHub
from tests.fake_github.testing import TOKEN, cached, diff, run_fetch, truth

REPOS = {"acme/widgets": 60, "acme/gadgets": 35, "octo/tiny": 3}


def test_full_fetch_equals_ground_truth(fake, raw):
    summary = run_fetch(fake, list(REPOS), raw)
    assert summary.ok, summary.as_dict()
    rows = cached(raw)
    assert diff(rows, truth(fake, list(REPOS))) == ""
    by = {(r["repo"], r["number"]): r for r in rows}
    # nested lists longer than their first page were paged to completion
    assert len(by[("acme/widgets", 9)]["commits"]) == by[("acme/widgets", 9)]["commitsTotalCount"] == 130
    assert len(by[("acme/widgets", 7)]["reviews"]) == 30
    assert len(by[("acme/widgets", 11)]["files"]) == 60
    assert len(by[("acme/widgets", 13)]["labels"]) == 12
    assert len(by[("acme/widgets", 13)]["assignees"]) == 11
    assert len(by[("acme/widgets", 13)]["closingIssuesReferences"]) == 11
    assert by[("acme/widgets", 9)]["commits"][129]["message"].endswith("(part 130)")
    st = summary.repos["acme/widgets"]
    assert (st.status, st.mode, st.prs_fetched, st.prs_cached, st.pages) == ("ok", "full", 60, 60, 3)
    # points: what the fake charged, as reported by rateLimit.cost on every answer
    charged = sum(r.cost for r in fake.log if r.repo == "acme/widgets")
    assert st.points == charged
    assert st.requests == len([r for r in fake.log if r.repo == "acme/widgets"])
    state = json.loads((raw / "acme/widgets/state.json").read_text())
    assert state["complete"] and state["scan"] is None and state["pages"] == []
    assert state["counts"]["prs"] == 60
    assert state["watermark"] == "2026-01-05T11:55:00Z"  # scan start (fake clock noon) minus the 5-minute margin


def test_rerun_unchanged_costs_one_request_per_repo(fake, raw):
    run_fetch(fake, list(REPOS), raw)
    before = load_raw(raw)
    n = len(fake.log)
    summary = run_fetch(fake, list(REPOS), raw)
    assert summary.ok
    assert [s.status for s in summary.repos.values()] == ["unchanged"] * 3
    assert {r: s.requests for r, s in summary.repos.items()} == dict.fromkeys(REPOS, 1)
    assert [r.op for r in fake.log[n:]] == ["NewestUpdate"] * 3
    assert load_raw(raw).equals(before)


def test_incremental_picks_up_edits_and_new_prs(fake, raw):
    run_fetch(fake, list(REPOS), raw)
    fake.clock.advance(3600)
    fake.dataset.edit("acme/widgets", 5, fake.clock.now(), title="Renamed the router")
    fake.dataset.add("acme/gadgets", fake.clock.now())
    n = len(fake.log)
    summary = run_fetch(fake, list(REPOS), raw)
    assert summary.ok
    assert summary.repos["acme/widgets"].mode == "incremental"
    assert summary.repos["acme/widgets"].prs_fetched == 1
    assert summary.repos["acme/gadgets"].prs_fetched == 1
    assert summary.repos["octo/tiny"].status == "unchanged"
    pages = [r for r in fake.log[n:] if r.op == "PullRequestsPage"]
    assert len(pages) == 2 and all(r.cursor is None for r in pages)  # one page each, stopped at the watermark
    rows = cached(raw)
    assert diff(rows, truth(fake, list(REPOS))) == ""
    assert next(r for r in rows if r["repo"] == "acme/widgets" and r["number"] == 5)["title"] == "Renamed the router"
    assert sum(1 for r in rows if r["repo"] == "acme/gadgets") == 36


def test_half_an_emoji_in_a_title_is_stored_not_fatal(fake, raw):
    # GitHub's JSON can carry a lone UTF-16 surrogate ("\\ud83d", half an emoji); it cannot be
    # stored as UTF-8, so the cache keeps a replacement character instead of failing the repo.
    fake.dataset.edit("octo/tiny", 2, fake.clock.now(), title="Fix \ud83d in the title")
    summary = run_fetch(fake, ["octo/tiny"], raw)
    assert summary.ok, summary.as_dict()
    row = next(r for r in cached(raw) if r["number"] == 2)
    assert row["title"] == "Fix \ufffd in the title"


def test_pr_edited_mid_scan_is_not_lost(fake, raw):
    # While page 2 is asked, PR 3 (on page 3, not yet seen) is edited: it jumps to the top, behind the cursor.
    fake.inject("edit", op="PullRequestsPage", repo="acme/widgets", skip=1, params={"number": 3})
    summary = run_fetch(fake, ["acme/widgets"], raw)
    assert summary.ok
    assert diff(cached(raw), truth(fake, ["acme/widgets"])) == ""
    row = next(r for r in cached(raw) if r["number"] == 3)
    assert row["title"].endswith("(edited)")
    # the catch-up: a probe saw an update after the scan started, and a one-page scan fetched it
    ops = [r.op for r in fake.log if r.op in ("PullRequestsPage", "NewestUpdate")]
    assert ops == ["PullRequestsPage"] * 3 + ["NewestUpdate", "PullRequestsPage"]


def test_token_coming_or_going_continues_from_the_watermark(fake, raw):
    run_fetch(fake, ["octo/tiny"], raw)
    # no token now: REST carries on incrementally (one free-ish probe), no 60-requests/hour rescan
    again = run_fetch(fake, ["octo/tiny"], raw, token=None)
    st = again.repos["octo/tiny"]
    assert (st.status, st.mode, st.requests, st.transport) == ("unchanged", "incremental", 1, "rest")
    assert diff(cached(raw), truth(fake, ["octo/tiny"])) == ""
    back = run_fetch(fake, ["octo/tiny"], raw)
    assert (back.repos["octo/tiny"].status, back.repos["octo/tiny"].requests) == ("unchanged", 1)


def test_rest_without_token_equals_rest_ground_truth(raw):
    with FakeGitHub({"acme/widgets": 23}, rest_anon_limit=10_000) as fake:
        summary = run_fetch(fake, ["acme/widgets"], raw, token=None)
        assert summary.ok and summary.transport == "rest"
        assert diff(cached(raw), truth(fake, ["acme/widgets"], "rest")) == ""
        row = next(r for r in cached(raw) if r["number"] == 9)
        assert len(row["commits"]) == 130 and row["closingIssuesReferences"] is None
        # an unchanged repo: one conditional request answered 304, free
        before = fake.window("anon", "core").used
        again = run_fetch(fake, ["acme/widgets"], raw, token=None)
        st = again.repos["acme/widgets"]
        assert (st.status, st.requests, st.not_modified, st.points) == ("unchanged", 1, 1, 0)
        assert fake.window("anon", "core").used == before


def test_since_until_window_and_backfill(fake, raw):
    rows_all = truth(fake, ["acme/widgets"])
    cut = sorted(r["updatedAt"] for r in rows_all)[40]  # the 20 newest PRs are on/after it
    s1 = run_fetch(fake, ["acme/widgets"], raw, since=cut)
    assert s1.ok and s1.repos["acme/widgets"].prs_fetched == 20
    assert diff(cached(raw), truth(fake, ["acme/widgets"], since=cut)) == ""
    assert len([r for r in fake.log if r.op == "PullRequestsPage"]) == 1  # stopped inside page 1
    # widening the window backfills what is missing
    s2 = run_fetch(fake, ["acme/widgets"], raw)
    assert s2.repos["acme/widgets"].mode == "backfill"
    assert diff(cached(raw), rows_all) == ""
    # until: nothing updated on/after it is stored
    until = sorted(r["updatedAt"] for r in rows_all)[50]
    s3 = run_fetch(fake, ["acme/gadgets", "octo/tiny"], raw, until=until)
    assert s3.ok
    got = [r for r in cached(raw) if r["repo"] != "acme/widgets"]
    assert got and all(r["updatedAt"] < until for r in got)
    assert diff(got, [r for r in truth(fake, ["acme/gadgets", "octo/tiny"]) if r["updatedAt"] < until]) == ""


def test_max_prs_keeps_the_newest(fake, raw):
    summary = run_fetch(fake, ["acme/widgets"], raw, max_prs=30)
    assert summary.repos["acme/widgets"].prs_fetched == 30
    newest = sorted(truth(fake, ["acme/widgets"]), key=lambda r: r["updatedAt"])[-30:]
    assert diff(cached(raw), sorted(newest, key=lambda r: r["number"])) == ""


def test_refresh_and_no_cache(fake, raw):
    run_fetch(fake, ["octo/tiny"], raw)
    (raw / "octo/tiny/pull_requests.parquet").unlink()  # damage: only --refresh should bring it back
    assert load_raw(raw, ["octo/tiny"]).num_rows == 0
    s = run_fetch(fake, ["octo/tiny"], raw, refresh=True)
    assert s.repos["octo/tiny"].mode == "full"
    assert diff(cached(raw), truth(fake, ["octo/tiny"])) == ""
    other = raw.parent / "elsewhere"
    s2 = run_fetch(fake, ["acme/gadgets"], other, no_cache=True)
    assert s2.ok and not other.exists()
    assert diff(s2.raw.to_pylist(), truth(fake, ["acme/gadgets"])) == ""


def test_missing_repo_fails_alone(fake, raw):
    summary = run_fetch(fake, ["acme/widgets", "acme/nope", "not-a-repo"], raw)
    assert not summary.ok
    assert summary.failed == ["acme/nope", "not-a-repo"]
    assert (
        summary.repos["acme/nope"].error
        == "repository not found: Could not resolve to a Repository with the name 'acme/nope'."
    )
    assert summary.repos["acme/nope"].requests == 1 and summary.repos["acme/nope"].retries == 0
    assert "'not-a-repo' is not owner/name" in summary.repos["not-a-repo"].error
    assert summary.repos["acme/widgets"].status == "ok"
    assert diff(cached(raw), truth(fake, ["acme/widgets"])) == ""
    assert not (raw / "acme/nope").exists()


def test_bad_credentials_are_not_retried(fake, raw):
    summary = run_fetch(fake, ["acme/widgets", "octo/tiny"], raw, token="wrong-token")
    assert summary.failed == ["acme/widgets", "octo/tiny"]
    for st in summary.repos.values():
        assert st.error == "GitHub refused the token (HTTP 401: Bad credentials); check GITHUB_TOKEN"
        assert (st.requests, st.retries) == (1, 0)


def test_validation_error_is_reported_not_retried(fake, raw, monkeypatch):
    from stages.fetch import graphql as g

    original = g.query

    def broken(name: str) -> str:
        text = original(name)
        return (
            text.replace("headRefName baseRefName", "headRefName baseRefName reviewDecisionz")
            if name == "pull_requests.graphql"
            else text
        )

    monkeypatch.setattr(g, "query", broken)
    summary = run_fetch(fake, ["acme/widgets"], raw)
    st = summary.repos["acme/widgets"]
    assert st.status == "failed" and st.retries == 0 and st.requests == 1
    assert st.error == "GitHub refused the query: Field 'reviewDecisionz' doesn't exist on type 'PullRequest'"


def test_token_never_reaches_disk_logs_or_summary(raw, caplog):
    secret = "ghp_" + "S3CRETtokenVALUE0123456789"  # token-shaped (built so scanners do not flag the source)
    with FakeGitHub({"acme/widgets": 12}, tokens={secret: 1}) as fake:
        fake.inject("502_json", op="PullRequestsPage")
        fake.inject("secondary", params={"retry_after": 5})
        with caplog.at_level(logging.DEBUG):
            summary = run_fetch(fake, ["acme/widgets", "acme/nope"], raw, token=secret)
    assert summary.repos["acme/widgets"].status == "ok"
    blobs = [p.read_bytes() for p in raw.rglob("*") if p.is_file()]
    assert blobs and not any(secret.encode() in b for b in blobs)
    assert secret not in caplog.text
    assert secret not in json.dumps(summary.as_dict())


def test_token_is_masked_in_error_text():
    from stages.fetch.auth import MaskingFilter, mask

    assert mask("Authorization: Bearer abc123 failed", "abc123") == "Authorization: Bearer *** failed"
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "sent %s", ("abc123",), None)
    MaskingFilter("abc123").filter(record)
    assert record.getMessage() == "sent ***"


def test_load_raw_dedupes_and_fingerprint_tracks_content(fake, raw):
    run_fetch(fake, ["octo/tiny", "acme/gadgets"], raw)
    fp = raw_fingerprint(raw, ["octo/tiny", "acme/gadgets"])
    assert fp == raw_fingerprint(raw, ["acme/gadgets", "octo/tiny"])
    # an older copy of PR 1 in a later page must not win over the newer one
    cache = RepoCache(raw, "octo/tiny")
    state = cache.load_state()
    newest = next(r for r in cached(raw, ["octo/tiny"]) if r["number"] == 1)
    older = dict(newest, title="stale", updatedAt="2020-01-01T00:00:00Z")
    cache.commit_page([older], state)
    assert next(r for r in cached(raw, ["octo/tiny"]) if r["number"] == 1)["title"] == newest["title"]
    assert len(cached(raw, ["octo/tiny"])) == 3
    assert raw_fingerprint(raw, ["octo/tiny", "acme/gadgets"]) == fp  # same content, different layout
    newer = dict(newest, title="fresh", updatedAt="2030-01-01T00:00:00Z")
    cache.commit_page([newer], cache.load_state())
    assert next(r for r in cached(raw, ["octo/tiny"]) if r["number"] == 1)["title"] == "fresh"
    assert raw_fingerprint(raw, ["octo/tiny", "acme/gadgets"]) != fp
    assert load_raw(raw / "nowhere").num_rows == 0


def test_fetch_repos_sync_wrapper(fake, raw):
    summary = fetch_repos(["octo/tiny"], raw_dir=raw, token=TOKEN, api_url=fake.url, clock=fake.clock)
    assert isinstance(summary, FetchSummary) and summary.ok
    assert summary.requests == 1 and summary.points == 2  # one page: (1 + 25 x 6 nested connections) / 100
    assert diff(cached(raw), truth(fake, ["octo/tiny"])) == ""


def test_changed_queries_force_a_full_rescan(fake, raw, monkeypatch):
    run_fetch(fake, ["octo/tiny"], raw)
    monkeypatch.setattr("stages.fetch.run.query_version", lambda: "graphql-changed")
    again = run_fetch(fake, ["octo/tiny"], raw)
    assert (again.repos["octo/tiny"].mode, again.repos["octo/tiny"].prs_fetched) == ("full", 3)
    assert json.loads((raw / "octo/tiny/state.json").read_text())["query_version"] == "graphql-changed"
    assert diff(cached(raw), truth(fake, ["octo/tiny"])) == ""
