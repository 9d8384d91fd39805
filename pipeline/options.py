"""Every command-line option, declared once.

Bounds come from the config each option feeds (:class:`GenerateConfig`'s
constants, :class:`pipeline.runners.fetch.FetchRequest`'s), so ``--help``,
the parser and :meth:`GenerateConfig.check` state the same numbers. The
commands stack these decorators; nothing here imports a heavy library.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pipeline.base.github import FETCH_CONCURRENCY
from pipeline.paths import DEFAULT_ANCHOR
from stages.generate.config import GenerateConfig, anchor_ok, real_share_ok

F = TypeVar("F", bound=Callable[..., Any])

CONCURRENCY = (1, 50)  # requests to GitHub in flight at once
WORKERS = (1, 64)  # local processes generating partitions at once


class MondayType(click.ParamType[dt.date]):
    """An ISO date that must be a Monday (weeks run Monday to Sunday)."""

    name = "MONDAY"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            day = value
        else:
            try:
                day = dt.date.fromisoformat(str(value))
            except ValueError:
                self.fail(f"{value!r} is not a date; use YYYY-MM-DD, e.g. {DEFAULT_ANCHOR}", param, ctx)
        if not anchor_ok(day):
            low, high = GenerateConfig.ANCHOR
            self.fail(f"{day.isoformat()} is out of range; use a Monday from {low} to {high}", param, ctx)
        if day.weekday() != 0:
            monday = day - dt.timedelta(days=day.weekday())
            self.fail(
                f"{day.isoformat()} is a {day:%A}; the anchor must be a Monday (e.g. {monday.isoformat()})", param, ctx
            )
        return day


class RealShareType(click.ParamType[float]):
    """0 (synthetic only) or a share within GenerateConfig.REAL_SHARE."""

    name = "SHARE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            share = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not real_share_ok(share):
            low, high = GenerateConfig.REAL_SHARE
            self.fail(f"{value} is not 0 or in {low:.2f}..{high:.2f}", param, ctx)
        return share


MONDAY = MondayType()
REAL_SHARE = RealShareType()


def _range(bounds: tuple[int, int]) -> click.IntRange:
    return click.IntRange(bounds[0], bounds[1])


C = GenerateConfig
low_rs, high_rs = C.REAL_SHARE

scenario = click.option(
    "--scenario",
    "-s",
    default=None,
    metavar="NAME|PATH.toml",
    help=f"Built-in scenario (see 'demoseed scenarios') or your own TOML file [default: {C.DEFAULT_SCENARIO}; "
    "none with --members/--prs: legacy mode].",
)
project = click.option("--project", "-p", default=None, help="A real-project preset (see 'demoseed projects').")
seed = click.option("--seed", type=_range(C.SEED), default=42, show_default=True, help="Seed for every random draw.")
anchor = click.option(
    "--anchor",
    type=MONDAY,
    default=None,
    help=f"Monday of the last week, {C.ANCHOR[0]} to {C.ANCHOR[1]} [default: a fixed Monday, {DEFAULT_ANCHOR}].",
)
weeks = click.option(
    "--weeks",
    type=_range(C.WEEKS),
    default=None,
    help=f"Weeks of data, {C.WEEKS[0]}-{C.WEEKS[1]} [default: the scenario's].",
)
real_share = click.option(
    "--real-share",
    type=REAL_SHARE,
    default=None,
    help=f"Share of PRs with real GitHub metadata, {low_rs:.2f}-{high_rs:.2f}, or 0 for synthetic only "
    f"[default: {C.DEFAULT_REAL_SHARE}].",
)
teams = click.option(
    "--teams", type=_range(C.TEAMS), default=None, help="Replicate the team N times (slug, slug-2, ...) [default: 1]."
)
members = click.option(
    "--members", type=_range(C.MEMBERS), default=None, help="Members per team [default: the scenario's]."
)
prs = click.option("--prs", type=_range(C.PRS), default=None, help="Exactly P PRs per team [default: the scenario's].")
team_slug = click.option("--team-slug", default=None, help="Slug of the (first) team; others get -2, -3, ...")
no_github = click.option("--no-github", is_flag=True, help="Use no GitHub data: synthetic only (real share 0).")
real_data = click.option(
    "--real-data",
    type=click.Path(path_type=Path),
    default=None,
    help="A directory of normalized gh_*.parquet to blend real PR metadata from.",
)
repos = click.option(
    "--repo", "repos", multiple=True, metavar="OWNER/NAME", help="A source repository, owner/name (repeatable)."
)
concurrency = click.option(
    "--concurrency",
    type=_range(CONCURRENCY),
    default=FETCH_CONCURRENCY,
    show_default=True,
    help="GitHub requests in flight at once.",
)
partition_teams = click.option(
    "--partition-teams",
    type=_range(C.TEAMS),
    default=None,
    help="Teams per partition: a run of more teams is generated, aggregated and written one partition "
    "at a time (memory bounded by a partition; every table in parts) [default: about 100,000 PRs' worth].",
)
workers = click.option(
    "--workers",
    type=_range(WORKERS),
    default=1,
    show_default=True,
    help="Partitions generated at once, in local processes (the bytes do not depend on it).",
)


def _dask(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--dask, and $DEMOSEED_DASK even when --dask is not given: an address or a one-line error."""
    import os

    from pipeline.runners.executors import DASK_ENV, check_dask_address

    if env := os.environ.get(DASK_ENV):
        check_dask_address(env, f"{DASK_ENV}=")
    return None if value is None else check_dask_address(value, "--dask ")


dask = click.option(
    "--dask",
    metavar="tcp://HOST:8786",
    default=None,
    callback=_dask,
    help="Run the partitions on this Dask cluster; its workers must see --output [default: $DEMOSEED_DASK].",
)
force = click.option("--force", is_flag=True, help="Rebuild and replace this command's own earlier output.")
raw_dir = click.option(
    "--raw-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The raw GitHub cache [default: $DEMOSEED_DATA/raw/github].",
)


def output(default: str) -> Callable[[F], F]:
    """``-o/--output DIR``; ``default`` says where the command writes without it."""

    def add(fn: F) -> F:
        option = click.option(
            "--output",
            "-o",
            type=click.Path(path_type=Path),
            default=None,
            help=f"Output directory [default: {default}].",
        )
        return option(fn)

    return add


def scale_options(fn: F) -> F:
    """Partitions of a large run and where they run (--partition-teams, --workers, --dask)."""
    for option in reversed((partition_teams, workers, dask)):
        fn = option(fn)
    return fn


def generate_options(fn: F) -> F:
    """The parameters of a generate run (scenario mode or legacy --teams/--members/--prs), in --help order."""
    for option in reversed((scenario, seed, weeks, anchor, real_share, teams, members, prs, team_slug)):
        fn = option(fn)
    return fn


def generate_config(opts: dict[str, Any], *, scenario_default: bool = True) -> GenerateConfig:
    """The GenerateConfig of parsed options: legacy mode when --members/--prs come without --scenario."""
    legacy = opts["scenario"] is None and (opts["members"] is not None or opts["prs"] is not None)
    chosen = opts["scenario"] or (C.DEFAULT_SCENARIO if scenario_default else None)
    config = GenerateConfig(
        scenario=None if legacy else chosen,
        seed=opts["seed"],
        anchor=opts["anchor"],
        weeks=opts["weeks"],
        real_share=opts["real_share"],
        teams=opts["teams"],
        members=opts["members"],
        prs=opts["prs"],
        team_slug=opts["team_slug"],
    )
    return by_value(config, project=bool(opts.get("project")))


def by_value(config: GenerateConfig, *, project: bool = False) -> GenerateConfig:
    """The config as the values it asks for, not their spelling: a value equal to its default is the default
    (None), ``-0`` is 0. The snapshot's name, its request key and its id follow the config, so
    ``--weeks 8`` for a scenario of 8 weeks is the same request (and snapshot) as no ``--weeks``.

    Defaults: teams 1, real share 0.25, the fixed anchor (not for ``--project``, whose default anchor is
    the newest real event), and the scenario's weeks, members and team slug (legacy mode: its weeks and
    team slug)."""
    changes: dict[str, Any] = {}
    if config.real_share is not None:
        share = config.real_share + 0.0  # -0.0 -> 0.0
        changes["real_share"] = None if share == C.DEFAULT_REAL_SHARE else share
    if config.teams == 1:
        changes["teams"] = None
    if config.anchor == DEFAULT_ANCHOR and not project:
        changes["anchor"] = None
    if config.scenario is not None and (config.weeks, config.members, config.team_slug) != (None, None, None):
        from stages.generate.scenario import load_scenario

        scenario = load_scenario(config.scenario)
        for key, default in (
            ("weeks", scenario.weeks),
            ("members", scenario.members),
            ("team_slug", scenario.team_slug),
        ):
            if getattr(config, key) == default:
                changes[key] = None
    elif config.legacy and config.members and config.prs and (config.weeks, config.team_slug) != (None, None):
        from stages.generate import legacy_scenario

        legacy = legacy_scenario(config.members, config.prs)  # its members and PRs are the request's own
        for key, default in (("weeks", legacy.weeks), ("team_slug", legacy.team_slug)):
            if getattr(config, key) == default:
                changes[key] = None
    return dataclasses.replace(config, **changes) if changes else config
