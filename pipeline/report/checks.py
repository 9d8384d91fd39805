"""The rules a snapshot held, for the report's panel: each with a verdict and what was measured.

* Integrity, checked now: the snapshot id matches the manifest's contents,
  every table's row count (from its Parquet footer) is the manifest's, and the
  files the report read have the manifest's sha256.
* The generator's coherence rules (stages/generate/validate.py), run again on
  the tables of the snapshot drawn (up to :data:`RECHECK_MAX_PRS` PRs; a larger
  one shows them unchecked, never as held); a real project's PRs are GitHub's
  own and are kept as they are.
* The scenario's promises, as its TOML declares them (``[[promises]]``:
  :mod:`stages.generate.promises`), measured on the weekly table with the
  same pooled figures `demoseed describe` uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.base.errors import UserError
from pipeline.base.filehash import files_sha256
from pipeline.base.manifest import TableEntry, snapshot_id, table_files
from pipeline.base.parts import parts_digest
from pipeline.base.runrecord import GenerateInfo, Mode
from pipeline.report.source import READ_TABLES, Story
from stages.aggregate.story import first_last, is_flat, pooled

if TYPE_CHECKING:
    from stages.generate.promises import Promise
    from stages.generate.scenario import Scenario

GENERATOR_RULES = (
    "reviews after the PR's creation and never by its author; merge after the first review; "
    "commits between creation and merge; surveys only on merged PRs, answered after the merge; "
    "unique natural keys; valid choices; no date after the window"
)


RECHECK_MAX_PRS = 200_000  # larger snapshots keep the report fast: their rules held when they were generated


@dataclass(frozen=True)
class Check:
    rule: str
    held: bool | None  # None: does not apply to this snapshot
    detail: str
    more: str = ""  # a longer explanation, folded away


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.1f} %"


def integrity(story: Story) -> list[Check]:
    manifest, directory = story.manifest, story.directory
    out = [
        Check(
            "snapshot id matches the manifest's contents",
            snapshot_id(manifest.document) == manifest.snapshot_id,
            manifest.snapshot_id,
        )
    ]
    wrong_rows = []
    for name, entry in sorted(manifest.tables.items()):
        try:
            rows = sum(pq.ParquetFile(f).metadata.num_rows for f in table_files(directory, entry))
        except (pa.ArrowException, OSError):
            rows = None
        if rows != entry.rows:
            wrong_rows.append(name)
    total = sum(e.rows for e in manifest.tables.values())
    out.append(
        Check(
            "every table's row count equals the manifest's",
            not wrong_rows,
            f"{len(manifest.tables)} tables, {total:,} rows"
            + (f"; differ: {', '.join(wrong_rows)}" if wrong_rows else ""),
        )
    )
    tables = manifest.tables
    changed = [t for t in READ_TABLES if _sha256(directory, tables[t]) != tables[t].sha256]
    out.append(
        Check(
            "the tables drawn here have the manifest's sha256",
            not changed,
            ", ".join(changed) if changed else f"{len(READ_TABLES)} files re-hashed",
        )
    )
    return out


def generator(story: Story) -> Check:
    """The generator's coherence rules (stages/generate/validate.py), run again on the snapshot's tables."""
    rule = "generator's coherence rules"
    run = story.run
    if story.mode is Mode.PROJECT:
        return Check(rule, None, "real project: PRs, reviews and commits are GitHub's own, kept as they are")
    if not isinstance(run, GenerateInfo):
        return Check(rule, None, "not checked: the manifest does not record the run's weeks")
    prs = story.manifest.tables["metrics_pullrequest"].rows
    if prs > RECHECK_MAX_PRS:
        return Check(
            rule,
            None,
            f"not re-checked here: {prs:,} PRs (over {RECHECK_MAX_PRS:,}); held when generated",
            GENERATOR_RULES,
        )
    from pipeline.base.manifest import read_snapshot_tables
    from pipeline.base.schemas import GENERATED_TABLES
    from stages.generate.validate import GenerationError, validate

    tables = read_snapshot_tables(story.directory, GENERATED_TABLES)
    try:
        validate(tables, window_end=run.window_end, window_start=run.week_starts[0], warmup_start=run.warmup_start)
    except GenerationError as exc:
        return Check(rule, False, str(exc).removeprefix("generated "), GENERATOR_RULES)
    return Check(rule, True, f"re-checked on this snapshot's {prs:,} PRs", GENERATOR_RULES)


def promises(story: Story) -> list[Check]:
    """The promises the snapshot's scenario declares (its TOML's ``[[promises]]``); none for legacy runs,
    real projects, or a scenario whose text is no longer the one the snapshot was made from."""
    scenario = _scenario_of(story)
    return [promise_check(p, story.weeks) for p in scenario.promises] if scenario is not None else []


# short names of weekly columns in a check's detail
_LABELS = {
    "ai_assisted_share": "AI share",
    "cycle_time_median_hours": "cycle time",
    "review_time_median_hours": "review time",
}


def promise_check(p: Promise, weeks: pl.DataFrame) -> Check:
    """One promise measured on a team's weekly rows (``demoseed_team_weekly``), as the report shows it."""
    if p.measure == "flat":
        flat = {_LABELS.get(c, c): is_flat(weeks, c) for c in p.columns}
        detail = ", ".join(f"{label} {'flat' if v is not False else 'trend'}" for label, v in flat.items())
        return Check(p.rule, all(v is not False for v in flat.values()), detail)
    (column,) = p.columns
    if p.measure == "pooled":
        assert p.weight is not None
        value = pooled(weeks, column, p.weight)
    else:
        first, last = first_last(weeks, column)
        value = first if p.measure == "first" else last
    return Check(p.rule, p.holds(value), _pct(value))


def _scenario_of(story: Story) -> Scenario | None:
    """The scenario the snapshot was made from, when its text (a built-in's, or the user's file) is unchanged."""
    from pipeline.runners.generate import scenario_inputs
    from stages.generate.scenario import load_scenario

    request = story.params.get("request") or {}
    given = request.get("scenario")
    if story.mode is not Mode.SCENARIO or not isinstance(given, str):
        return None
    try:
        scenario = load_scenario(given)
    except UserError:  # a user's file that moved, or no longer parses
        return None
    recorded = story.manifest.inputs
    return scenario if all(recorded.get(k) == v for k, v in scenario_inputs(scenario).items()) else None


def all_checks(story: Story) -> list[Check]:
    return [*integrity(story), generator(story), *promises(story)]


def _sha256(directory: Path, entry: TableEntry) -> str:
    """The table's sha256 as the manifest states it: of its file, or of its parts' hashes."""
    hashes = files_sha256(table_files(directory, entry))
    return parts_digest(hashes) if entry.parts else hashes[0]
