"""A large snapshot in partitions of teams: bounded memory, any number of workers, the same bytes.

A run of more teams than ``--partition-teams`` is cut into partitions of that
many teams (the last one shorter). Each partition is generated, validated,
aggregated and written as one part of every table by a job of
:mod:`pipeline.runners.partition_jobs`, so a process holds one partition at a
time, never the dataset. The client (this module) only plans, submits and
assembles the manifest from the jobs' hashes:

1. count each partition's PRs (cheap) -> each partition's PR id offset;
2. generate and write the partitions (in any order, on any worker);
3. give the member-week parts their ids and stamps (which need the rows and
   the last event of the partitions before / of all of them);
4. write ``manifest.json`` (format 2: every table in parts) and rename the
   directory into place.

The parts hold exactly the rows of an unpartitioned run (every draw is keyed by
team, member or PR, never by position), and which worker runs a job never
changes a byte. The part boundaries do shape the files and so the table
hashes: the partition size is part of the request (``params.request``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.base.atomic import atomic_directory
from pipeline.base.manifest import Manifest, write_manifest
from pipeline.base.parts import PartEntry, parted_entry
from pipeline.base.schemas import SNAPSHOT_TABLES
from pipeline.runners.partition_jobs import SliceDone, SliceJob, WeeklyJob, count_job, slice_job, weekly_job

if TYPE_CHECKING:
    import pyarrow as pa

    from stages.generate import GenerateConfig, GenerateInfo
    from stages.generate.synthetic.tables import Params

# Default partition: about this many PRs (~ 0.5 GB of peak memory per worker; 10 partitions a million PRs).
PARTITION_PRS = 100_000


def default_partition_teams(params: Params) -> int:
    """Teams per partition for about PARTITION_PRS PRs, from the first team's PR count (deterministic)."""
    from stages.generate.synthetic.tables import count_slice_prs

    per_team = max(1, count_slice_prs(params, range(1)))
    return max(1, PARTITION_PRS // per_team)


def team_ranges(teams: int, per: int) -> list[range]:
    return [range(first, min(first + per, teams)) for first in range(0, teams, per)]


@dataclass(frozen=True)
class PartitionPlan:
    """A scenario or legacy run of more teams than a partition holds."""

    config: GenerateConfig
    params: Params
    partition_teams: int

    def as_params(self) -> dict[str, Any]:
        """What the request records: the partition size shapes the files (not the workers)."""
        return {"partition_teams": self.partition_teams}


def plan_partitions(config: GenerateConfig, partition_teams: int | None) -> PartitionPlan | None:
    """The plan of a run that needs partitions; None when its teams fit in one (written as one file per table)."""
    teams = config.teams or 1
    if teams == 1 or (partition_teams is not None and teams <= partition_teams):
        return None
    from pipeline.runners.generate import with_defaults
    from stages.generate import resolve

    config = with_defaults(config)
    params = resolve(config)
    per = partition_teams or default_partition_teams(params)
    return PartitionPlan(config, params, per) if params.teams > per else None


@dataclass(frozen=True)
class PartitionedRun:
    """What the partitions made: the generate record, how many partitions, in how long."""

    info: GenerateInfo
    partitions: int
    seconds: float


def write_partitioned_snapshot(
    out_dir: Path,
    plan: PartitionPlan,
    real: dict[str, pa.Table] | None,
    *,
    executor: Executor,
    name: str,
    make_params: Callable[[GenerateInfo], dict[str, Any]],
    inputs: dict[str, Any],
    notes: Callable[[], list[str]],
) -> tuple[Manifest, PartitionedRun]:
    """Generate, aggregate and write the snapshot at ``out_dir`` in partitions (atomically, as a whole)."""
    t0 = time.perf_counter()
    with atomic_directory(out_dir) as tmp:
        entries, info, n = _write_parts(tmp, plan, real, executor)
        run = PartitionedRun(info, n, time.perf_counter() - t0)
        document = write_manifest(tmp, entries, name=name, params=make_params(info), inputs=inputs, notes=notes())
    return Manifest.from_document(document, out_dir), run


def _write_parts(
    root: Path, plan: PartitionPlan, real: dict[str, pa.Table] | None, executor: Executor
) -> tuple[dict[str, Any], GenerateInfo, int]:
    from stages.generate import run_info
    from stages.generate.synthetic.team import week_starts_for

    params = plan.params
    ranges = team_ranges(params.teams, plan.partition_teams)
    weeks = tuple(week_starts_for(params.anchor, params.weeks))
    counts = list(executor.map(count_job, [params] * len(ranges), ranges))
    offsets = [0, *itertools.accumulate(counts)][:-1]
    jobs = [
        SliceJob(params, real, _slice(r, offset), i, str(root), weeks)
        for i, (r, offset) in enumerate(zip(ranges, offsets, strict=True))
    ]
    done: list[SliceDone] = list(executor.map(slice_job, jobs))
    last = max((d.last_event for d in done if d.last_event is not None), default=None)  # of all the data
    weekly_offsets = [0, *itertools.accumulate(d.weekly_rows for d in done)][:-1]
    weekly_parts = list(
        executor.map(
            weekly_job, [WeeklyJob(str(root), d.index, off, weeks, last) for d, off in zip(done, weekly_offsets)]
        )
    )
    facts = done[0].facts
    for d in done[1:]:
        facts = facts.plus(d.facts)
    row_counts = {name: sum(d.rows[name] for d in done) for name in done[0].rows}
    info = run_info(plan.config, params, facts, row_counts)
    parts: dict[str, list[PartEntry]] = {}
    for d, weekly in zip(done, weekly_parts, strict=True):
        for table_name, entry in {**d.parts, "metrics_weeklymetrics": weekly}.items():
            parts.setdefault(table_name, []).append(entry)
    entries = {t: parted_entry(parts[t]) for t in SNAPSHOT_TABLES if t in parts}
    return entries, info, len(ranges)


def _slice(teams: range, pr_offset: int) -> Any:
    from stages.generate.synthetic.tables import TeamSlice

    return TeamSlice(teams.start, len(teams), pr_offset)
