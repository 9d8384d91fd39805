"""What a worker does for one partition of teams (local process, Dask worker or this process).

Three plain functions, each taking and returning small picklable records, so
any ``concurrent.futures.Executor`` (a process pool, a Dask client's
executor, or the inline one) runs them:

1. :func:`count_job`: how many PRs a partition has (its successor's PR id offset).
2. :func:`slice_job`: generate the partition's teams (the same rows as in a run of
   all teams, :class:`stages.generate.synthetic.tables.TeamSlice`), validate, aggregate, and
   write every table's part ``<table>/part-NNNNN.parquet`` under the snapshot's
   directory, which every worker sees. The member-week part is provisional: its
   ids and stamps depend on the partitions before and on the last event of all.
3. :func:`weekly_job`: rewrite that part with its final ids and stamps.

Results carry each part's rows and hashes; the client assembles the manifest
and never reads the data. Nothing here depends on which worker runs a job.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from pipeline.base.hashing import content_hash, file_sha256
from pipeline.base.parquet import read_table, write_table
from pipeline.base.parts import PartEntry, part_name
from pipeline.base.schemas import WEEKLY, spec
from stages.aggregate import Weeks, aggregate_with_weeks, restamp
from stages.generate import generate_slice
from stages.generate.synthetic.tables import count_slice_prs

if TYPE_CHECKING:
    from stages.generate.synthetic.tables import Params, RunFacts, TeamSlice


@dataclass(frozen=True)
class SliceJob:
    """One partition: the resolved run, its teams and PR id offset, where the snapshot is written."""

    params: Params
    real: dict[str, pa.Table] | None
    part: TeamSlice
    index: int
    root: str
    week_starts: tuple[dt.date, ...]


@dataclass(frozen=True)
class SliceDone:
    """A partition's parts (rows and hashes; the member-week part still provisional) and facts."""

    index: int
    parts: dict[str, PartEntry]
    facts: RunFacts
    rows: dict[str, int]  # app tables and demoseed_provenance (generate's row counts)
    last_event: dt.datetime | None
    weekly_rows: int


@dataclass(frozen=True)
class WeeklyJob:
    root: str
    index: int
    id_offset: int
    week_starts: tuple[dt.date, ...]
    last_event: dt.datetime | None


def count_job(params: Params, teams: range) -> int:
    return count_slice_prs(params, teams)


def write_part(table: pa.Table, table_name: str, root: Path, index: int) -> PartEntry:
    """Write one part (rows already in the spec's order) and return its entry."""
    name = part_name(table_name, index)
    written = write_table(table, spec(table_name), root / name, sort=False)
    size = (root / name).stat().st_size
    return PartEntry(name, written.num_rows, file_sha256(root / name), content_hash(written), size)


def slice_job(job: SliceJob) -> SliceDone:
    root = Path(job.root)
    tables, facts = generate_slice(job.params, job.real, job.part)
    rows = {name: t.num_rows for name, t in tables.items()}
    weekly, weeks = aggregate_with_weeks(tables, week_starts=list(job.week_starts))
    parts: dict[str, PartEntry] = {}
    for name in list(tables):
        parts[name] = write_part(tables.pop(name), name, root, job.index)  # write and release one by one
    parts["demoseed_team_weekly"] = write_part(weekly["demoseed_team_weekly"], "demoseed_team_weekly", root, job.index)
    write_table(weekly[WEEKLY], spec(WEEKLY), root / part_name(WEEKLY, job.index), sort=False)  # see weekly_job
    pa.default_memory_pool().release_unused()
    return SliceDone(job.index, parts, facts, rows, weeks.last_event, weekly[WEEKLY].num_rows)


def weekly_job(job: WeeklyJob) -> PartEntry:
    path = Path(job.root) / part_name(WEEKLY, job.index)
    provisional = read_table(path, spec(WEEKLY))
    final = restamp(provisional, Weeks(sorted(job.week_starts), job.last_event), job.id_offset)
    return write_part(final, WEEKLY, Path(job.root), job.index)
