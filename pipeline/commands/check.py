"""`demoseed check`: what `demoseed load` with the same arguments would do: the load, rolled back."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from pipeline.commands._common import resolve_snapshot, snapshot_path
from pipeline.commands.load import AS_OF, follow, follow_options


@click.command("check")
@click.argument("snapshot", required=False, type=snapshot_path())
@click.option("--latest", is_flag=True, help="Check the most recently written snapshot under data/snapshots.")
@click.option("--db-url", envvar="DEMOSEED_DB_URL", metavar="URL", help="As for load (also $DEMOSEED_DB_URL).")
@click.option("--schema", metavar="NAME", help="PostgreSQL/DuckDB schema for the app tables (default public/main).")
@click.option("--clear", is_flag=True, help="Count what --clear would delete or set NULL, here and in other tables.")
@click.option("--rebase-dates/--no-rebase-dates", default=True, show_default=True, help="As for load.")
@click.option("--as-of", "as_of", type=AS_OF, metavar="WHEN", help="The load instant, as for load (default: now).")
@follow_options
@click.option("--allow-empty", is_flag=True, help="As for load.")
@click.option(
    "--plan-only",
    is_flag=True,
    help="Only compare schema and data fit (fast); write no rows, so the target's constraints, triggers and "
    "the read-back are not tried.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout (for scripts).")
def command(
    snapshot: Path | None,
    latest: bool,
    db_url: str | None,
    schema: str | None,
    clear: bool,
    rebase_dates: bool,
    as_of: dt.datetime | None,
    app: Path | None,
    app_python: str | None,
    fills: tuple[str, ...],
    ignore_missing_columns: bool,
    allow_empty: bool,
    plan_only: bool,
    as_json: bool,
) -> None:
    """Preview loading SNAPSHOT: run the whole load in one transaction and roll it back. Prints every difference
    from the target's schema (filled and from where, fits by its data, renamed, left out, refused and why), what
    --clear would remove in other tables, the rows load would write, an empty or unmigrated target, and load's
    own refusal if it would fail. Exit 0 exactly when `load` with the same arguments would succeed; nothing is
    kept, and a database file that does not exist yet is not created.

    \b
    Examples:
      demoseed check --latest --app ../tformance
      demoseed check data/snapshots/ai-success-seed42 --db-url postgresql://app@localhost/app --clear --json
    """
    from pipeline.runners.load import run_check

    directory = resolve_snapshot(snapshot, latest)
    report = run_check(
        directory,
        db_url or None,
        schema=schema,
        clear=clear,
        rebase_dates=rebase_dates,
        as_of=as_of,
        follow=follow(app, app_python, fills, ignore_missing_columns, False),
        allow_empty=allow_empty,
        plan_only=plan_only,
    )
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        for line in report.lines():
            click.echo(line)
    if not report.ok:
        click.get_current_context().exit(2)
