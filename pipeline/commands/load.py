"""`demoseed load`: load a snapshot into the app database (PostgreSQL, SQLite or embedded DuckDB)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pipeline.commands._common import resolve_snapshot


class AsOfType(click.ParamType):  # type: ignore[type-arg]
    """A load instant: a date (the end of that day, UTC) or an ISO date-time (UTC unless it has an offset)."""

    name = "WHEN"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        text = str(value).strip()
        try:
            if len(text) == 10:
                day = dt.date.fromisoformat(text)
                return dt.datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=dt.UTC)
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            self.fail(f"{text!r} is not a date or date-time; use 2026-03-04 or 2026-03-04T15:30", param, ctx)


AS_OF = AsOfType()

F = Callable[..., Any]


def follow_options(f: F) -> F:
    """The options that meet an app schema that moved on (shared by load and check)."""
    options = [
        click.option(
            "--app",
            "app",
            envvar="DEMOSEED_APP",
            type=click.Path(path_type=Path),
            metavar="DIR",
            help="The app's checkout (holding manage.py; also $DEMOSEED_APP): its own Django, run in a subprocess, "
            "gives the database (unless --db-url), the model defaults for columns the snapshot lacks, and the "
            "fields it removed or renamed.",
        ),
        click.option(
            "--app-python",
            metavar="PATH",
            help="The app environment's interpreter (default: DIR/.venv/bin/python, then python on PATH).",
        ),
        click.option(
            "--fill",
            "fills",
            multiple=True,
            metavar="TABLE.COLUMN=VALUE",
            help="A value for a target column the snapshot lacks (repeatable); 'now' is the load instant.",
        ),
        click.option(
            "--ignore-missing-columns",
            is_flag=True,
            help="Leave out snapshot columns the target no longer has (as Django's loaddata --ignorenonexistent).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def follow(
    app: Path | None, app_python: str | None, fills: tuple[str, ...], ignore_missing_columns: bool, migrate: bool
) -> Any:
    from pipeline.runners.load import Follow

    return Follow(tuple(fills), ignore_missing_columns, app, app_python, migrate)


@click.command("load")
@click.argument("snapshot", required=False, type=click.Path(path_type=Path))
@click.option("--latest", is_flag=True, help="Load the most recently written snapshot under data/snapshots.")
@click.option(
    "--db-url",
    envvar="DEMOSEED_DB_URL",
    metavar="URL",
    help="postgresql://user:pass@host:5432/db[?schema=s], sqlite:///rel/path.db, sqlite:////abs/path.db, "
    "duckdb:///rel/path.duckdb or duckdb:////abs/path.duckdb (also $DEMOSEED_DB_URL, which keeps a password "
    "out of ps; default: the embedded data/app.duckdb).",
)
@click.option("--schema", metavar="NAME", help="PostgreSQL/DuckDB schema for the app tables (default public/main).")
@click.option("--clear", is_flag=True, help="Delete the snapshot's teams (by slug) and all their rows first.")
@click.option(
    "--rebase-dates/--no-rebase-dates",
    default=True,
    show_default=True,
    help="Shift all dates by whole weeks so the snapshot's last week is the current week.",
)
@click.option(
    "--as-of",
    "as_of",
    type=AS_OF,
    metavar="WHEN",
    help="The load instant: the database shows the team as it stood then (default: now). "
    "YYYY-MM-DD (the end of that day, UTC) or YYYY-MM-DDTHH:MM[:SS][+HH:MM] (UTC without an offset).",
)
@click.option("--today", type=AS_OF, hidden=True, help="The former name of --as-of.")
@follow_options
@click.option("--migrate", is_flag=True, help="With --app: run the app's own manage.py migrate first when needed.")
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Load even when the load instant holds back every row but the teams and their members (otherwise refused).",
)
def command(
    snapshot: Path | None,
    latest: bool,
    db_url: str | None,
    schema: str | None,
    clear: bool,
    rebase_dates: bool,
    as_of: dt.datetime | None,
    today: dt.datetime | None,
    app: Path | None,
    app_python: str | None,
    fills: tuple[str, ...],
    ignore_missing_columns: bool,
    migrate: bool,
    allow_empty: bool,
) -> None:
    """Load SNAPSHOT (a snapshot directory, or --latest) into the app database, in one transaction.

    \b
    Examples:
      demoseed load --latest
      demoseed load data/snapshots/ai-success-seed42 --db-url postgresql://app@localhost:5432/app --clear
      DEMOSEED_DB_URL=sqlite:///demo.db demoseed load --latest --as-of 2026-03-04T15:00
      demoseed load --latest --app ../tformance          (the app's database, its model defaults)
      demoseed load --latest --fill teams_team.timezone_name=UTC
    """
    import os

    from rich.console import Console

    from pipeline.runners.load import run_load

    if db_url is None and os.environ.get("DEMOSEED_DB_URL") == "":
        db_url = ""  # click reads an empty variable as unset: the load refuses it, as an empty --db-url
    directory = resolve_snapshot(snapshot, latest)
    err = Console(stderr=True, highlight=False)
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=140)
    with err.status("loading", spinner="dots") if err.is_terminal else _Null() as status:

        def progress(msg: str) -> None:
            if status is not None:
                status.update(msg)

        report = run_load(
            directory,
            db_url,
            schema=schema,
            clear=clear,
            rebase_dates=rebase_dates,
            as_of=as_of or today,
            allow_empty=allow_empty,
            progress=progress,
            follow=follow(app, app_python, fills, ignore_missing_columns, migrate),
        )
    out.print(report.rich_table())
    for line in report.summary_lines():
        click.echo(line)


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
