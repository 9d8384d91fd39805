"""``demoseed aggregate``: weekly metrics from a directory of app tables (:mod:`pipeline.runners.aggregate`).

Reads the app tables (``<name>.parquet``) from ``--input`` (a generate output
or a snapshot), takes the weeks from its ``info.json`` or manifest (else from
the data), and writes ``metrics_weeklymetrics.parquet`` and
``demoseed_team_weekly.parquet``.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("aggregate")
@click.option(
    "--input",
    "input_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory of app tables (<name>.parquet), e.g. a generate output.",
)
@click.option(
    "--output",
    "output_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to write the weekly tables (default: the input directory; required for a snapshot).",
)
def command(input_dir: Path, output_dir: Path | None) -> None:
    """Compute metrics_weeklymetrics and demoseed_team_weekly from app tables."""
    from pipeline.runners.aggregate import aggregate_directory

    out = output_dir or input_dir
    result, source = aggregate_directory(input_dir, out)
    click.echo(
        f"aggregate: {result.member_weeks} member-weeks, {result.team_weeks} team-weeks over {result.weeks} week(s) "
        f"(weeks from {source}) -> {out}"
    )
