"""``demoseed check``: what ``load`` with the same arguments would do, found by the same code, with nothing written.

It runs the load's own first steps (:func:`stages.load.core._decide`: the
schema comparison, the fills, the data checks, the team slugs) inside a
transaction that is rolled back, counts what ``--clear`` would delete or set
NULL in other tables (the foreign keys that point at the loaded tables, from
the catalog), and says whether the target is empty or unmigrated. Exit 0
exactly when the plan refuses nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.base.errors import UserError
from pipeline.base.manifest import Manifest, app_schema_record

from .asof import RECOMPUTED
from .backend import Cleared
from .core import Drift, Prepared, Refused, _decide, _prepare, open_backend
from .drift import GROUPS, REFUSED, LoadPlan
from .target import DUCKDB, SQLITE


@dataclass
class CheckReport:
    target: str
    snapshot: Path
    snapshot_id: str
    created: list[str] = field(default_factory=list)  # app tables load would create
    plan: LoadPlan | None = None
    clear_teams: list[str] = field(default_factory=list)  # team slugs --clear replaces
    deleted: dict[str, int] = field(default_factory=dict)  # app rows --clear deletes, per table
    foreign: dict[str, tuple[str, int]] = field(default_factory=dict)  # other tables: deleted / set NULL
    notes: list[str] = field(default_factory=list)
    refusal: str | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None

    def groups(self) -> dict[str, list[str]]:
        if self.plan is None:
            return {g: [] for g in GROUPS}
        return {g: [d.line() for d in items] for g, items in self.plan.grouped().items()}

    def lines(self) -> list[str]:
        out = [f"snapshot {self.snapshot} ({self.snapshot_id}) into {self.target}"]
        if self.created:
            out.append(f"empty target: load creates {len(self.created)} app table(s)")
        for group, items in self.groups().items():
            if items:
                out.append(f"{group} ({len(items)}):")
                out += [f"  {line}" for line in items]
        if self.clear_teams:
            out.append(f"--clear replaces the rows of team(s) {', '.join(self.clear_teams)}:")
            out += [f"  {t}: {n:,} row(s) deleted" for t, n in sorted(self.deleted.items()) if n]
            out += [f"  {k}: {n:,} row(s) {a} (not a demoseed table)" for k, (a, n) in sorted(self.foreign.items())]
        out += self.notes
        out.append(f"load would fail: {self.refusal}" if self.refusal else "load would succeed")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "target": self.target,
            "snapshot": str(self.snapshot),
            "snapshot_id": self.snapshot_id,
            "creates_tables": self.created,
            "differences": self.groups(),
            "clear": {
                "teams": self.clear_teams,
                "deleted": self.deleted,
                "other_tables": {k: {"action": a, "rows": n} for k, (a, n) in sorted(self.foreign.items())},
            },
            "notes": self.notes,
            "refusal": self.refusal,
        }


def check_snapshot(
    snapshot_dir: Path,
    db_url: str | None,
    *,
    as_of: dt.datetime,
    schema: str | None = None,
    clear: bool = False,
    rebase_dates: bool = True,
    default_db: Path | None = None,
    drift: Drift | None = None,
    **prepare: Any,
) -> CheckReport:
    """What ``load_snapshot`` with the same arguments would do (see the module doc)."""
    from pipeline.base.schemas import APP_LOAD_ORDER

    p = _prepare(
        snapshot_dir,
        db_url,
        as_of,
        prepare.get("recompute_week"),
        prepare.get("recompute_columns"),
        schema,
        rebase_dates,
        default_db,
        prepare.get("include", APP_LOAD_ORDER),
        prepare.get("progress"),
    )
    report = CheckReport(p.target.display, p.snapshot_dir, p.manifest.snapshot_id)
    report.notes.append(schema_line(p.manifest))
    if p.target.kind in {DUCKDB, SQLITE} and p.target.path is not None and not p.target.path.exists():
        report.created = list(p.tables)
        report.notes.append(f"{p.target.path} does not exist: load creates it with the app tables")
        return report
    _rehearse(p, clear, drift or Drift(), report)
    return report


def schema_line(manifest: Manifest) -> str:
    """Which app schema the snapshot was built against, and whether this demoseed's differs."""
    built, ours = manifest.app_schema_sha256, app_schema_record()["sha256"]
    if built is None:
        return f"the snapshot does not record its app schema (made before it was); this demoseed's is {ours[:12]}"
    if built == ours:
        return f"built against app schema {built[:12]}, the one this demoseed knows; the differences above are the target's"
    return (
        f"built against app schema {built[:12]}, this demoseed knows {ours[:12]}: the snapshot is older or newer "
        "than this tool's idea of the app; the differences above are against the target itself"
    )


def _rehearse(p: Prepared, clear: bool, drift: Drift, report: CheckReport) -> None:
    backend = open_backend(p.target)
    try:
        backend.duck.register(RECOMPUTED, p.cut.recomputed)
        try:
            d = _decide(backend, p, clear, drift, dry=True)
            report.created, report.plan = d.created, d.plan
            report.notes += d.notes
            swept = backend.clear_teams(sorted(d.found.values()), p.tables, dry=True) if d.found else Cleared()
            report.clear_teams = sorted(d.found)
            report.deleted, report.foreign = swept.deleted, swept.foreign
        except Refused as exc:
            report.plan, report.created = exc.plan, exc.created
            report.notes += exc.notes
            report.refusal = str(exc)
        except UserError as exc:
            report.refusal = str(exc)
        finally:
            backend.rollback()
    finally:
        backend.close()


__all__ = ["REFUSED", "CheckReport", "check_snapshot"]
