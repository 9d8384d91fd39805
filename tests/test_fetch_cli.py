"""`demoseed fetch` against the fake: output, exit codes, presets."""

from __future__ import annotations

import pytest

from pipeline.cli import main
from stages.fetch import load_raw
from tests.fake_github import FakeGitHub
from tests.fake_github.testing import diff, truth


@pytest.fixture
def fake(monkeypatch):
    with FakeGitHub({"acme/widgets": 12, "tiangolo/fastapi": 8}) as gh:
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.setenv("GITHUB_TOKEN", "test-token")
        yield gh


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
