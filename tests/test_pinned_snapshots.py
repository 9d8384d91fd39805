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

import pytest

from pipeline.cli import main

PINNED: dict[str, tuple[str, str]] = {
    "ai-success": ("e93055f724868b34", "37e190bbc6ca0cff"),
    "review-bottleneck": ("5a4ddeea37ce7259", "23b3105ae66b6094"),
    "baseline": ("b04b55999cc229dc", "767b201f80859fcb"),
    "detective-game": ("72dd29563e25b0a1", "0f7c58153ea4d6ac"),
    "legacy": ("ec058c80ca619d34", "fbf9aff0aa7c035a"),
    "blended": ("a36312d8a2557558", "a7e86b899d0b18e5"),
    "project": ("9c8580505cb30916", "edc4bd9f1032d3dc"),
}


def _digest(manifest: dict) -> str:
    tables = {name: t["sha256"] for name, t in sorted(manifest["tables"].items())}
    return hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()[:16]


def _pinned(name: str, snap_dir) -> None:
    manifest = json.loads((snap_dir / "manifest.json").read_text())
    got = (manifest["snapshot_id"], _digest(manifest))
    print(f"PIN {name}: {got}")
    assert got == PINNED[name], f"{name}: snapshot bytes changed: {got}"


@pytest.mark.parametrize("scenario", ["ai-success", "review-bottleneck", "baseline", "detective-game"])
def test_builtin_scenarios_at_seed_42(data_root, scenario):
    assert main(["snapshot", "--scenario", scenario, "--seed", "42", "--no-github"]) == 0
    _pinned(scenario, data_root / "snapshots" / f"{scenario}-seed42-no-github")


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
