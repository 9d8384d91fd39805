"""`demoseed snapshot`: run every stage and freeze the result as a snapshot."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.base.errors import UserError
from pipeline.commands._common import MONDAY
from pipeline.orchestrate import Orchestrator, SnapshotRequest


@click.command("snapshot")
@click.option(
    "--scenario", "-s", default=None, help="Built-in scenario name or a scenario .toml file [default: ai-success]."
)
@click.option(
    "--project", "-p", default=None, help="Build the team from a real project's PRs (see 'demoseed projects')."
)
@click.option("--seed", type=int, default=42, show_default=True, help="Seed for every random draw.")
@click.option(
    "--anchor", type=MONDAY, default=None, help="Monday of the last week [default: a fixed Monday, 2026-01-05]."
)
@click.option("--weeks", type=click.IntRange(1, 520), default=None, help="Number of weeks [default: the scenario's].")
@click.option(
    "--real-share",
    type=click.FloatRange(0.2, 0.3),
    default=None,
    help="Share of PRs blended with real metadata [default: 0.25].",
)
@click.option(
    "--teams",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Replicate the team N times (legacy mode without a scenario).",
)
@click.option("--members", type=click.IntRange(1, 10_000), default=None, help="Members per team (legacy mode).")
@click.option("--prs", type=click.IntRange(0, 10_000_000), default=None, help="PRs per team (legacy mode).")
@click.option("--team-slug", default=None, help="Slug of the (first) team.")
@click.option("--no-github", is_flag=True, help="Do not fetch or use GitHub data: synthetic only.")
@click.option(
    "--real-data",
    type=click.Path(path_type=Path),
    default=None,
    help="A directory of normalized gh_*.parquet to blend from.",
)
@click.option("--repo", "repos", multiple=True, help="Source repo owner/name for real PR metadata (repeatable).")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Snapshot directory [default: data/snapshots/<scenario>-seed<seed>].",
)
@click.option("--force", is_flag=True, help="Rebuild even when the snapshot is up to date.")
@click.option(
    "--concurrency", type=click.IntRange(1, 50), default=8, show_default=True, help="Concurrent GitHub requests."
)
def command(**opts) -> None:
    """Run fetch -> normalize -> generate -> aggregate and write a snapshot.

    Stages whose inputs did not change are not run again. Without a GitHub
    token the raw cache is used; with nothing cached the snapshot is
    synthetic only (the manifest says so).
    """
    legacy = any(opts[k] is not None for k in ("members", "prs"))
    if opts["project"] and opts["scenario"]:
        raise UserError("give either --scenario or --project, not both")
    if opts["project"] and legacy:
        raise UserError("--members/--prs are for legacy mode; they do not apply to --project")
    if legacy and opts["scenario"] is None:
        missing = [f"--{k}" for k in ("teams", "members", "prs") if opts[k] is None]
        if missing:
            raise UserError(f"legacy mode needs --teams, --members and --prs; missing {', '.join(missing)}")
        scenario = None
    else:
        scenario = None if opts["project"] else (opts["scenario"] or "ai-success")
    req = SnapshotRequest(
        scenario=scenario,
        project=opts["project"],
        seed=opts["seed"],
        anchor=opts["anchor"],
        weeks=opts["weeks"],
        real_share=opts["real_share"],
        teams=opts["teams"],
        members=opts["members"],
        prs=opts["prs"],
        team_slug=opts["team_slug"],
        no_github=opts["no_github"],
        real_data=opts["real_data"],
        repos=tuple(opts["repos"]),
        output=opts["output"],
        force=opts["force"],
        concurrency=opts["concurrency"],
    )
    Orchestrator(echo=click.echo).run(req)
