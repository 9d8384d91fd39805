"""``demoseed check``: what ``load`` with the same arguments would do, found by the same code, with nothing kept.

By default it runs the whole load (:func:`stages.load.core.write_target`
with ``commit=False``): the plan (schema comparison, fills, data fit, team
slugs), ``--clear``'s deletes, every row, the keys, the target's own
constraints and triggers, the read-back; then ROLLBACK instead of COMMIT
(PostgreSQL, SQLite and DuckDB all roll DDL back). So it fails exactly where
load fails, with load's own one line, and otherwise reports the rows load
would write per table. A SQLite/DuckDB file that does not exist yet is never
created: the trial runs on a new file in a temporary directory, removed after.

``--plan-only`` (``plan_only``) runs only the plan
(:func:`stages.load.core._decide`) in a transaction that is rolled back, and
counts what ``--clear`` would delete or set NULL in other tables from the
catalog: fast, no row written, but blind to what only the rows meet (a CHECK
or UNIQUE constraint, a foreign key, a trigger, a load instant that holds
back every row).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.base.errors import UserError
from pipeline.base.manifest import Manifest, app_schema_record

from .asof import RECOMPUTED
from .backend import Cleared
from .core import Drift, Prepared, Refused, _decide, _Ids, _prepare, open_backend, write_target
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
    trial: bool = False  # the whole load ran and was rolled back (not --plan-only)
    rows: dict[str, int] = field(default_factory=dict)  # rows load would write, per table (the trial's)
    held_back: int = 0  # snapshot rows dated after the load instant (the trial's)

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
        if self.rows:
            written = ", ".join(f"{t} {n:,}" for t, n in self.rows.items())
            out.append(f"load writes {sum(self.rows.values()):,} row(s): {written}")
            if self.held_back:
                out.append(f"  held back {self.held_back:,} row(s) dated after the load instant")
        out += self.notes
        if not self.trial and self.refusal is None:
            out.append("plan only: the rows were not tried against the target's constraints and triggers")
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
            "trial": self.trial,
            "rows": self.rows,
            "held_back": self.held_back,
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
    allow_empty: bool = False,
    plan_only: bool = False,
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
    at = len(report.notes)
    report.notes.append(schema_line(p.manifest))
    missing = p.target.kind in {DUCKDB, SQLITE} and p.target.path is not None and not p.target.path.exists()
    if missing:
        report.notes.append(f"{p.target.path} does not exist: load creates it with the app tables")
    if not plan_only:
        _trial(p, clear, drift or Drift(), allow_empty, report, elsewhere=missing)
    elif missing:
        report.created = list(p.tables)
    else:
        _rehearse(p, clear, drift or Drift(), report)
    report.notes[at] = schema_line(p.manifest, differs=bool(report.plan and report.plan.differences))
    return report


def schema_line(manifest: Manifest, *, differs: bool = False) -> str:
    """Which app schema the snapshot was built against, and whether this demoseed's differs (``differs``: the
    target differs from the snapshot, and the lines above say where)."""
    built, ours = manifest.app_schema_sha256, app_schema_record()["sha256"]
    if built is None:
        return f"the snapshot does not record its app schema (made before it was); this demoseed's is {ours[:12]}"
    if built == ours:
        return f"built against app schema {built[:12]}, the one this demoseed knows" + (
            "; the differences above are the target's" if differs else ""
        )
    return (
        f"built against app schema {built[:12]}, this demoseed knows {ours[:12]}: the snapshot is older or newer "
        + (
            "than this tool's idea of the app; the differences above are against the target itself"
            if differs
            else "than this tool's idea of the app"
        )
    )


def _trial(p: Prepared, clear: bool, drift: Drift, allow_empty: bool, report: CheckReport, *, elsewhere: bool) -> None:
    """The whole load, rolled back (``elsewhere``: into a new file in a temporary directory, removed after)."""
    report.trial = True
    with contextlib.ExitStack() as stack:
        if elsewhere and p.target.path is not None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="demoseed-check-")))
            target = dataclasses.replace(p.target, path=tmp / p.target.path.name, create_dir=False)
            p = dataclasses.replace(p, target=target)
        ids = _Ids()
        try:
            w = write_target(p, clear, drift, allow_empty, commit=False, ids=ids)
        except Refused as exc:
            report.plan, report.created = exc.plan, exc.created
            report.notes += exc.notes
            report.refusal = str(exc)
        except UserError as exc:  # a refusal by the database, the read-back, the load instant, a full disk
            report.refusal = str(exc)
            if ids.decided is not None:
                report.plan, report.created = ids.decided.plan, ids.decided.created
                report.notes += ids.decided.notes
        else:
            report.plan, report.created = w.plan, w.created
            report.notes += w.notes
            report.clear_teams = w.cleared_slugs
            report.deleted = {r.name: r.deleted_rows for r in w.reports}
            report.foreign = w.foreign
            report.rows = {r.name: r.inserted_rows for r in w.reports}
            report.held_back = sum(r.held_back for r in w.reports)


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
