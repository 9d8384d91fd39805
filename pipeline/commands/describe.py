"""`demoseed describe`: a snapshot's story, week by week, without opening Parquet.

Reads ``demoseed_team_weekly.parquet`` (computed from the app tables when a
directory has none) and, when present, ``manifest.json`` (scenario, seed) and
``teams_team.parquet`` (team names); prints one rich table per team with the
scenario's headline columns highlighted and a one-line summary of the story.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipeline.base.errors import UserError
from pipeline.commands._common import resolve_snapshot, snapshot_path

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa
    from rich.table import Table

HIGHLIGHT = "bold yellow"


def _pct(v: Any) -> str:
    return "" if v is None else f"{v * 100:.0f}%"


def _num(digits: int) -> Callable[[Any], str]:
    return lambda v: "" if v is None else f"{v:.{digits}f}"


def _int(v: Any) -> str:
    return "" if v is None else str(v)


# column -> (header, formatter, shown without --wide)
COLUMNS: dict[str, tuple[str, Callable[[Any], str], bool]] = {
    "active_members": ("members", _int, False),
    "prs_opened": ("opened", _int, True),
    "prs_merged": ("merged", _int, True),
    "prs_closed": ("closed", _int, False),
    "merge_rate": ("merge", _pct, False),
    "open_prs_at_week_end": ("open@end", _int, True),
    "cycle_time_median_hours": ("cycle h", _num(1), True),
    "cycle_time_p90_hours": ("cycle p90", _num(1), False),
    "time_to_first_review_median_hours": ("1st review h", _num(1), False),
    "review_time_median_hours": ("review h", _num(1), True),
    "pr_size_median": ("size", _num(0), False),
    "surveys_completed": ("surveys", _int, False),
    "ai_assisted_share": ("AI", _pct, True),
    "avg_quality_rating": ("quality", _num(2), True),
    "guesses": ("guesses", _int, False),
    "guess_accuracy": ("guess acc", _pct, True),
    "revert_rate": ("revert", _pct, True),
    "hotfix_rate": ("hotfix", _pct, False),
    "reviews": ("reviews", _int, True),
    "reviewers": ("reviewers", _int, False),
    "reviews_per_reviewer": ("rev/reviewer", _num(1), False),
    "top_reviewer_share": ("top reviewer", _pct, True),
    "active_ai_users": ("AI users", _int, True),
}


def _team_weekly(directory: Path) -> tuple[pa.Table, str | None]:
    from pipeline.base.manifest import table_paths
    from pipeline.base.parquet import read_table_files
    from pipeline.base.schemas import DEMOSEED_TEAM_WEEKLY

    files = table_paths(directory, DEMOSEED_TEAM_WEEKLY.name)
    if files:
        return read_table_files(files, DEMOSEED_TEAM_WEEKLY), None
    if not table_paths(directory, "metrics_pullrequest"):
        raise UserError(
            f"{directory} has neither demoseed_team_weekly.parquet nor the app tables; "
            "give a snapshot directory (make snapshot) or a generate output"
        )
    from pipeline.runners.aggregate import directory_weeks, read_app_tables, run_aggregate

    result = run_aggregate(read_app_tables(directory), directory_weeks(directory)[0])
    return result.tables["demoseed_team_weekly"], "computed from the app tables"


def _team_names(directory: Path) -> dict[int, str]:
    from pipeline.base.manifest import table_paths
    from pipeline.base.parquet import read_table_files
    from pipeline.base.schemas import spec

    files = table_paths(directory, "teams_team")
    if not files:
        return {}
    teams = read_table_files(files, spec("teams_team")).select(["id", "name", "slug"]).to_pylist()
    return {t["id"]: f"{t['name']} ({t['slug']})" if t["name"] else t["slug"] for t in teams}


def _render(weeks: pl.DataFrame, title: str, highlighted: tuple[str, ...], wide: bool) -> Table:
    from rich.table import Table

    shown = [c for c, (_, _, default) in COLUMNS.items() if wide or default or c in highlighted]
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("week", no_wrap=True)
    for c in shown:
        header = COLUMNS[c][0]
        hl = c in highlighted
        table.add_column(f"★ {header}" if hl else header, justify="right", style=HIGHLIGHT if hl else None)
    for row in weeks.sort("week_start").iter_rows(named=True):
        table.add_row(row["week_start"].isoformat(), *(COLUMNS[c][1](row[c]) for c in shown))
    return table


def app_schema_line(manifest: Any) -> str:
    """What the snapshot was built against: the app schema's hash and, when made with --app, the app's migrations."""
    sha = manifest.app_schema_sha256
    if sha is None:
        return "app schema: not recorded (made before demoseed recorded it)"
    migrations = manifest.app_migrations
    if not migrations:
        return f"built against app schema {sha[:12]}; app migrations not recorded (made without --app)"
    from pipeline.base.manifest import migrations_text

    return f"built against app schema {sha[:12]}, for app migrations {migrations_text(migrations)}"


@click.command("describe")
@click.argument("snapshot", required=False, type=snapshot_path(file_okay=False))
@click.option("--latest", is_flag=True, help="Describe the most recently written snapshot in data/snapshots.")
@click.option("--scenario", "scenario_opt", help="Tell the story of this scenario (default: from manifest.json).")
@click.option("--wide", is_flag=True, help="Show every column of the team-level weekly table.")
def command(snapshot: Path | None, latest: bool, scenario_opt: str | None, wide: bool) -> None:
    """Print a snapshot's team-level weeks, its headline metric highlighted.

    \b
    SNAPSHOT is a snapshot directory (default with --latest or no argument:
    the newest in data/snapshots); a generate output directory works too.
    """
    import polars as pl
    from rich.console import Console

    from pipeline.base.manifest import MANIFEST_NAME, read_manifest
    from pipeline.base.runrecord import Mode
    from stages.aggregate.story import headline

    if scenario_opt is not None:
        from stages.generate.scenario import BUILTIN

        if scenario_opt not in BUILTIN:
            raise UserError(f"--scenario {scenario_opt!r}: no such scenario; use one of {', '.join(BUILTIN)}")
    directory = resolve_snapshot(snapshot, latest or snapshot is None)
    if not directory.is_dir():
        raise UserError(f"{directory}: no such directory; give a snapshot directory or use --latest")
    manifest = read_manifest(directory) if (directory / MANIFEST_NAME).is_file() else None
    scenario = scenario_opt or (manifest.scenario if manifest else None)
    team_weekly, note = _team_weekly(directory)
    names = _team_names(directory)
    df = pl.from_arrow(team_weekly)
    assert isinstance(df, pl.DataFrame)
    console = Console(width=None if Console().is_terminal else (260 if wide else 160))
    label = scenario or ("real project" if manifest and manifest.mode is Mode.PROJECT else "")
    seed = manifest.seed if manifest else None
    console.print(
        f"[bold]{directory}[/bold]" + (f" — {label}" if label else "") + (f", seed {seed}" if seed is not None else "")
    )
    if manifest is not None:
        console.print(app_schema_line(manifest), highlight=False)
    if note:
        console.print(f"[dim]({note})[/dim]")
    if df.height == 0:
        console.print("no team weeks in this snapshot")
        return
    for team_id in sorted(df.get_column("team_id").unique().to_list()):
        weeks = df.filter(pl.col("team_id") == team_id)
        story = headline(scenario, weeks)
        console.print(_render(weeks, names.get(team_id, f"team {team_id}"), story.columns, wide))
        console.print(f"[{HIGHLIGHT}]{story.summary}[/{HIGHLIGHT}]\n")
