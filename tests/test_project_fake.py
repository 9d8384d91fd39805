"""Normalize + real-project mode on the fake GitHub's dataset, against its ground truth.

The fake's ``Dataset`` holds PRs in GraphQL's shape; ``expected_rows`` is what
a faithful fetch caches (gh_raw_pull_requests rows). Ground truth is computed
here straight from the fake's PR dicts: its bot is ``dependabot`` (GraphQL
spells app bots without ``[bot]``), deleted authors are null, and two repos
share PR numbers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pyarrow as pa
import pytest

from pipeline.base.projects import Preset
from pipeline.base.schemas import GH_RAW_PULL_REQUESTS
from stages.generate.real_project.build import build_project
from stages.normalize import normalize
from tests.fake_github.dataset import Dataset
from tests.test_project import load_into_postgres

REPOS = {"fakeorg/api": 45, "fakeorg/web": 30}


def preset(max_members: int = 50) -> Preset:
    return Preset(
        key="fakeorg",
        team_name="Fake Org",
        team_slug="fakeorg-demo",
        repos=tuple(REPOS),
        max_prs_per_repo=1000,
        max_members=max_members,
        days_back=60,
        jira_key="FAKE",
        ai_base_rate=0.4,
        survey_response_rate=0.6,
        industry="devops",
    )


@pytest.fixture(scope="module")
def fake():
    data = Dataset(REPOS, seed=7)
    raw = pa.Table.from_pylist(
        [row for repo in REPOS for row in data.expected_rows(repo)], schema=GH_RAW_PULL_REQUESTS.schema
    )
    prs = {(repo, p["number"]): p for repo in REPOS for p in data.get(repo).prs.values()}
    return raw, prs


@pytest.fixture(scope="module")
def normalized(fake):
    return normalize(fake[0])


def test_rest_shaped_rows_normalize_the_same_people_and_states(fake):
    """REST spells app bots with [bot] and cannot give closing issues or commit sizes."""
    _, truth = fake
    data = Dataset(REPOS, seed=7)
    rows = [row for repo in REPOS for row in data.expected_rows(repo, "rest")]
    res = normalize(pa.Table.from_pylist(rows, schema=GH_RAW_PULL_REQUESTS.schema))
    prs = {(r["repo"], r["number"]): r for r in res.tables["gh_pull_requests"].to_pylist()}
    for key, p in truth.items():
        row = prs[key]
        assert row["state"] == p["state"].lower()
        assert row["author_is_bot"] == is_bot(p["author"])
        if is_bot(p["author"]):
            assert row["author_login"] == "dependabot[bot]"
        assert row["linked_issues"] == []
        assert row["review_count"] == len(p["reviews"])
    assert set(res.tables["gh_commits"].column("additions").to_pylist()) == {0}


def is_bot(author: dict | None) -> bool:
    return author is not None and author["__typename"] == "Bot"


def test_normalized_tables_match_the_fake(fake, normalized):
    _, truth = fake
    prs = {(r["repo"], r["number"]): r for r in normalized.tables["gh_pull_requests"].to_pylist()}
    assert set(prs) == set(truth)
    for key, p in truth.items():
        row = prs[key]
        assert row["state"] == p["state"].lower()
        assert row["created_at"] == dt.datetime.fromisoformat(p["createdAt"])
        assert row["author_login"] == (p["author"]["login"] if p["author"] else None)
        assert row["author_is_bot"] == is_bot(p["author"])
        assert row["review_count"] == len(p["reviews"])
        assert row["commit_count"] == len(p["commits"])
        assert row["labels"] == [x["name"] for x in p["labels"]]
        assert row["linked_issues"] == [x["number"] for x in p["closingIssuesReferences"]]
    reviews = Counter((r["repo"], r["number"]) for r in normalized.tables["gh_reviews"].to_pylist())
    assert reviews == Counter({k: len(p["reviews"]) for k, p in truth.items() if p["reviews"]})
    files = normalized.tables["gh_files"].num_rows
    assert files == sum(len(p["files"]) for p in truth.values())
    bots = {u["login"] for u in normalized.tables["gh_users"].to_pylist() if u["is_bot"]}
    assert bots == ({"dependabot"} if any(is_bot(p["author"]) for p in truth.values()) else set())


def _ground_truth(truth: dict) -> tuple[dict, Counter, Counter]:
    kept = {k: p for k, p in truth.items() if not is_bot(p["author"])}
    activity: Counter = Counter()
    for p in kept.values():
        if p["author"]:
            activity[p["author"]["login"]] += 1
        for r in p["reviews"]:
            if r["author"] and r["author"]["__typename"] == "User":
                activity[r["author"]["login"]] += 1
    reviews = Counter({k: len(p["reviews"]) for k, p in kept.items()})
    return kept, activity, reviews


def test_project_equals_the_fakes_ground_truth_after_bot_filtering(fake, normalized):
    _, truth = fake
    kept, activity, review_truth = _ground_truth(truth)
    assert len(kept) < len(truth)  # the dataset does have bot PRs to filter
    res = build_project(preset(), normalized.tables, seed=3, anchor=None)
    t = res.tables

    members = {m["id"]: m["github_username"] for m in t["metrics_teammember"].to_pylist()}
    assert set(members.values()) == set(activity)
    prs = {p["id"]: p for p in t["metrics_pullrequest"].to_pylist()}
    assert {(p["github_repo"], p["github_pr_id"]) for p in prs.values()} == set(kept)
    for p in prs.values():
        author = kept[(p["github_repo"], p["github_pr_id"])]["author"]
        assert members.get(p["author_id"]) == (author["login"] if author else None)
    per_pr = Counter()
    for r in t["metrics_prreview"].to_pylist():
        p = prs[r["pull_request_id"]]
        per_pr[(p["github_repo"], p["github_pr_id"])] += 1
        assert r["reviewer_id"] in members
    assert per_pr == +review_truth
    commit_truth = Counter({k: len(p["commits"]) for k, p in kept.items()})
    per_pr_commits = Counter()
    for c in t["metrics_commit"].to_pylist():
        p = prs[c["pull_request_id"]]
        per_pr_commits[(p["github_repo"], p["github_pr_id"])] += 1
    assert per_pr_commits == +commit_truth
    assert res.info.anchor.isoformat() == "2026-01-05"


def test_member_cap_keeps_the_most_active(fake, normalized):
    _, truth = fake
    _, activity, _ = _ground_truth(truth)
    res = build_project(preset(max_members=5), normalized.tables, seed=3, anchor=None)
    members = {m["github_username"] for m in res.tables["metrics_teammember"].to_pylist()}
    assert len(members) == 5
    assert min(activity[m] for m in members) >= max(activity[o] for o in activity if o not in members)
    prs = res.tables["metrics_pullrequest"]
    assert prs.num_rows == len(_ground_truth(truth)[0])  # non-members' PRs stay, unattributed
    assert set(prs.column("author_id").drop_null().to_pylist()) <= set(range(1, 6))


@pytest.mark.postgres
def test_project_from_the_fake_loads_into_postgres(fake, normalized, pg_database):
    res = build_project(preset(), normalized.tables, seed=3, anchor=None)
    counts = load_into_postgres(pg_database, res.tables)
    assert counts == {name: res.tables[name].num_rows for name in counts}
    assert counts["metrics_prsurvey"] > 0 and counts["metrics_jiraissue"] == counts["metrics_pullrequest"]


def test_pages_served_by_the_fake_and_fetched_normalize_to_its_ground_truth(tmp_path):
    from stages.fetch import fetch_repos, load_raw
    from tests.fake_github.server import FakeGitHub

    with FakeGitHub(REPOS, seed=7) as gh:
        summary = fetch_repos(list(REPOS), raw_dir=tmp_path / "raw", token="test-token", api_url=gh.url, clock=gh.clock)
        assert summary.ok
        truth = {(repo, p["number"]): p for repo in REPOS for p in gh.dataset.get(repo).prs.values()}
    result = normalize(load_raw(tmp_path / "raw", list(REPOS)))
    prs = {(r["repo"], r["number"]): r for r in result.tables["gh_pull_requests"].to_pylist()}
    assert set(prs) == set(truth)
    for key, p in truth.items():
        assert prs[key]["review_count"] == len(p["reviews"]), key
        assert prs[key]["commit_count"] == len(p["commits"]), key
        assert prs[key]["author_is_bot"] == is_bot(p["author"]), key
    assert result.tables["gh_files"].num_rows == sum(len(p["files"]) for p in truth.values())
    assert result.tables["gh_commits"].num_rows == sum(len(p["commits"]) for p in truth.values())


def test_awkward_pages_served_by_the_fake_are_repaired_after_fetch(tmp_path):
    """NUL bytes, offsets, a deleted reviewer, DISMISSED and PENDING reviews, through HTTP and the raw cache."""
    from stages.fetch import fetch_repos, load_raw
    from tests.fake_github.server import FakeGitHub

    with FakeGitHub({"acme/x": 5}, seed=7) as gh:
        pr = gh.dataset.get("acme/x").prs[3]
        pr["title"] = "NUL here\x00!"
        pr["createdAt"] = "2025-12-01T10:00:00+01:00"
        pr["reviews"] = [
            {
                "databaseId": 99,
                "author": None,
                "state": "DISMISSED",
                "submittedAt": "2025-12-01T12:00:00-02:00",
                "body": "",
            },
            {
                "databaseId": 98,
                "author": {"__typename": "User", "login": "zed", "databaseId": 5},
                "state": "PENDING",
                "submittedAt": None,
                "body": "draft\x00",
            },
        ]
        assert fetch_repos(["acme/x"], raw_dir=tmp_path, token="test-token", api_url=gh.url, clock=gh.clock).ok
    res = normalize(load_raw(tmp_path, ["acme/x"]))
    row = next(r for r in res.tables["gh_pull_requests"].to_pylist() if r["number"] == 3)
    assert (row["title"], row["created_at"], row["review_count"]) == (
        "NUL here!",
        dt.datetime(2025, 12, 1, 9, 0, tzinfo=dt.UTC),
        1,
    )
    reviews = [r for r in res.tables["gh_reviews"].to_pylist() if r["number"] == 3]
    assert [(r["review_id"], r["reviewer_login"], r["state"], r["submitted_at"]) for r in reviews] == [
        (99, None, "commented", dt.datetime(2025, 12, 1, 14, 0, tzinfo=dt.UTC))
    ]
    assert res.report["repairs"] == {
        "review: DISMISSED mapped to commented": 1,
        "review: PENDING dropped (not a submitted review)": 1,
        "review: reviewer deleted (null/ghost), reviewer_login null": 1,
        "text: reviews[].body: NUL bytes removed": 1,
        "text: title: NUL bytes removed": 1,
    }
