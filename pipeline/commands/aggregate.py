"""`demoseed aggregate`: weekly metrics from a directory of app tables.

Reads the app tables (``<name>.parquet``) from ``--input`` (a generate output
or a snapshot), takes the weeks from ``info.json`` / ``manifest.json`` there
when they list ``week_starts`` (else from the data), and writes
``metrics_weeklymetrics.parquet`` and ``demoseed_team_weekly.parquet``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click
import pyarrow as pa

from pipeline.base.errors import UserError
from pipeline.base.manifest import MANIFEST_NAME
from pipeline.base.parquet import read_table, write_table
from pipeline.base.schemas import spec

REQUIRED = ("metrics_teammember", "metrics_pullrequest")


def _week_starts_from(meta: Any) -> list[str] | None:
    """week_starts at the top of a JSON document, or under params.generate / info."""
    if not isinstance(meta, dict):
        return None
    for holder in (meta, meta.get("info"), (meta.get("params") or {}).get("generate")):
        if isinstance(holder, dict) and isinstance(holder.get("week_starts"), list):
            return holder["week_starts"]
    return None


def read_input_tables(directory: Path) -> tuple[dict[str, pa.Table], list[dt.date] | None, str]:
    """The app tables the stage reads from ``directory``, the weeks (or None) and where they came from."""
    from stages.aggregate import INPUT_TABLES

    if not directory.is_dir():
        raise UserError(f"--input {directory}: no such directory; give a generate output or a snapshot directory")
    missing = [n for n in REQUIRED if not (directory / f"{n}.parquet").is_file()]
    if missing:
        raise UserError(
            f"--input {directory}: no {', '.join(f'{n}.parquet' for n in missing)}; "
            "give a directory written by 'demoseed generate' or 'demoseed snapshot'"
        )
    tables = {
        n: read_table(directory / f"{n}.parquet", spec(n))
        for n in INPUT_TABLES
        if (directory / f"{n}.parquet").is_file()
    }
    for meta_name in ("info.json", MANIFEST_NAME):
        path = directory / meta_name
        if not path.is_file():
            continue
        try:
            weeks = _week_starts_from(json.loads(path.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"{path}: not valid JSON ({exc}); fix or remove it") from None
        if weeks is not None:
            try:
                return tables, [dt.date.fromisoformat(str(w)) for w in weeks], meta_name
            except ValueError as exc:
                raise UserError(f"{path}: week_starts holds a value that is not a date ({exc})") from None
    return tables, None, "the data"


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
    from stages.aggregate import aggregate

    out = output_dir or input_dir
    if (out / MANIFEST_NAME).is_file():
        raise UserError(
            f"{out} is a snapshot: writing into it would break its manifest; give --output DIR "
            "(or rebuild the snapshot with 'demoseed snapshot --force')"
        )
    tables, week_starts, source = read_input_tables(input_dir)
    result = aggregate(tables, week_starts=week_starts)
    for name, table in result.items():
        write_table(table, spec(name), out / f"{name}.parquet")
    n_weeks = (
        len(week_starts)
        if week_starts is not None
        else len(set(result["demoseed_team_weekly"]["week_start"].to_pylist()))
    )
    click.echo(
        f"aggregate: {result['metrics_weeklymetrics'].num_rows} member-weeks, "
        f"{result['demoseed_team_weekly'].num_rows} team-weeks over {n_weeks} week(s) (weeks from {source}) -> {out}"
    )
