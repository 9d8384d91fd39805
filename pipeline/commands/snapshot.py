"""``demoseed snapshot``: run every stage and freeze the result as a snapshot (:mod:`pipeline.runners.snapshot`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pipeline import options


@click.command("snapshot")
@options.generate_options
@options.project
@options.no_github
@options.real_data
@options.repos
@options.output("data/snapshots/<scenario>-seed<seed>[-<parameters given>]")
@options.force
@options.concurrency
@options.scale_options
def command(**opts: Any) -> None:
    """Run fetch -> normalize -> generate -> aggregate and write a snapshot.

    Stages whose inputs did not change are not run again. Without a GitHub
    token the raw cache is used; with nothing cached the snapshot is
    synthetic only (the manifest says so).
    """
    from pipeline.runners.fetch import select_repos
    from pipeline.runners.snapshot import SnapshotRequest, run_snapshot

    output: Path | None = opts["output"]
    req = SnapshotRequest(
        generate=options.generate_config(opts, scenario_default=not opts["project"]),
        project=opts["project"],
        no_github=opts["no_github"],
        real_data=opts["real_data"],
        repos=tuple(select_repos(opts["repos"], None)),  # owner/name, checked as fetch checks them
        output=output,
        force=opts["force"],
        concurrency=opts["concurrency"],
        partition_teams=opts["partition_teams"],
        workers=opts["workers"],
        dask=opts["dask"],
    )
    run_snapshot(req, echo=click.echo)
