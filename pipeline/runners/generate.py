"""The generate runner: a scenario, legacy or real-project run with the pipeline's defaults.

The stage gets everything passed in (the default anchor from
:mod:`pipeline.paths`, the real tables); this module decides where the
output goes: ``data/work/generate/<key>/`` for ``snapshot`` (keyed by the
config, the scenario text and the real tables, so an unchanged request is
read back), or the directory ``demoseed generate`` writes (tables plus
``info.json``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from pipeline import paths
from pipeline.base.atomic import atomic_directory, atomic_write_bytes
from pipeline.base.parquet import write_table
from pipeline.base.runrecord import GenerateInfo, ProjectInfo, RunRecord
from pipeline.base.schemas import spec
from pipeline.outputs import GENERATE_OUTPUT, check_replace
from pipeline.stagecache import cached_stage, stage_key, tables_fingerprint
from stages.generate.config import GenerateConfig

if TYPE_CHECKING:
    from pipeline.base.projects import Preset
    from stages.generate.scenario import Scenario

INFO_NAME = "info.json"


@dataclass(frozen=True)
class Generated:
    """A generate run as the snapshot uses it: tables and the run's record (the manifest's ``params.generate``)."""

    tables: dict[str, pa.Table]
    run: RunRecord
    cached: bool
    seconds: float

    @property
    def week_starts(self) -> tuple[dt.date, ...]:
        return self.run.week_starts

    @property
    def real_share(self) -> float:
        return self.run.real_share

    @property
    def real_share_reason(self) -> str | None:
        return self.run.real_share_reason


def with_defaults(config: GenerateConfig) -> GenerateConfig:
    """``config`` with the pipeline's default anchor, checked (every bound) before any work."""
    config = config.with_anchor(paths.DEFAULT_ANCHOR)
    config.check()
    return config


def scenario_inputs(scenario: Scenario) -> dict[str, str]:
    """The hash that keys a scenario's text: a user's file by its bytes, a built-in by its text without
    its promises (they say what to expect of a run, not how to make it)."""
    from stages.generate.promises import without_promises

    if scenario.path is not None:
        return {"scenario_file_sha256": hashlib.sha256(scenario.path.read_bytes()).hexdigest()}
    return {"scenario_sha256": hashlib.sha256(without_promises(scenario.source_text).encode()).hexdigest()}


def generate_cached(config: GenerateConfig, real: dict[str, pa.Table] | None, inputs: dict[str, Any]) -> Generated:
    """A scenario or legacy run, read back from ``data/work/generate/<key>/`` when the same was run before."""
    from stages.generate import generate

    config = with_defaults(config)
    fingerprint = tables_fingerprint(real) if real else {}
    key = stage_key("generate", config.as_params(), {"inputs": inputs, "real": fingerprint})
    t0 = time.perf_counter()

    def compute() -> tuple[dict[str, pa.Table], dict[str, Any]]:
        res = generate(config, real=real)
        return res.tables, res.info.as_json()

    tables, record, hit = cached_stage(paths.work_dir(), "generate", key, compute)
    return Generated(tables, GenerateInfo.from_json(record), hit, time.perf_counter() - t0)


def project_cached(
    preset: Preset, normalized: dict[str, pa.Table], *, seed: int, anchor: dt.date | None, inputs: dict[str, Any]
) -> Generated:
    """A real-project run (its own anchor default: the newest real event), cached like a scenario run."""
    from stages.generate.real_project.build import build_project

    key = stage_key("project", {"project": preset.key, "seed": seed, "anchor": str(anchor)}, inputs)
    t0 = time.perf_counter()

    def compute() -> tuple[dict[str, pa.Table], dict[str, Any]]:
        res = build_project(preset, normalized, seed=seed, anchor=anchor)
        return res.tables, res.info.as_json()

    tables, record, hit = cached_stage(paths.work_dir(), "generate", key, compute)
    return Generated(tables, ProjectInfo.from_json(record), hit, time.perf_counter() - t0)


@dataclass(frozen=True)
class GenerateOutput:
    """What ``demoseed generate`` wrote."""

    directory: Path
    info: GenerateInfo
    prs: int
    seconds: float


def run_name(config: GenerateConfig, scenario_name: str | None) -> str:
    """``<scenario>-seed<seed>`` for a default request; every parameter given adds itself.

    ``ai-success-seed42``, ``ai-success-seed42-w12``, ``legacy-t3m4p30-seed42``,
    ``review-bottleneck-seed7-w12-a2026-03-02-rs0`` — so that two requests
    that differ never share a name (and never replace each other's output).
    """
    g = config
    if scenario_name is None:
        base, sized = f"legacy-t{g.teams or 1}m{g.members}p{g.prs}-seed{g.seed}", False
    else:
        base, sized = f"{scenario_name}-seed{g.seed}", True
    parts = [base]
    if g.weeks is not None:
        parts.append(f"w{g.weeks}")
    if g.anchor is not None:
        parts.append(f"a{g.anchor.isoformat()}")
    if g.real_share is not None:
        parts.append(f"rs{g.real_share:g}")
    if sized:
        parts += [f"{flag}{n}" for flag, n in (("t", g.teams), ("m", g.members), ("p", g.prs)) if n is not None]
    if g.team_slug is not None:
        parts.append(f"team-{g.team_slug}")
    return "-".join(parts)


def scenario_name(config: GenerateConfig) -> str | None:
    """The name of the config's scenario (None in legacy mode)."""
    from stages.generate.scenario import load_scenario

    return None if config.scenario is None else load_scenario(config.scenario).name


def generate_to_directory(
    config: GenerateConfig,
    real: dict[str, pa.Table] | None,
    *,
    real_data: Path | None,
    reason: str | None,
    output: Path | None,
    force: bool = False,
) -> GenerateOutput:
    """Run generate and write its tables and ``info.json`` (with ``real_data`` and, when given, ``reason``)."""
    from stages.generate import generate

    out = output or paths.work_dir() / "generate" / run_name(config, scenario_name(config))
    check_replace(out, GENERATE_OUTPUT, explicit=output is not None, force=force)
    config = with_defaults(config)
    t0 = time.perf_counter()
    result = generate(config, real=real)
    seconds = time.perf_counter() - t0
    info = result.info if reason is None else dataclasses.replace(result.info, real_share_reason=reason)
    doc = {**info.as_json(), "real_data": str(real_data) if real is not None else "none"}
    n_prs = result.tables["metrics_pullrequest"].num_rows
    with atomic_directory(out) as tmp:
        for name in list(result.tables):
            # generate() returns rows in each spec's order (validated); write and release one by one
            write_table(result.tables.pop(name), spec(name), tmp / f"{name}.parquet", sort=False)
        atomic_write_bytes(tmp / INFO_NAME, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())
    return GenerateOutput(out, info, n_prs, seconds)
