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
@click.option(
    "--app",
    "app",
    envvar="DEMOSEED_APP",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="The app's checkout (holding manage.py; also $DEMOSEED_APP): the manifest records its latest migration "
    "per app label (outside the snapshot id), so check and describe can tell a newer or older target.",
)
@click.option("--app-python", metavar="PATH", help="The app environment's interpreter (as for load).")
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
    if opts["app"] is None:
        run_snapshot(req, echo=click.echo)
        return
    from pipeline.base.manifest import migrations_text, recording_app_migrations
    from pipeline.base.schemas import APP_LOAD_ORDER
    from stages.load.app import probe_app

    migrations = probe_app(opts["app"], opts["app_python"], list(APP_LOAD_ORDER)).defined
    with recording_app_migrations(migrations):
        outcome = run_snapshot(req, echo=click.echo)
    if outcome.skipped and outcome.manifest.app_migrations != migrations:
        click.echo(
            f"note: {outcome.directory} was left as it was, recorded for app migrations "
            f"{migrations_text(outcome.manifest.app_migrations)}, not {migrations_text(migrations)}; --force rewrites it"
        )
