"""`demoseed snapshot` end to end: stages in order, skip when up to date, same bytes everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.base.manifest import read_snapshot_tables, verify_snapshot
from pipeline.base.parquet import write_table
from pipeline.base.schemas import APP_LOAD_ORDER, GH_PULL_REQUESTS, SNAPSHOT_TABLES
from pipeline.cli import main

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

pytest.importorskip("stages.generate")

DEMOSEED = Path(sys.executable).with_name("demoseed")


def _snapshot(data_root: Path, *args: str, hashseed: str = "0") -> subprocess.CompletedProcess:
    env = {**os.environ, "DEMOSEED_DATA": str(data_root), "PYTHONHASHSEED": hashseed}
    env.pop("GITHUB_TOKEN", None)
    return subprocess.run([str(DEMOSEED), "snapshot", *args], capture_output=True, text=True, env=env)


def test_offline_snapshot_is_synthetic_only_and_says_so(data_root, capsys):
    assert main(["snapshot", "--scenario", "baseline", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "synthetic only" in out
    snap = data_root / "snapshots" / "baseline-seed3"
    manifest = verify_snapshot(snap)
    assert set(manifest.tables) == set(SNAPSHOT_TABLES)
    assert manifest.params["request"]["seed"] == 3
    assert manifest.params["request"]["scenario"] == "baseline"
    assert manifest.params["generate"]["real_share_realized"] == 0
    assert any("synthetic only" in n for n in manifest.notes)
    tables = read_snapshot_tables(snap)
    for name in APP_LOAD_ORDER:
        assert tables[name].num_rows > 0, name
    # weekly metrics cover every active member for every week of the scenario
    members = tables["metrics_teammember"].num_rows
    weeks = len(manifest.params["generate"]["week_starts"])
    assert tables["metrics_weeklymetrics"].num_rows == members * weeks


def test_second_run_is_skipped_and_force_rebuilds_the_same_bytes(data_root, capsys):
    assert main(["snapshot", "--scenario", "ai-success", "--seed", "5", "--no-github"]) == 0
    snap = data_root / "snapshots" / "ai-success-seed5-no-github"
    before = {p.name: p.read_bytes() for p in snap.iterdir()}
    capsys.readouterr()
    assert main(["snapshot", "--scenario", "ai-success", "--seed", "5", "--no-github"]) == 0
    assert "is up to date" in capsys.readouterr().out
    assert main(["snapshot", "--scenario", "ai-success", "--seed", "5", "--no-github", "--force"]) == 0
    assert {p.name: p.read_bytes() for p in snap.iterdir()} == before


def test_two_processes_on_two_data_roots_give_identical_snapshots(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    ra = _snapshot(a, "--scenario", "review-bottleneck", "--seed", "42", hashseed="1")
    rb = _snapshot(b, "--scenario", "review-bottleneck", "--seed", "42", hashseed="999")
    assert ra.returncode == 0, ra.stderr
    assert rb.returncode == 0, rb.stderr
    sa, sb = a / "snapshots" / "review-bottleneck-seed42", b / "snapshots" / "review-bottleneck-seed42"
    files = sorted(p.name for p in sa.iterdir())
    assert files == sorted(p.name for p in sb.iterdir())
    for name in files:
        assert (sa / name).read_bytes() == (sb / name).read_bytes(), name
    other = _snapshot(tmp_path / "c", "--scenario", "review-bottleneck", "--seed", "43")
    assert other.returncode == 0, other.stderr
    sc = tmp_path / "c" / "snapshots" / "review-bottleneck-seed43"
    assert (sc / "metrics_pullrequest.parquet").read_bytes() != (sa / "metrics_pullrequest.parquet").read_bytes()


def _real_prs(n: int) -> pa.Table:
    from tests.tablefactory import make_table

    t = make_table(GH_PULL_REQUESTS, n)
    numbers = pa.array(range(100, 100 + n), pa.int64())
    t = t.set_column(t.schema.get_field_index("number"), "number", numbers)
    t = t.set_column(t.schema.get_field_index("repo"), "repo", pa.array(["pallets/flask"] * n))
    return t.set_column(t.schema.get_field_index("state"), "state", pa.array(["merged"] * n))


def test_real_data_is_blended_and_recorded(data_root, tmp_path, capsys):
    real = tmp_path / "real"
    write_table(_real_prs(60), GH_PULL_REQUESTS, real / "gh_pull_requests.parquet")
    assert main(["snapshot", "--scenario", "baseline", "--seed", "3", "--real-data", str(real)]) == 0
    (snap,) = (data_root / "snapshots").iterdir()  # baseline-seed3-src-<hash of --real-data>
    manifest = verify_snapshot(snap)
    info = manifest.params["generate"]
    assert 0.2 <= info["real_share_realized"] <= 0.3
    assert manifest.inputs["real"]["real_data"] == str(real)
    prov = read_snapshot_tables(snap, ["demoseed_provenance"])["demoseed_provenance"].to_pylist()
    blended = [r for r in prov if r["real_repo"] is not None]
    assert blended and all(r["real_repo"] == "pallets/flask" and 100 <= r["real_number"] < 160 for r in blended)
    prs = read_snapshot_tables(snap, ["metrics_pullrequest"])["metrics_pullrequest"]
    assert len(blended) / prs.num_rows == pytest.approx(info["real_share_realized"], abs=1e-6)


def test_manifest_is_canonical_json(data_root):
    assert main(["snapshot", "--scenario", "detective-game", "--no-github"]) == 0
    text = (data_root / "snapshots" / "detective-game-seed42-no-github" / "manifest.json").read_text()
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_with_a_token_the_snapshot_fetches_normalizes_and_blends(data_root, monkeypatch, capsys):
    from tests.fake_github import FakeGitHub
    from tests.fake_github.testing import TOKEN

    with FakeGitHub({"acme/widgets": 80}) as gh:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        args = ["snapshot", "--scenario", "baseline", "--seed", "8", "--repo", "acme/widgets"]
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "acme/widgets: ok (80 PRs fetched, 80 cached" in out
        (snap,) = (data_root / "snapshots").iterdir()  # baseline-seed8-src-<hash of --repo>
        manifest = verify_snapshot(snap)
        assert manifest.inputs["real"]["real_data"] == "github-cache"
        assert manifest.params["source_repos"] == ["acme/widgets"]
        assert 0.2 <= manifest.params["generate"]["real_share_realized"] <= 0.3
        prov = read_snapshot_tables(snap, ["demoseed_provenance"])["demoseed_provenance"].to_pylist()
        assert {r["real_repo"] for r in prov if r["real_repo"]} == {"acme/widgets"}
        assert TOKEN not in (snap / "manifest.json").read_text()
        # Nothing changed on GitHub: one cheap request, and the snapshot is left as it is.
        n = len(gh.log)
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "acme/widgets: unchanged" in out and "is up to date" in out
        assert len(gh.log) - n == 1


def test_project_snapshot_fetches_only_the_presets_newest_prs(data_root, monkeypatch, capsys):
    import dataclasses

    import pipeline.base.projects as projects
    from stages.fetch import load_raw
    from tests.fake_github import FakeGitHub
    from tests.fake_github.testing import TOKEN, truth

    small = dataclasses.replace(projects.get_preset("fastapi"), max_prs_per_repo=6)
    monkeypatch.setattr(projects, "get_preset", lambda key: small)
    with FakeGitHub({"tiangolo/fastapi": 15}) as gh:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        assert main(["snapshot", "--project", "fastapi"]) == 0
        newest = sorted(truth(gh, ["tiangolo/fastapi"]), key=lambda r: r["updatedAt"], reverse=True)[:6]
    raw = load_raw(data_root / "raw" / "github")
    assert sorted(raw.column("number").to_pylist()) == sorted(r["number"] for r in newest)
    manifest = verify_snapshot(data_root / "snapshots" / "fastapi-seed42")
    assert manifest.params["mode"] == "project"
    prs = read_snapshot_tables(data_root / "snapshots" / "fastapi-seed42", ["metrics_pullrequest"])
    assert set(prs["metrics_pullrequest"].column("github_pr_id").to_pylist()) <= {r["number"] for r in newest}


def test_legacy_flags_without_teams_make_one_team(data_root):
    """--members/--prs without --teams: one team (GenerateConfig's default), as with --teams 1."""
    assert main(["snapshot", "--members", "4", "--prs", "30", "--no-github"]) == 0
    snap = data_root / "snapshots" / "legacy-t1m4p30-seed42-no-github"
    manifest = verify_snapshot(snap)
    assert manifest.mode == "legacy"
    assert manifest.params["generate"]["teams"] == 1
    assert manifest.params["generate"]["members"] == 4
    assert read_snapshot_tables(snap, ["teams_team"])["teams_team"].num_rows == 1
