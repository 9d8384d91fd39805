"""``demoseed generate``: scenario (or legacy flags) + seed -> app tables as Parquet.

Writes ``<out>/<table>.parquet`` for the 12 app tables and demoseed_provenance,
plus ``info.json`` (resolved parameters, weeks, real share and, when 0, why).
Default output: ``data/work/generate/<scenario>-seed<seed>/``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import click

from pipeline import paths
from pipeline.base.atomic import atomic_directory, atomic_write_bytes
from pipeline.base.errors import UserError
from pipeline.base.parquet import read_table, write_table
from pipeline.base.schemas import NORMALIZED_TABLES, spec
from pipeline.commands._common import MONDAY

log = logging.getLogger(__name__)


def read_real_data(directory: Path) -> dict:
    """Normalized gh_*.parquet files from a directory (gh_pull_requests required)."""
    if not directory.is_dir():
        raise UserError(f"--real-data {directory}: no such directory (it should hold normalized gh_*.parquet files)")
    tables = {}
    for s in NORMALIZED_TABLES:
        path = directory / f"{s.name}.parquet"
        if path.is_file():
            tables[s.name] = read_table(path, s)
    if "gh_pull_requests" not in tables:
        raise UserError(f"--real-data {directory}: no gh_pull_requests.parquet; run 'demoseed normalize' first")
    return tables


@click.command("generate")
@click.option(
    "--scenario",
    default=None,
    metavar="NAME|PATH.toml",
    help="Built-in scenario (see 'demoseed scenarios') or your own TOML file. Default ai-success; "
    "omit it with --members/--prs for legacy mode.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
@click.option("--weeks", type=click.IntRange(1, 104), default=None, help="Weeks of data (default: the scenario's).")
@click.option("--anchor", type=MONDAY, default=None, help=f"Monday of the last week (default {paths.DEFAULT_ANCHOR}).")
@click.option(
    "--real-share",
    type=float,
    default=None,
    help="Share of PRs with real GitHub metadata, 0.20-0.30 (default 0.25; 0 = synthetic only).",
)
@click.option("--teams", type=click.IntRange(1, 100_000), default=None, help="Replicate the team N times.")
@click.option("--members", type=click.IntRange(2, 500), default=None, help="Members per team.")
@click.option("--prs", type=click.IntRange(1, 1_000_000), default=None, help="Exactly P PRs per team.")
@click.option("--team-slug", default=None, help="Slug of the (first) team; others get -2, -3, ...")
@click.option(
    "--real-data",
    type=click.Path(path_type=Path),
    default=None,
    help="Directory of normalized gh_*.parquet files to blend real PR metadata from.",
)
@click.option("--no-github", is_flag=True, help="Ignore real data: synthetic only (real share 0).")
@click.option("--list-scenarios", is_flag=True, help="List the built-in scenarios and exit.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Output directory.")
def command(
    scenario,
    seed,
    weeks,
    anchor,
    real_share,
    teams,
    members,
    prs,
    team_slug,
    real_data,
    no_github,
    list_scenarios,
    output,
) -> None:
    """Generate the app's tables for a scenario (or legacy --teams/--members/--prs) as Parquet."""
    from pipeline.commands.scenarios import print_scenarios
    from stages.generate import GenerateConfig, generate

    if list_scenarios:
        print_scenarios()
        return
    if real_data is not None and no_github:
        raise UserError("give either --real-data or --no-github, not both")
    legacy = scenario is None and (members is not None or prs is not None)
    config = GenerateConfig(
        scenario=None if legacy else (scenario or "ai-success"),
        seed=seed,
        anchor=anchor,
        weeks=weeks,
        real_share=real_share,
        teams=teams,
        members=members,
        prs=prs,
        team_slug=team_slug,
    )
    if real_data is None and not no_github:
        default_dir = paths.work_dir() / "normalize"  # where 'demoseed normalize' writes
        if (default_dir / "gh_pull_requests.parquet").is_file():
            real_data = default_dir
    real = None if no_github or real_data is None else read_real_data(real_data)
    t0 = time.perf_counter()
    result = generate(config, real=real)
    elapsed = time.perf_counter() - t0
    info = dict(result.info)
    info["real_data"] = str(real_data) if real is not None else "none"
    if no_github:
        info["real_share_reason"] = "--no-github"
    out = output or paths.work_dir() / "generate" / f"{info['scenario']}-seed{seed}"
    n_prs = result.tables["metrics_pullrequest"].num_rows
    with atomic_directory(out) as tmp:
        for name in list(result.tables):
            # generate() returns rows in each spec's order (validated); write and release one by one
            write_table(result.tables.pop(name), spec(name), tmp / f"{name}.parquet", sort=False)
        atomic_write_bytes(tmp / "info.json", (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
    click.echo(
        f"{info['scenario']} seed {seed}: {n_prs} PRs, {len(info['team_slugs'])} team(s), "
        f"{info['weeks']} weeks ending {info['window_end']} ({elapsed:.1f}s) -> {out}"
    )
    if info.get("real_share_reason"):
        click.echo(f"real share 0: {info['real_share_reason']}")
    else:
        click.echo(f"real share {info['real_share_realized']:.1%} from {info['real_source_prs']} real PRs")
