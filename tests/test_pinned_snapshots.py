"""Pinned snapshot ids: the built-in scenarios, a legacy run, a blended run and
a real-project run (both through the fake GitHub) must keep their bytes.

A change here is a change of every user's snapshots: it must be deliberate,
and the closing note of the change must list the new ids. ``tables`` pins the
data alone (the sha256 of every table file), ``id`` the whole manifest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pytest

from pipeline.cli import main

PINNED: dict[str, tuple[str, str]] = {
    "ai-success": ("1874fc30b8cf5a34", "47e64fe424597ceb"),
    "review-bottleneck": ("9892d6439d5901ca", "89b92ab986a9598d"),
    "baseline": ("82f74c1ba7c8600b", "3b8d2fe07b6ccecf"),
    "detective-game": ("83b51d45bfb681a0", "a3d40176f1280cea"),
    "legacy": ("725edce49e30ef78", "92afcf3bf2866c03"),
    "blended": ("f2e6175683843344", "adbb2afe2665981b"),
    "project": ("33d185514805e657", "dc278ffc5e37c0c3"),
}


def _digest(manifest: dict) -> str:
    tables = {name: t["sha256"] for name, t in sorted(manifest["tables"].items())}
    return hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()[:16]


# Per pinned run, the sha256 of every table file when the pins were last set: names the tables
# whose bytes changed (regenerate with DEMOSEED_WRITE_PINNED_TABLES=1 when the pins change on purpose).
PINNED_TABLES = Path(__file__).parent / "data" / "pinned_tables.json"


def _changed(name: str, manifest: dict) -> str:
    """Which tables' bytes differ from the per-table record (or why it cannot tell)."""
    got = {table: t["sha256"] for table, t in sorted(manifest["tables"].items())}
    record = json.loads(PINNED_TABLES.read_text()).get(name, {}) if PINNED_TABLES.is_file() else {}
    if hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16] != PINNED[name][1]:
        return "the per-table record does not match the pins; tables unknown"
    changed = sorted(t for t in {*record, *got} if record.get(t) != got.get(t))
    return f"tables whose bytes changed: {', '.join(changed)}" if changed else "no table changed (params or inputs did)"


def _pinned(name: str, snap_dir) -> None:
    manifest = json.loads((snap_dir / "manifest.json").read_text())
    got = (manifest["snapshot_id"], _digest(manifest))
    print(f"PIN {name}: {got}")
    if os.environ.get("DEMOSEED_WRITE_PINNED_TABLES"):
        record = json.loads(PINNED_TABLES.read_text()) if PINNED_TABLES.is_file() else {}
        tables = {table: t["sha256"] for table, t in sorted(manifest["tables"].items())}
        PINNED_TABLES.write_text(json.dumps({**record, name: tables}, indent=1, sort_keys=True) + "\n")
    assert got == PINNED[name], f"{name}: snapshot bytes changed: {got}; {_changed(name, manifest)}"


@pytest.mark.parametrize("scenario", ["ai-success", "review-bottleneck", "baseline", "detective-game"])
def test_builtin_scenarios_at_seed_42(data_root, scenario):
    assert main(["snapshot", "--scenario", scenario, "--seed", "42", "--no-github"]) == 0
    (snap,) = (data_root / "snapshots").iterdir()
    _pinned(scenario, snap)


def test_legacy_run(data_root):
    args = ["snapshot", "--teams", "3", "--members", "4", "--prs", "30", "--seed", "42", "--no-github"]
    assert main(args) == 0
    (snap,) = (data_root / "snapshots").iterdir()
    _pinned("legacy", snap)


def test_blended_run_from_the_fake_github(data_root, monkeypatch):
    from tests.fake_github import FakeGitHub
    from tests.fake_github.testing import TOKEN

    with FakeGitHub({"acme/widgets": 80}) as gh:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        assert main(["snapshot", "--scenario", "review-bottleneck", "--seed", "42", "--repo", "acme/widgets"]) == 0
    (snap,) = (data_root / "snapshots").iterdir()
    _pinned("blended", snap)


def test_real_project_run_from_the_fake_github(data_root, monkeypatch):
    import pipeline.base.projects as projects
    from tests.fake_github import FakeGitHub
    from tests.fake_github.testing import TOKEN

    small = dataclasses.replace(projects.get_preset("fastapi"), max_prs_per_repo=40)
    monkeypatch.setattr(projects, "get_preset", lambda key: small)
    with FakeGitHub({"tiangolo/fastapi": 60}) as gh:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        assert main(["snapshot", "--project", "fastapi", "--seed", "42"]) == 0
    (snap,) = (data_root / "snapshots").iterdir()
    _pinned("project", snap)
