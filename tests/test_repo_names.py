"""One rule for owner/name (pipeline.base.github), the same for --repo, scenario files and the fetch stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.base.errors import UserError
from pipeline.base.github import is_repo_name
from pipeline.cli import main
from stages.generate.scenario import load_scenario

BAD = ("a b/c", "ünï/x", "owner", "a/b/c", "/name", "owner/", "")


def test_owner_name_is_githubs_characters():
    assert all(is_repo_name(r) for r in ("pallets/flask", "yanchuk/github-issues-rag", "a_b.c/d-e.f"))
    assert not any(is_repo_name(r) for r in BAD)


@pytest.mark.parametrize("repo", ["a b/c", "ünï/x", "a/b/c"])
def test_fetch_refuses_a_repo_that_is_not_owner_name(repo, data_root, capsys):
    assert main(["fetch", "--repo", repo]) == 2
    assert f"--repo {repo!r} is not owner/name" in capsys.readouterr().err


@pytest.mark.parametrize("repo", ["ünï/x", "a/b/c"])
def test_a_scenario_source_repo_follows_the_same_rule(tmp_path: Path, repo):
    base = (Path(__file__).resolve().parents[1] / "stages/generate/scenarios/baseline.toml").read_text("utf-8")
    path = tmp_path / "s.toml"
    path.write_text(base.replace('jira_prefix = "BASE"', f'jira_prefix = "BASE"\nsource_repos = ["{repo}"]'), "utf-8")
    assert f'source_repos = ["{repo}"]' in path.read_text("utf-8")
    with pytest.raises(UserError, match="source_repos: expected a list of 'owner/name' strings"):
        load_scenario(path)
