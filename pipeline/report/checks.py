"""The rules a snapshot held, for the report's panel: each with a verdict and what was measured.

* Integrity, checked now: the snapshot id matches the manifest's contents,
  every table's row count (from its Parquet footer) is the manifest's, and the
  files the report read have the manifest's sha256.
* The generator's coherence rules: a synthetic snapshot is written only when
  all of them hold (stages/generate/validate.py); a real project's PRs are
  GitHub's own and are kept as they are.
* The built-in scenarios' promises (README, "What you can rely on"), measured
  on the weekly table with the same pooled figures `demoseed describe` uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.base.filehash import files_sha256
from pipeline.base.manifest import TableEntry, snapshot_id, table_files
from pipeline.base.parts import parts_digest
from pipeline.base.runrecord import Mode
from pipeline.report.source import READ_TABLES, Story
from stages.aggregate.story import first_last, is_flat, pooled

GENERATOR_RULES = (
    "reviews after the PR's creation and never by its author; merge after the first review; "
    "commits between creation and merge; surveys only on merged PRs, answered after the merge; "
    "unique natural keys; valid choices; no date after the window"
)


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
    if story.mode is Mode.PROJECT:
        return Check(
            "generator's coherence rules",
            None,
            "real project: PRs, reviews and commits are GitHub's own, kept as they are",
        )
    return Check(
        "generator's coherence rules",
        True,
        "checked on every generate run: a snapshot is written only when all hold",
        GENERATOR_RULES,
    )


def promises(story: Story) -> list[Check]:
    """The built-in scenario's promises (none for a user's scenario file, legacy runs or real projects)."""
    request = story.params.get("request") or {}
    if story.mode is not Mode.SCENARIO or request.get("scenario") != story.scenario:
        return []
    w = story.weeks
    if story.scenario == "ai-success":
        first, last = first_last(w, "ai_assisted_share")
        return [
            Check("AI-assisted share ≤ 20 % in week 1", first is not None and first <= 0.20, _pct(first)),
            Check("AI-assisted share ≥ 65 % in the last week", last is not None and last >= 0.65, _pct(last)),
        ]
    if story.scenario == "review-bottleneck":
        top = pooled(w, "top_reviewer_share", "reviews")
        return [
            Check("top reviewer does 60 % ± 5 % of all reviews", top is not None and 0.55 <= top <= 0.65, _pct(top))
        ]
    if story.scenario == "baseline":
        cols = {
            "ai_assisted_share": "AI share",
            "cycle_time_median_hours": "cycle time",
            "review_time_median_hours": "review time",
        }
        flat = {label: is_flat(w, c) for c, label in cols.items()}
        detail = ", ".join(f"{label} {'flat' if v is not False else 'trend'}" for label, v in flat.items())
        return [
            Check(
                "no trend in AI share, cycle time and review time", all(v is not False for v in flat.values()), detail
            )
        ]
    if story.scenario == "detective-game":
        acc = pooled(w, "guess_accuracy", "guesses")
        return [Check("team guess accuracy 30–70 %", acc is not None and 0.30 <= acc <= 0.70, _pct(acc))]
    return []


def all_checks(story: Story) -> list[Check]:
    return [*integrity(story), generator(story), *promises(story)]


def _sha256(directory: Path, entry: TableEntry) -> str:
    """The table's sha256 as the manifest states it: of its file, or of its parts' hashes."""
    hashes = files_sha256(table_files(directory, entry))
    return parts_digest(hashes) if entry.parts else hashes[0]
