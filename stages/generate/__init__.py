"""The generate stage: scenario (TOML) + seed (+ real GitHub PRs) -> the app's tables.

Public entry points::

    from stages.generate import GenerateConfig, generate
    config = GenerateConfig(scenario="review-bottleneck", seed=42, anchor=dt.date(2026, 1, 5))
    result = generate(config, real=normalized_tables_or_None)
    result.tables["metrics_pullrequest"]   # 12 app tables + demoseed_provenance
    result.info                            # GenerateInfo: resolved parameters, weeks, real share, warm-up

Legacy mode (``scenario=None``): ``teams`` teams of ``members`` members with
exactly ``prs`` PRs each, baseline-like behaviour. Every run is validated
(:mod:`stages.generate.validate`); a violation is a bug and raises loudly.
The anchor (the last week's Monday) is the caller's to give: the stage reads
no configuration of its own. Scenarios: :mod:`stages.generate.scenario`
(``load_scenario``, ``list_scenarios``).

Importing this package is cheap (the command line reads
:class:`GenerateConfig`'s bounds at start-up): the generator and numpy,
pyarrow come in when :func:`generate` runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.base.runrecord import GenerateInfo, Mode, ProjectInfo
from stages.generate.config import GenerateConfig

if TYPE_CHECKING:
    import pyarrow as pa

    from stages.generate.scenario import Scenario
    from stages.generate.synthetic.tables import Params, RunFacts, TeamSlice

log = logging.getLogger(__name__)

__all__ = [
    "GenerateConfig",
    "GenerateInfo",
    "GenerateResult",
    "Mode",
    "ProjectInfo",
    "ProjectResult",
    "generate",
    "generate_slice",
    "resolve",
    "run_info",
]


@dataclass
class GenerateResult:
    """A scenario or legacy run: the tables and what the run resolved."""

    tables: dict[str, pa.Table]
    info: GenerateInfo


@dataclass
class ProjectResult:
    """A real-project run (:func:`stages.generate.real_project.build.build_project`): the tables and what it resolved."""

    tables: dict[str, pa.Table]
    info: ProjectInfo


def legacy_scenario(members: int, prs: int) -> Scenario:
    """The scenario-less legacy mode: baseline-like behaviour, ``members`` standard developers."""
    from stages.generate.scenario import Archetype, load_scenario

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


def resolve(config: GenerateConfig) -> Params:
    """Check the config and resolve the scenario's defaults into the generator's parameters."""
    from stages.generate.scenario import load_scenario
    from stages.generate.synthetic.tables import Params

    config.check()
    if config.anchor is None:
        raise ValueError("GenerateConfig.anchor is unset: the caller passes its default (GenerateConfig.with_anchor)")
    if config.scenario is None:
        assert config.members is not None and config.prs is not None  # check() saw to it
        sc = legacy_scenario(config.members, config.prs)
    else:
        sc = load_scenario(config.scenario)
    if config.weeks:
        sc.check_curves(config.weeks)
    return Params(
        scenario=sc,
        seed=int(config.seed),
        anchor=config.anchor,
        weeks=config.weeks or sc.weeks,
        teams=config.teams or 1,
        members=config.members or sc.members,
        fixed_prs=config.prs if config.prs is not None else sc.fixed_prs,
        team_slug=config.team_slug or sc.team_slug,
        real_share=GenerateConfig.DEFAULT_REAL_SHARE if config.real_share is None else float(config.real_share),
    )


def _in_order(table: pa.Table, name: str) -> pa.Table:
    """The table in its spec's row order; no copy when it is already (the usual case)."""
    import numpy as np

    from pipeline.base.parquet import sort_rows
    from pipeline.base.schemas import spec

    order = spec(name).order_by
    cols = [table.column(c).to_numpy() for c in order]
    ok = all(bool(np.all(np.diff(c) >= 0)) for c in cols) and bool(np.all(np.diff(cols[-1]) > 0))
    return table if ok else sort_rows(table, spec(name))


def generate_slice(
    p: Params, real: dict[str, pa.Table] | None, part: TeamSlice | None = None
) -> tuple[dict[str, pa.Table], RunFacts]:
    """The validated app tables of a resolved run, or of a slice of its teams (the same rows as in the
    whole run), in each spec's row order; and the facts :func:`run_info` sums over slices."""
    import pyarrow as pa

    from stages.generate.synthetic.tables import generate_tables, warmup_of
    from stages.generate.synthetic.team import week_starts_for
    from stages.generate.validate import validate

    tables, facts = generate_tables(p, real, part)
    tables = {name: _in_order(t, name) for name, t in tables.items()}
    pa.default_memory_pool().release_unused()  # hand the generator's scratch memory back before validating
    week_starts = week_starts_for(p.anchor, p.weeks)
    window_end = week_starts[-1] + dt.timedelta(days=7)
    warmup_start = week_starts[0] - dt.timedelta(days=7 * warmup_of(p))
    validate(tables, window_end=window_end, window_start=week_starts[0], warmup_start=warmup_start)
    pa.default_memory_pool().release_unused()
    return tables, facts


def run_info(config: GenerateConfig, p: Params, facts: RunFacts, row_counts: dict[str, int]) -> GenerateInfo:
    """The GenerateInfo of a run from its (summed) facts and row counts."""
    from stages.generate.synthetic.tables import warmup_of
    from stages.generate.synthetic.team import team_slugs, week_starts_for

    week_starts = tuple(week_starts_for(p.anchor, p.weeks))
    warmup = warmup_of(p)
    info = GenerateInfo(
        mode=config.mode,
        scenario=p.scenario.name,
        scenario_title=p.scenario.title,
        seed=p.seed,
        anchor=p.anchor,
        weeks=p.weeks,
        teams=p.teams,
        members=p.members,
        prs_per_team=p.fixed_prs,
        team_slug=p.team_slug,
        scenario_parameters=p.scenario.as_dict(),
        week_starts=week_starts,
        window_end=week_starts[-1] + dt.timedelta(days=7),
        warmup_weeks=warmup,
        warmup_start=week_starts[0] - dt.timedelta(days=7 * warmup),
        warmup_prs=facts.warmup_prs,
        team_slugs=tuple(team_slugs(p.team_slug, p.teams)),
        real_share_requested=float(p.real_share),
        real_share=round(facts.blended / facts.prs if facts.prs else 0.0, 6),
        real_source_prs=facts.pool_size or 0,
        real_prs_used=len(facts.used_sources),
        real_share_reason=facts.reason if facts.pool_size is None else None,
        row_counts=dict(row_counts),
    )
    if info.real_share_reason:
        log.info("real share 0: %s", info.real_share_reason)
    return info


def generate(config: GenerateConfig, real: dict[str, pa.Table] | None = None) -> GenerateResult:
    """Generate (and validate) the app tables for a scenario or legacy mode."""
    p = resolve(config)
    tables, facts = generate_slice(p, real)
    info = run_info(config, p, facts, {k: v.num_rows for k, v in tables.items()})
    return GenerateResult(tables=tables, info=info)
