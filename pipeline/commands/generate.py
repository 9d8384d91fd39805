"""``demoseed generate``: scenario (or legacy flags) + seed -> app tables as Parquet.

Writes ``<out>/<table>.parquet`` for the 12 app tables and demoseed_provenance,
plus ``info.json`` (resolved parameters, weeks, real share and, when 0, why).
Default output: ``data/work/generate/<scenario>-seed<seed>/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pipeline import options
from pipeline.base.errors import UserError


@click.command("generate")
@options.generate_options
@options.real_data
@options.no_github
@click.option("--list-scenarios", is_flag=True, help="List the built-in scenarios and exit.")
@options.output("data/work/generate/<scenario>-seed<seed>[-<parameters given>]")
@options.force
def command(**opts: Any) -> None:
    """Generate the app's tables for a scenario (or legacy --teams/--members/--prs) as Parquet."""
    from pipeline.commands.scenarios import print_scenarios
    from pipeline.runners.generate import generate_to_directory
    from pipeline.runners.normalize import latest_output, read_normalized

    if opts["list_scenarios"]:
        print_scenarios()
        return
    real_data: Path | None = opts["real_data"]
    if real_data is not None and opts["no_github"]:
        raise UserError("give either --real-data or --no-github, not both")
    config = options.generate_config(opts)
    config.check()  # every bound, before any work
    if real_data is None and not opts["no_github"]:
        real_data = latest_output()  # the newest 'demoseed normalize' output, if any
    real = None if opts["no_github"] or real_data is None else read_normalized(real_data)
    out = generate_to_directory(
        config,
        real,
        real_data=real_data,
        reason="--no-github" if opts["no_github"] else None,
        output=opts["output"],
        force=opts["force"],
    )
    info = out.info
    click.echo(
        f"{info.scenario} seed {info.seed}: {out.prs} PRs, {len(info.team_slugs)} team(s), "
        f"{info.weeks} weeks ending {info.window_end.isoformat()} ({out.seconds:.1f}s) -> {out.directory}"
    )
    if info.real_share_reason:
        click.echo(f"real share 0: {info.real_share_reason}")
    else:
        click.echo(f"real share {info.real_share:.1%} from {info.real_source_prs} real PRs")
