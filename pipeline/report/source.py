"""What a report reads from a snapshot: one team's weekly story, as the snapshot holds it.

* ``demoseed_team_weekly``: the team's weeks, every column as written (the
  weekly charts draw these values unchanged);
* ``metrics_weeklymetrics``: per member, the sums over the weeks of
  ``ai_assisted_prs`` and ``surveys_completed`` (AI share per member);
* ``metrics_prreview``: reviews per reviewer and week, by the aggregate
  stage's rule (a member reviewer, submitted, not an AI review, in one of the
  snapshot's weeks), so the per-week sums are the weekly table's ``reviews``;
* ``demoseed_provenance``: the team's PRs by source and real repo;
* ``teams_team`` / ``metrics_teammember``: names; ``manifest.json``: the rest.

Only the team's rows and the named columns are read (Parquet column
projection and row-group filters), never whole raw tables, so a million-PR
snapshot reads in a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.base.errors import IntegrityError, UserError
from pipeline.base.manifest import Manifest, read_manifest, table_files
from pipeline.base.runrecord import Mode, RunRecord
from pipeline.base.schemas import DEMOSEED_TEAM_WEEKLY

# The tables a report reads (their files are re-hashed by checks.integrity).
READ_TABLES = (
    "demoseed_team_weekly",
    "metrics_weeklymetrics",
    "metrics_prreview",
    "demoseed_provenance",
    "teams_team",
    "metrics_teammember",
)


@dataclass(frozen=True)
class Team:
    id: int
    slug: str
    name: str


@dataclass(frozen=True)
class Story:
    """One team of one snapshot, as a report shows it."""

    directory: Path
    label: str  # the snapshot's column header, unique within a report
    manifest: Manifest
    team: Team
    teams: int  # teams in the snapshot
    weeks: pl.DataFrame  # the team's demoseed_team_weekly rows, by week
    members: pl.DataFrame  # member_id, member, ai_assisted_prs, surveys_completed (sums over the weeks)
    reviews: pl.DataFrame  # member_id, member, week_start, reviews (pairs with reviews only)
    sources: pl.DataFrame  # source, real_repo, prs

    @property
    def mode(self) -> Mode:
        return self.manifest.mode or Mode.SCENARIO

    @property
    def run(self) -> RunRecord | None:
        """The generate stage's typed record (None for a snapshot whose manifest holds none)."""
        return self.manifest.run

    @property
    def scenario(self) -> str | None:
        """The scenario's name (None for a real project), as `demoseed describe` reads it."""
        return self.manifest.scenario

    @property
    def params(self) -> dict[str, Any]:
        return self.manifest.params


def _paths(directory: Path, manifest: Manifest, table: str) -> list[Path]:
    """The table's files (one, or its parts in order)."""
    entry = manifest.tables.get(table)
    if entry is None:
        raise IntegrityError(f"snapshot {directory} has no table {table}; rebuild it with 'demoseed snapshot'")
    paths = table_files(directory, entry)
    missing = [p for p in paths if not p.is_file()]
    if missing:
        name = missing[0].relative_to(directory).as_posix()
        raise IntegrityError(f"snapshot {directory}: {name} is missing; run 'demoseed verify {directory}'")
    return paths


def _read(directory: Path, manifest: Manifest, table: str, columns: list[str], team_id: int | None) -> pl.DataFrame:
    """The named columns of a snapshot table (only team ``team_id``'s rows when given)."""
    paths = _paths(directory, manifest, table)
    source: Any = paths[0] if len(paths) == 1 else paths
    try:
        data = pq.read_table(source, columns=columns, filters=None if team_id is None else [("team_id", "=", team_id)])
    except (pa.ArrowException, OSError) as exc:
        raise IntegrityError(
            f"snapshot {directory}: cannot read {columns} from {table} ({exc}); run 'demoseed verify {directory}'"
        ) from None
    df = pl.from_arrow(data)
    assert isinstance(df, pl.DataFrame)
    return df


def _team(directory: Path, manifest: Manifest, slug: str | None) -> tuple[Team, int]:
    teams = _read(directory, manifest, "teams_team", ["id", "slug", "name"], None).sort("id")
    if teams.height == 0:
        raise IntegrityError(f"snapshot {directory} has no team")
    chosen = teams if slug is None else teams.filter(pl.col("slug") == slug)
    if chosen.height == 0:
        known = teams.get_column("slug").to_list()
        shown = ", ".join(known[:5]) + (f" and {len(known) - 5} more" if len(known) > 5 else "")
        raise UserError(f"snapshot {directory} has no team {slug!r}; its teams: {shown}")
    row = chosen.row(0, named=True)
    return Team(int(row["id"]), str(row["slug"]), str(row["name"] or row["slug"])), teams.height


def _names(directory: Path, manifest: Manifest, team_id: int) -> pl.DataFrame:
    people = _read(directory, manifest, "metrics_teammember", ["id", "display_name", "github_username"], team_id)
    return people.select(
        pl.col("id").alias("member_id"),
        pl.when(pl.col("display_name").str.strip_chars() != "")
        .then(pl.col("display_name"))
        .otherwise(pl.col("github_username"))
        .alias("member"),
    )


def _members(directory: Path, manifest: Manifest, team_id: int, names: pl.DataFrame) -> pl.DataFrame:
    weekly = _read(
        directory, manifest, "metrics_weeklymetrics", ["member_id", "ai_assisted_prs", "surveys_completed"], team_id
    )
    sums = weekly.group_by("member_id").agg(
        pl.col("ai_assisted_prs").cast(pl.Int64).sum(), pl.col("surveys_completed").cast(pl.Int64).sum()
    )
    return sums.join(names, on="member_id", how="left").sort("member_id")


def _reviews(directory: Path, manifest: Manifest, team_id: int, weeks: pl.Series, names: pl.DataFrame) -> pl.DataFrame:
    rows = _read(directory, manifest, "metrics_prreview", ["reviewer_id", "submitted_at", "is_ai_review"], team_id)
    counted = (
        rows.filter(
            pl.col("reviewer_id").is_not_null()
            & pl.col("submitted_at").is_not_null()
            & ~pl.col("is_ai_review").fill_null(False)
        )
        .select(
            pl.col("reviewer_id").alias("member_id"),
            pl.col("submitted_at").cast(pl.Datetime("us", "UTC")).dt.truncate("1w").dt.date().alias("week_start"),
        )
        .filter(pl.col("week_start").is_in(weeks.implode()))
        .group_by("member_id", "week_start")
        .agg(pl.len().cast(pl.Int64).alias("reviews"))
    )
    return counted.join(names, on="member_id", how="left").sort("member_id", "week_start")


def _sources(directory: Path, manifest: Manifest, team_id: int) -> pl.DataFrame:
    rows = _read(directory, manifest, "demoseed_provenance", ["source", "real_repo"], team_id)
    return (
        rows.group_by("source", "real_repo")
        .agg(pl.len().cast(pl.Int64).alias("prs"))
        .sort("source", "real_repo", nulls_last=True)
    )


def read_story(directory: Path, team_slug: str | None = None) -> Story:
    """One team (``team_slug``, else the first) of the snapshot in ``directory``."""
    if not directory.is_dir():
        raise UserError(f"{directory}: no such snapshot directory; give a path under data/snapshots/")
    manifest = read_manifest(directory)
    team, n_teams = _team(directory, manifest, team_slug)
    weekly = _read(directory, manifest, "demoseed_team_weekly", list(DEMOSEED_TEAM_WEEKLY.column_names), team.id)
    weekly = weekly.sort("week_start")
    names = _names(directory, manifest, team.id)
    label = manifest.name or directory.name
    return Story(
        directory=directory,
        label=label if n_teams == 1 else f"{label} · {team.slug}",
        manifest=manifest,
        team=team,
        teams=n_teams,
        weeks=weekly,
        members=_members(directory, manifest, team.id, names),
        reviews=_reviews(directory, manifest, team.id, weekly.get_column("week_start"), names),
        sources=_sources(directory, manifest, team.id),
    )


def read_stories(directories: list[Path], team_slug: str | None = None) -> list[Story]:
    """The stories of several snapshots in the order given, labels made unique ("name (2)")."""
    stories: list[Story] = []
    seen: dict[str, int] = {}
    for directory in directories:
        story = read_story(directory, team_slug)
        seen[story.label] = seen.get(story.label, 0) + 1
        if seen[story.label] > 1:
            story = replace(story, label=f"{story.label} ({seen[story.label]})")
        stories.append(story)
    return stories
