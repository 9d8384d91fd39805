"""The fake GitHub serves real PR metadata from JSONL; fetch + normalize keep its values.

tests/data/real_prs.jsonl is six records in the shape of the shared fixtures
(trimmed from flask, fastapi and helper): offset timestamps, a dependabot[bot]
PR, a deleted (null) author, co-authored commits (one an AI), a long body and
one PR that is not merged.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stages.fetch import fetch_repos, load_raw
from stages.normalize import normalize
from tests.fake_github import FakeGitHub
from tests.fake_github.__main__ import main as fake_main
from tests.fake_github.jsonl import SYNTHETIC_ID_BASE, SYNTHETIC_REVIEW_BODY, load_jsonl, utc
from tests.fake_github.testing import diff, run_fetch, truth

DATA = Path(__file__).parent / "data" / "real_prs.jsonl"
REPOS = ["antiwork/helper", "pallets/flask", "tiangolo/fastapi"]
RECORDS = {(r["repo"], r["number"]): r for r in map(json.loads, DATA.read_text(encoding="utf-8").splitlines())}


def when(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


@pytest.fixture(scope="module")
def fake():
    with FakeGitHub(jsonl=[DATA]) as gh:
        yield gh


@pytest.fixture(scope="module")
def fetched(fake, tmp_path_factory):
    raw_dir = tmp_path_factory.mktemp("raw")
    summary = fetch_repos(REPOS, raw_dir=raw_dir, token="test-token", api_url=fake.url, concurrency=2)
    assert summary.ok
    return raw_dir


def test_only_the_jsonl_repos_are_served(fake):
    assert sorted(fake.dataset.repos) == REPOS
    assert {k: len(v.prs) for k, v in fake.dataset.repos.items()} == {
        "antiwork/helper": 2,
        "pallets/flask": 2,
        "tiangolo/fastapi": 2,
    }


def test_mapping_to_github_shape(fake):
    flask = fake.dataset.get("pallets/flask").prs
    p = flask[3412]
    assert (p["createdAt"], p["mergedAt"], p["closedAt"], p["updatedAt"]) == (
        "2020-07-06T19:54:26Z",
        "2021-04-07T12:32:20Z",
        "2021-04-07T12:32:20Z",
        "2021-04-07T12:32:20Z",
    )
    assert p["state"] == "MERGED" and p["headRefName"] == "async" and p["reviews"] == []
    # an unknown id is synthetic but stable; a known one (davidism) is kept
    assert p["author"]["__typename"] == "User" and p["author"]["login"] == "pgjones"
    assert p["author"]["databaseId"] >= SYNTHETIC_ID_BASE
    assert p["commits"][1]["commit"]["author"]["user"]["databaseId"] == 1242887
    assert p["commits"][0]["commit"]["authoredDate"] == "2020-07-06T19:54:26Z"
    assert flask[3769]["author"] is None and flask[3769]["headRefName"] == "pr-3769"
    bot = fake.dataset.get("tiangolo/fastapi").prs[11512]
    assert bot["author"] == {"__typename": "Bot", "login": "dependabot", "databaseId": 49699333}
    assert bot["commits"][0]["commit"]["author"]["user"] is None  # GitActor.user is a User, never a Bot
    open_pr = fake.dataset.get("antiwork/helper").prs[815]
    assert (open_pr["state"], open_pr["mergedAt"], open_pr["closedAt"]) == ("OPEN", None, None)
    assert open_pr["updatedAt"] == "2025-07-12T02:30:00Z"


def test_fetch_stores_the_ground_truth(fake, fetched):
    got = load_raw(fetched, REPOS).to_pylist()
    assert diff(got, truth(fake, REPOS)) == ""


def test_rest_fetch_stores_the_ground_truth(fake, tmp_path):
    summary = run_fetch(fake, ["pallets/flask", "tiangolo/fastapi"], tmp_path, token=None)
    assert summary.ok
    got = load_raw(tmp_path).to_pylist()
    assert diff(got, truth(fake, ["pallets/flask", "tiangolo/fastapi"], "rest")) == ""


def test_normalized_values_equal_the_jsonl(fetched):
    tables = normalize(load_raw(fetched)).tables
    prs = {(r["repo"], r["number"]): r for r in tables["gh_pull_requests"].to_pylist()}
    assert set(prs) == set(RECORDS)
    for key, rec in RECORDS.items():
        pr = prs[key]
        assert pr["title"] == rec["title"]
        assert pr["body"] == rec["body"]
        assert pr["created_at"] == when(rec["created_at"])
        assert pr["merged_at"] == (when(rec["merged_at"]) if rec["merged_at"] else None)
        assert (pr["additions"], pr["deletions"], pr["changed_files"]) == (
            rec["additions"],
            rec["deletions"],
            rec["changed_files"],
        )
        assert pr["state"] == ("merged" if rec["merged_at"] else "open")
    assert len(prs[("antiwork/helper", 812)]["body"]) > 2000
    assert prs[("pallets/flask", 3412)]["merged_at"] == datetime(2021, 4, 7, 12, 32, 20, tzinfo=UTC)
    assert prs[("pallets/flask", 3769)]["author_login"] is None
    by_bot = {k: (p["author_login"], p["author_is_bot"]) for k, p in prs.items() if p["author_is_bot"]}
    assert set(by_bot) == {("tiangolo/fastapi", 11512), ("antiwork/helper", 815)}
    assert not prs[("pallets/flask", 3412)]["author_is_bot"]

    files = sorted((r["repo"], r["number"], r["path"]) for r in tables["gh_files"].to_pylist())
    assert files == sorted((k[0], k[1], f["path"]) for k, rec in RECORDS.items() for f in rec["files"])

    commits = {r["sha"]: r for r in tables["gh_commits"].to_pylist()}
    assert commits["6979265fa643ed982d062f38d386c37bbbef0d9b"]["co_authors"] == ["David Lord <davidism@gmail.com>"]
    assert commits["4444444444444444444444444444444444444444"]["co_authors"] == [
        "Devin AI <158243242+devin-ai-integration[bot]@users.noreply.github.com>",
        "reason.koan@gmail.com <reason.koan@gmail.com>",
    ]
    assert commits["61fbae866478c19ea5f5c3b9b571a4fad0ba7e5c"]["author_id"] == 1242887
    assert commits["6979265fa643ed982d062f38d386c37bbbef0d9b"]["authored_at"] == when("2020-07-06T20:54:26+01:00")

    users = {u["login"]: u for u in tables["gh_users"].to_pylist()}
    assert users["pgjones"]["is_bot"] is False
    assert [u["is_bot"] for login, u in users.items() if "dependabot" in login] == [True]
    assert tables["gh_reviews"].num_rows == 0  # honest: the JSONL has no reviews


def test_synthetic_reviews_are_marked_and_deterministic():
    def reviews() -> dict:
        with FakeGitHub({}) as gh:
            load_jsonl(gh.dataset, [DATA], synthetic_reviews=True)
            return {(r.full_name, n): p["reviews"] for r in gh.dataset.repos.values() for n, p in r.prs.items()}

    first, again = reviews(), reviews()
    assert first == again
    flask = first[("pallets/flask", 3412)]
    assert flask and all(r["body"] == SYNTHETIC_REVIEW_BODY for r in flask)
    assert all(r["author"]["login"] != "pgjones" for r in flask)  # nobody reviews their own PR
    assert all("2020-07-06T19:54:26Z" <= r["submittedAt"] <= "2021-04-07T12:32:20Z" for r in flask)
    assert first[("antiwork/helper", 815)] == []  # not merged: no reviews


def test_utc_conversion():
    assert utc("2024-04-02T13:31:22+09:00") == "2024-04-02T04:31:22Z"
    assert utc("2024-04-02T04:31:22Z") == "2024-04-02T04:31:22Z"
    assert utc(None) is None


def test_cli_rejects_a_bad_jsonl(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"repo": "acme/x", "number": 1, "title": "t", "created_at": "2024-01-01T00:00:00Z"}\nnot json\n')
    with pytest.raises(SystemExit, match=r"bad\.jsonl:2: not JSON"):
        fake_main(["--port", "0", "--jsonl", str(bad)])
    with pytest.raises(SystemExit, match=r"missing\.jsonl"):
        fake_main(["--port", "0", "--jsonl", str(tmp_path / "missing.jsonl")])
