"""The run's mode, resolved once, and the typed run record the manifest writes and reads."""

from __future__ import annotations

import datetime as dt

from pipeline.base.runrecord import GenerateInfo, Mode, ProjectInfo, run_record_from_json
from pipeline.runners.snapshot import SnapshotRequest
from stages.generate import GenerateConfig, generate


def test_the_mode_is_resolved_once_from_the_request():
    project = SnapshotRequest(generate=GenerateConfig(scenario=None), project="antiwork")
    assert (project.mode, project.generate.mode, project.generate.legacy) == (Mode.PROJECT, Mode.PROJECT, False)
    legacy = SnapshotRequest(generate=GenerateConfig(scenario=None, members=3, prs=5))
    assert (legacy.mode, legacy.generate.legacy) == (Mode.LEGACY, True)
    assert SnapshotRequest().mode is Mode.SCENARIO
    assert project.generate.as_params() == GenerateConfig(scenario=None).as_params()  # not part of the hashed request


def test_a_generate_record_reads_back_as_written():
    info = generate(GenerateConfig(scenario="baseline", seed=1, weeks=2, anchor=dt.date(2026, 1, 5))).info
    back = run_record_from_json(info.as_json())
    assert isinstance(back, GenerateInfo) and back == info
    assert back.mode is Mode.SCENARIO and back.scenario_name == "baseline" and back.real_fields == ()
    assert info.as_json()["real_share_realized"] == info.as_json()["real_share"] == back.real_share


def test_a_project_record_reads_back_as_written():
    start = dt.datetime(2025, 3, 10, tzinfo=dt.UTC)
    info = ProjectInfo(
        project="acme",
        team_slugs=("acme",),
        seed=3,
        anchor=dt.date(2025, 6, 2),
        anchor_source="given",
        window=(start, start + dt.timedelta(days=91)),
        week_starts=(dt.date(2025, 5, 26), dt.date(2025, 6, 2)),
        repos=("acme/api",),
        members=4,
        real_prs=12,
        real_fields=("title",),
        simulated_fields=("is_ai_assisted",),
        simulated_tables=("metrics_prsurvey",),
        dropped={"reviews by bots dropped": 2},
    )
    doc = info.as_json()
    assert doc["window"] == ["2025-03-10T00:00:00+00:00", "2025-06-09T00:00:00+00:00"]
    assert (doc["mode"], doc["real_share"], doc["real_share_realized"], doc["real_source_prs"]) == (
        "project",
        1.0,
        1.0,
        12,
    )
    assert run_record_from_json(doc) == info
    assert info.scenario_name is None and info.scenario_parameters is None
