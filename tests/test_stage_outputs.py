"""The single-stage commands and ``snapshot`` share stage outputs under data/work/ without wiping each other's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from tests.test_normalize import awkward_nodes
from tests.test_normalize_cli import _cache


def _dirs(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if p.is_dir()} if root.is_dir() else set()


def test_normalize_generate_and_snapshot_keep_each_others_outputs(data_root: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("PATH", "")  # no `gh auth token` either: the raw cache only
    _cache(awkward_nodes())
    work = data_root / "work"
    snap = ["snapshot", "--scenario", "baseline", "--repo", "acme/api"]
    assert main(snap) == 0
    normalize_dirs, generate_dirs = _dirs(work / "normalize"), _dirs(work / "generate")
    assert len(normalize_dirs) == 1 and len(generate_dirs) == 1
    capsys.readouterr()

    # the same repo: normalize reuses the snapshot's output; all repos: a second output beside it
    assert main(["normalize", "--repo", "acme/api"]) == 0
    latest = json.loads((work / "normalize" / "latest.json").read_text())
    assert {latest["directory"]} == normalize_dirs
    assert main(["normalize"]) == 0
    assert normalize_dirs < _dirs(work / "normalize") and len(_dirs(work / "normalize")) == 2
    assert main(["generate", "--scenario", "baseline", "--no-github"]) == 0
    assert _dirs(work / "generate") == generate_dirs | {"baseline-seed42"}

    # the snapshot's stage outputs are all still there: a forced rebuild reads both back
    capsys.readouterr()
    assert main([*snap, "--force"]) == 0
    out = capsys.readouterr().out
    assert "real PRs from acme/api (cached)" in out
    assert "tables (cached)" in out
    assert normalize_dirs < _dirs(work / "normalize") and generate_dirs < _dirs(work / "generate")


@pytest.mark.parametrize(
    "args",
    [["--weeks", "999"], ["--members", "1", "--teams", "1", "--prs", "3"], ["--real-share", "0.5"]],
)
def test_snapshot_refuses_a_bound_before_any_stage_runs(data_root: Path, args: list[str], capsys) -> None:
    assert main(["snapshot", "--no-github", *args]) == 2
    assert "error:" in capsys.readouterr().err
    assert not (data_root / "work").exists() and not (data_root / "snapshots").exists()


def test_real_share_0_is_synthetic_only_in_snapshot_and_generate(data_root: Path, tmp_path: Path, capsys) -> None:
    from pipeline.base.manifest import read_manifest

    assert main(["snapshot", "--scenario", "baseline", "--no-github", "--real-share", "0"]) == 0
    manifest = read_manifest(data_root / "snapshots" / "baseline-seed42-rs0-no-github")
    assert manifest.generate["real_share"] == 0 and manifest.generate["real_share_requested"] == 0
    assert main(["generate", "--scenario", "baseline", "--real-share", "0", "-o", str(tmp_path / "g")]) == 0
    info = json.loads((tmp_path / "g" / "info.json").read_text())
    assert info["real_share"] == 0 and info["real_share_reason"] == "real share set to 0"
