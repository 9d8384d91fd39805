"""`demoseed fetch` against the fake: output, exit codes, presets."""

from __future__ import annotations

import pytest

from pipeline.cli import main
from stages.fetch import load_raw
from tests.fake_github.testing import diff, truth

REPOS = {"acme/widgets": 12, "tiangolo/fastapi": 8}  # served by the shared `fake` fixture (tests/conftest.py)


@pytest.fixture
def fake(fake, monkeypatch):
    """The shared fake GitHub, which the command reaches through its environment."""
    monkeypatch.setenv("GITHUB_API_URL", fake.url)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    return fake


def test_fetch_repo_prints_a_summary(fake, data_root, capsys):
    assert main(["fetch", "--repo", "acme/widgets"]) == 0
    out = capsys.readouterr().out
    assert "acme/widgets" in out and " ok " in out
    assert "1 repo(s) via graphql:" in out
    raw = data_root / "raw" / "github"
    assert diff(load_raw(raw).to_pylist(), truth(fake, ["acme/widgets"])) == ""
    assert main(["fetch", "--repo", "acme/widgets"]) == 0
    assert "unchanged  incremental" in capsys.readouterr().out


def test_fetch_project_preset(fake, data_root, capsys):
    assert main(["fetch", "--project", "fastapi", "--since", "2020-01-01"]) == 0
    assert "tiangolo/fastapi" in capsys.readouterr().out
    assert load_raw(data_root / "raw" / "github").num_rows == 8


def test_fetch_project_takes_the_newest_prs_whatever_today_is(fake, data_root, monkeypatch):
    # The fake's PRs are from January 2026, more than days_back (180) before the real today:
    # a preset is not windowed by the wall clock (that would fetch nothing from a quiet project);
    # it takes the newest max_prs_per_repo PRs, and days_back applies when the team is built.
    import dataclasses

    import pipeline.base.projects as projects

    small = dataclasses.replace(projects.get_preset("fastapi"), max_prs_per_repo=5)
    monkeypatch.setattr(projects, "get_preset", lambda key: small)
    assert main(["fetch", "--project", "fastapi"]) == 0
    raw = load_raw(data_root / "raw" / "github")
    newest = sorted(truth(fake, ["tiangolo/fastapi"]), key=lambda r: r["updatedAt"], reverse=True)[:5]
    assert sorted(raw.column("number").to_pylist()) == sorted(r["number"] for r in newest)


def test_failed_repo_exit_1_with_message(fake, data_root, capsys):
    assert main(["fetch", "--repo", "acme/widgets", "--repo", "acme/nope"]) == 1
    err = capsys.readouterr().err
    assert "error: acme/nope: repository not found: Could not resolve to a Repository with the name 'acme/nope'." in err
    assert "1 repo(s) failed: acme/nope" in err


def test_paused_exit_3_says_when_to_resume(fake, data_root, capsys):
    fake.inject("primary", op="PullRequestsPage")
    assert main(["fetch", "--repo", "acme/widgets", "--max-wait", "10"]) == 3
    err = capsys.readouterr().err
    assert "paused by GitHub's rate limit (acme/widgets)" in err and "to resume" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to fetch; give --repo owner/name"),
        (["--repo", "flask"], "--repo 'flask' is not owner/name"),
        (["--repo", "a/b", "--since", "yesterday"], "--since 'yesterday' is not a date"),
        (["--repo", "a/b", "--since", "2026-01-02", "--until", "2026-01-01"], "is not before --until"),
        (["--project", "nosuchproject"], "unknown project 'nosuchproject'"),
    ],
)
def test_user_errors(data_root, capsys, args, message):
    assert main(["fetch", *args]) == 2
    assert message in capsys.readouterr().err
