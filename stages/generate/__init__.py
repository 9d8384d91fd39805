"""The generate stage: scenario (TOML) + seed (+ real GitHub PRs) -> the app's tables.

Public entry points::

    from stages.generate import GenerateConfig, generate, load_scenario, list_scenarios
    result = generate(GenerateConfig(scenario="review-bottleneck", seed=42), real=normalized_tables_or_None)
    result.tables["metrics_pullrequest"]   # 12 app tables + demoseed_provenance
    result.info                            # JSON-able: resolved parameters, weeks, real share

Legacy mode (``scenario=None``): ``teams`` teams of ``members`` members with
exactly ``prs`` PRs each, baseline-like behaviour. Every run is validated
(:mod:`stages.generate.validate`); a violation is a bug and raises loudly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline import paths
from pipeline.base.errors import UserError
from pipeline.base.parquet import sort_rows
from pipeline.base.schemas import spec
from stages.generate.scenario import Archetype, Scenario, list_scenarios, load_scenario

log = logging.getLogger(__name__)

__all__ = ["GenerateConfig", "GenerateResult", "Scenario", "generate", "list_scenarios", "load_scenario"]

DEFAULT_REAL_SHARE = 0.25
MAX_TEAMS = 100_000
MAX_MEMBERS = 500


@dataclass(frozen=True)
class GenerateConfig:
    scenario: str | Path | None = "ai-success"
    seed: int = 42
    anchor: dt.date | None = None
    weeks: int | None = None
    real_share: float | None = None
    teams: int | None = None
    members: int | None = None
    prs: int | None = None
    team_slug: str | None = None


@dataclass
class GenerateResult:
    tables: dict[str, pa.Table]
    info: dict[str, Any]


def legacy_scenario(members: int, prs: int) -> Scenario:
    """The scenario-less legacy mode: baseline-like behaviour, ``members`` standard developers."""
    base = load_scenario("baseline")
    return dataclasses.replace(
        base,
        name="legacy",
        title="Legacy mode (no scenario)",
        story="N teams of M members with P PRs each, baseline-like behaviour.",
        team_name="Demo Team",
        team_slug="demo-team",
        jira_prefix="DEMO",
        archetypes=(Archetype(name="standard_dev", count=members),),
        fixed_prs=prs,
    )


def _check(config: GenerateConfig) -> None:
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or not 0 <= config.seed < 2**63:
        raise UserError(f"--seed {config.seed!r}: use a whole number from 0 to 2**63-1")
    if config.weeks is not None and not 1 <= config.weeks <= 104:
        raise UserError(f"--weeks {config.weeks}: use 1 to 104 weeks")
    if config.teams is not None and not 1 <= config.teams <= MAX_TEAMS:
        raise UserError(f"--teams {config.teams}: use 1 to {MAX_TEAMS} teams")
    if config.members is not None and not 2 <= config.members <= MAX_MEMBERS:
        raise UserError(f"--members {config.members}: use 2 to {MAX_MEMBERS} members (reviews need two people)")
    if config.prs is not None and not 1 <= config.prs <= 1_000_000:
        raise UserError(f"--prs {config.prs}: use 1 to 1000000 PRs per team")
    rs = config.real_share
    if rs is not None and not (rs == 0 or 0.20 <= rs <= 0.30):
        raise UserError(f"--real-share {rs}: use 0.20 to 0.30 (or 0 for synthetic only)")
    if config.anchor is not None and config.anchor.weekday() != 0:
        monday = config.anchor - dt.timedelta(days=config.anchor.weekday())
        raise UserError(f"--anchor {config.anchor}: must be a Monday (e.g. {monday})")
    if config.team_slug is not None:
        from stages.generate.scenario import SLUG

        if not SLUG.match(config.team_slug):
            raise UserError(f"--team-slug {config.team_slug!r}: use lowercase letters, digits and dashes (max 40)")


def resolve(config: GenerateConfig) -> tuple[Any, dict[str, Any]]:
    """Check the config and resolve defaults; returns (core Params, resolved parameters for info)."""
    from stages.generate.core import Params

    _check(config)
    if config.scenario is None:
        if config.members is None or config.prs is None:
            raise UserError("legacy mode (no --scenario) needs --members M and --prs P (and --teams N, default 1)")
        sc = legacy_scenario(config.members, config.prs)
        mode = "legacy"
    else:
        sc = load_scenario(config.scenario)
        mode = "scenario"
    anchor = config.anchor or dt.date.fromisoformat(paths.DEFAULT_ANCHOR)
    weeks = config.weeks or sc.weeks
    params = Params(
        scenario=sc,
        seed=int(config.seed),
        anchor=anchor,
        weeks=weeks,
        teams=config.teams or 1,
        members=config.members or sc.members,
        fixed_prs=config.prs if config.prs is not None else sc.fixed_prs,
        team_slug=config.team_slug or sc.team_slug,
        real_share=DEFAULT_REAL_SHARE if config.real_share is None else float(config.real_share),
    )
    resolved = {
        "mode": mode,
        "scenario": sc.name,
        "scenario_title": sc.title,
        "seed": params.seed,
        "anchor": anchor.isoformat(),
        "weeks": weeks,
        "teams": params.teams,
        "members": params.members,
        "prs_per_team": params.fixed_prs,
        "team_slug": params.team_slug,
        "scenario_parameters": sc.as_dict(),
    }
    return params, resolved


def _in_order(table: pa.Table, name: str) -> pa.Table:
    """The table in its spec's row order; no copy when it is already (the usual case)."""
    order = spec(name).order_by
    cols = [table.column(c).to_numpy() for c in order]
    ok = all(bool(np.all(np.diff(c) >= 0)) for c in cols) and bool(np.all(np.diff(cols[-1]) > 0))
    return table if ok else sort_rows(table, spec(name))


def generate(config: GenerateConfig, real: dict[str, pa.Table] | None = None) -> GenerateResult:
    """Generate (and validate) the app tables for a scenario or legacy mode."""
    from stages.generate.core import generate_tables
    from stages.generate.validate import validate

    params, resolved = resolve(config)
    tables, info = generate_tables(params, real)
    tables = {name: _in_order(t, name) for name, t in tables.items()}
    pa.default_memory_pool().release_unused()  # hand the generator's scratch memory back before validating
    validate(
        tables,
        window_end=dt.date.fromisoformat(info["window_end"]),
        window_start=dt.date.fromisoformat(info["week_starts"][0]),
        warmup_start=dt.date.fromisoformat(info["warmup_start"]),
    )
    pa.default_memory_pool().release_unused()
    info = {**resolved, **info, "row_counts": {k: v.num_rows for k, v in tables.items()}}
    if info.get("real_share_reason"):
        log.info("real share 0: %s", info["real_share_reason"])
    return GenerateResult(tables=tables, info=info)
