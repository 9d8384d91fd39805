"""Requests that differ never share a snapshot name (issue 12.2); a default request keeps its short name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.base.manifest import verify_snapshot
from pipeline.cli import main
from pipeline.runners.snapshot import SnapshotRequest, snapshot_name
from stages.generate.config import GenerateConfig


def test_weeks_12_then_the_default_keeps_both(data_root: Path) -> None:
    assert main(["snapshot", "--scenario", "baseline", "--weeks", "12"]) == 0
    assert main(["snapshot", "--scenario", "baseline"]) == 0
    snaps = data_root / "snapshots"
    assert sorted(p.name for p in snaps.iterdir()) == ["baseline-seed42", "baseline-seed42-w12"]
    assert len(verify_snapshot(snaps / "baseline-seed42-w12").week_starts or ()) == 12
    assert len(verify_snapshot(snaps / "baseline-seed42").week_starts or ()) == 8


@pytest.mark.parametrize(
    ("req", "name"),
    [
        (SnapshotRequest(), "ai-success-seed42"),
        (SnapshotRequest(GenerateConfig(seed=7)), "ai-success-seed7"),
        (SnapshotRequest(GenerateConfig(weeks=12, anchor=dt.date(2026, 3, 2))), "ai-success-seed42-w12-a2026-03-02"),
        (
            SnapshotRequest(GenerateConfig(real_share=0, teams=3, team_slug="acme")),
            "ai-success-seed42-rs0-t3-team-acme",
        ),
        (SnapshotRequest(GenerateConfig(members=8, prs=120)), "ai-success-seed42-m8-p120"),
        (SnapshotRequest(GenerateConfig(scenario=None, teams=3, members=4, prs=30)), "legacy-t3m4p30-seed42"),
        (SnapshotRequest(no_github=True), "ai-success-seed42-no-github"),
        (SnapshotRequest(GenerateConfig(scenario=None), project="antiwork"), "antiwork-seed42"),
    ],
)
def test_names_show_every_parameter_given(req: SnapshotRequest, name: str) -> None:
    scenario = None if req.generate.scenario is None else "ai-success"
    assert snapshot_name(req, scenario) == name


def test_data_sources_get_a_short_hash() -> None:
    a = snapshot_name(SnapshotRequest(repos=("acme/widgets",)), "ai-success")
    b = snapshot_name(SnapshotRequest(repos=("acme/gadgets",)), "ai-success")
    c = snapshot_name(SnapshotRequest(real_data=Path("/tmp/real")), "ai-success")
    assert a.startswith("ai-success-seed42-src-") and len({a, b, c}) == 3
    assert a == snapshot_name(SnapshotRequest(repos=("acme/widgets",)), "ai-success")
