"""`demoseed normalize`: reads the raw cache, writes gh_*.parquet and prints what was repaired."""

from __future__ import annotations

import json

from pipeline import paths
from pipeline.base.parquet import read_table
from pipeline.base.schemas import NORMALIZED_TABLES
from pipeline.cli import main
from stages.fetch.cache import RepoCache
from tests.test_normalize import awkward_nodes


def _cache(nodes: list[dict]) -> None:
    for repo in sorted({n["repo"] for n in nodes}):
        cache = RepoCache(paths.raw_github_dir(), repo)
        state = cache.load_state()
        cache.commit_page([n for n in nodes if n["repo"] == repo], state)
        cache.compact(state)


def test_normalize_command_writes_tables_and_report(data_root, capsys):
    _cache(awkward_nodes())
    assert main(["normalize", "--repo", "acme/api"]) == 0
    out = capsys.readouterr().out
    assert "normalized 6 raw PR nodes from 1 repo(s)" in out  # load_raw already kept the newest acme/api#1
    assert "gh_pull_requests          4" in out
    assert "      1  pr: dropped, unknown state" in out
    assert "warning: 1 PR(s) list fewer reviews than GitHub's totalCount (not fully fetched)" in out
    latest = json.loads((data_root / "work" / "normalize" / "latest.json").read_text())
    target = data_root / "work" / "normalize" / latest["directory"]
    assert latest["repos"] == ["acme/api"] and f"into {target}" in out
    tables = {t.name: read_table(target / f"{t.name}.parquet", t) for t in NORMALIZED_TABLES}
    assert tables["gh_pull_requests"].column("number").to_pylist() == [1, 2, 3, 6]
    assert set(tables["gh_pull_requests"].column("repo").to_pylist()) == {"acme/api"}
    assert tables["gh_pull_requests"].column("title").to_pylist()[0] == "Fix bug"
    report = json.loads((target / "meta.json").read_text())["meta"]["report"]
    assert report["rows"]["gh_reviews"] == 5
    assert report["repairs"]["review: PENDING dropped (not a submitted review)"] == 1


def test_normalize_command_all_repos_to_output_dir(data_root, tmp_path, capsys):
    _cache(awkward_nodes())
    out_dir = tmp_path / "norm"
    assert main(["normalize", "--output", str(out_dir)]) == 0
    prs = read_table(out_dir / "gh_pull_requests.parquet", NORMALIZED_TABLES[0])
    assert [(r, n) for r, n in zip(prs.column("repo").to_pylist(), prs.column("number").to_pylist())] == [
        ("acme/api", 1),
        ("acme/api", 2),
        ("acme/api", 3),
        ("acme/api", 6),
        ("acme/web", 1),
    ]


def test_normalize_command_user_errors(data_root, capsys):
    assert main(["normalize", "--repo", "acme/api"]) == 2
    assert "nothing cached for acme/api" in capsys.readouterr().err
    assert main(["normalize", "--repo", "not-a-repo"]) == 2
    assert "is not owner/name" in capsys.readouterr().err
    assert main(["normalize", "--project", "antiwrk"]) == 2
    assert "Did you mean antiwork" in capsys.readouterr().err
