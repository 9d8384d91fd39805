"""load_snapshot: verify, then in one transaction create/check, clear, insert, advance, read back, commit.

Order of work (any exception between BEGIN and COMMIT rolls everything back):

1. check the request (the load instant within :data:`AS_OF_RANGE`, a
   non-empty URL); parse the DB URL; verify the snapshot (hashes, schemas) —
   nothing is opened for writing before this passes;
2. open the target; BEGIN;
3. create the app tables when none exist, or check the existing ones
   (missing / mismatched columns are one clear error);
4. lock the tables (PostgreSQL); find the snapshot's team slugs: an existing
   slug is an error, or with ``clear`` its rows are deleted child-first, the
   team row kept (and rewritten in step 5), rows of other tables that point
   at deleted rows deleted or set NULL (:meth:`Backend.clear_teams`);
5. id offsets = the max id now in each table; insert every table in FK order
   through one DuckDB SELECT each (remapped ids, rebased dates); a load
   whose instant holds back every row but the teams and members stops here
   unless ``allow_empty``;
6. indexes / foreign keys of tables created by this load; id sequences moved
   past the new ids;
7. read back counts and per-column aggregates for the loaded teams, inside
   the transaction, and compare them with the same aggregates over the
   snapshot. The snapshot's side is computed by a second DuckDB connection
   in a thread as soon as the rows are in, while PostgreSQL builds the
   indexes. Any difference rolls back (:class:`ReadBackMismatch`, exit 1):
   the tool never commits rows it reports as wrong;
8. COMMIT; or, for ``demoseed check`` (``commit=False``, :func:`write_target`),
   ROLLBACK: the same steps as a trial that leaves the database as it was.

A row the target refuses for a constraint is one line naming it with a value
from the snapshot (:mod:`stages.load.violations`); a full disk is
:class:`DiskFull` (exit 1). When the load created the database file (DuckDB,
SQLite) and fails, the file and its journal are removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.base.errors import DiskFull, UserError
from pipeline.base.manifest import Manifest, checked_files, verify_snapshot
from pipeline.base.schemas import APP_LOAD_ORDER, WEEKLY, spec
from pipeline.base.tuning import release_memory

from .asof import RECOMPUTED, AsOf, CutPlan, WeekRecompute, plan_cut
from .backend import (
    Backend,
    Cleared,
    ConstraintViolation,
    aggregate_kinds,
    disk_full,
    disk_full_error,
    duckdb_aggregate_expr,
)
from .ddl import app_ddl, quote
from .drift import ROW_ID, AppModels, LoadPlan, TablePlan, plan_tables, schema_changes, versions_note
from .extensions import connect
from .plan import Rebase, describe_rebase, plan_rebase, select_sql
from .report import LoadReport, ReadBackMismatch, TableReport
from .target import DUCKDB, POSTGRES, Target, check_identifier, parse_db_url, scrub
from .violations import explain_violation

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def open_backend(target: Target) -> Backend:
    if target.kind == POSTGRES:
        from .postgres import PostgresBackend

        return PostgresBackend(target)
    from .embedded import DuckDBBackend, SQLiteBackend

    return DuckDBBackend(target) if target.kind == DUCKDB else SQLiteBackend(target)


def load_snapshot(
    snapshot_dir: Path,
    db_url: str | None,
    *,
    as_of: dt.datetime,
    recompute_week: WeekRecompute | None = None,
    recompute_columns: Mapping[str, Sequence[str]] | None = None,
    schema: str | None = None,
    clear: bool = False,
    rebase_dates: bool = True,
    default_db: Path | None = None,
    include: tuple[str, ...] = APP_LOAD_ORDER,
    progress: Progress | None = None,
    drift: Drift | None = None,
    allow_empty: bool = False,
) -> LoadReport:
    """Load a verified snapshot, as the team stood at ``as_of``, into ``db_url`` (None: the DuckDB file ``default_db``).

    ``as_of`` (the load instant, UTC) is an input: the stage never reads the
    clock. Dates move by whole weeks so the snapshot's last week is the
    instant's week (unless ``rebase_dates`` is off), then the rows are cut at
    the instant (:mod:`stages.load.asof`); the instant's week of weekly
    metrics is recomputed by ``recompute_week`` (the caller's aggregate stage,
    see :mod:`pipeline.runners.load`), which reads ``recompute_columns`` of
    each table (None: all columns). ``drift``: how to meet an app schema that
    moved on (--fill, --app, --ignore-missing-columns; see :mod:`.drift`).
    A load that would write nothing but the team rows is refused unless
    ``allow_empty``.
    """
    p = _prepare(
        snapshot_dir,
        db_url,
        as_of,
        recompute_week,
        recompute_columns,
        schema,
        rebase_dates,
        default_db,
        include,
        progress,
    )
    return _load(p, clear, drift or Drift(), allow_empty)


@dataclass
class Drift:
    """The user's answers to schema drift: --fill values, the app's models (--app), --ignore-missing-columns."""

    fills: Mapping[tuple[str, str], str] = field(default_factory=dict)
    app: AppModels | None = None
    ignore_missing: bool = False
    app_managed: bool = False  # --app given: tables demoseed would create are refused (the app's migrate makes them)


@dataclass
class Prepared:
    """A verified snapshot cut at the load instant, and where it goes: everything a load or a check needs first."""

    target: Target
    snapshot_dir: Path
    manifest: Manifest
    tables: list[str]
    files: dict[str, tuple[Path, ...]]
    rebase: Rebase
    cut: CutPlan
    slugs: list[str]
    snapshot_team_ids: list[int]
    as_of: dt.datetime
    verify_seconds: float
    say: Progress

    @property
    def snapshot_teams(self) -> dict[str, int]:
        return dict(zip(self.slugs, self.snapshot_team_ids, strict=True))


def _prepare(
    snapshot_dir: Path,
    db_url: str | None,
    as_of: dt.datetime,
    recompute_week: WeekRecompute | None,
    recompute_columns: Mapping[str, Sequence[str]] | None,
    schema: str | None,
    rebase_dates: bool,
    default_db: Path | None,
    include: tuple[str, ...],
    progress: Progress | None,
) -> Prepared:
    say = progress or (lambda _msg: None)
    tables = _check_request(as_of, db_url, default_db, include)
    target = parse_db_url(db_url, schema=schema, default_db=default_db)
    snapshot_dir = Path(snapshot_dir)

    t0 = time.perf_counter()
    say(f"verifying {snapshot_dir}")
    manifest = verify_snapshot(snapshot_dir)
    verify_seconds = time.perf_counter() - t0
    # the file names verify_snapshot checked (<table>.parquet or its parts), never a name taken from the manifest's text
    every = {
        check_identifier(t, "table name"): checked_files(snapshot_dir, t, manifest.tables[t])
        for t in APP_LOAD_ORDER
        if t in manifest.tables
    }
    files = {t: every[t] for t in tables}
    rebase = plan_rebase(manifest, snapshot_dir, enabled=rebase_dates, today=as_of.astimezone(dt.UTC).date())
    say("cutting the snapshot at the load instant")
    cut = plan_cut(
        every, AsOf(as_of.astimezone(dt.UTC) - dt.timedelta(days=rebase.days)), recompute_week, recompute_columns
    )
    release_memory()
    teams = (
        pa.concat_tables([pq.read_table(f, columns=["id", "slug"]) for f in files["teams_team"]])
        if "teams_team" in files
        else None
    )
    slugs = [str(s) for s in teams.column("slug").to_pylist()] if teams is not None else []
    snapshot_team_ids = [int(i) for i in teams.column("id").to_pylist()] if teams is not None else []
    _check_slugs(slugs, snapshot_dir)
    return Prepared(
        target, snapshot_dir, manifest, tables, files, rebase, cut, slugs, snapshot_team_ids, as_of, verify_seconds, say
    )


def write_target(
    p: Prepared, clear: bool, drift: Drift, allow_empty: bool, *, commit: bool = True, ids: _Ids | None = None
) -> Written:
    """Open the target and write (:func:`_write_refusing`); a database file this created goes if it fails.

    ``commit=False`` is ``demoseed check``'s trial: every step of the load,
    then ROLLBACK instead of COMMIT (and a database file it created goes too).
    ``ids`` records what the load decided as it went (the plan, the ids), for
    a caller that reports a failure.
    """
    target, cut, say = p.target, p.cut, p.say
    say(f"connecting to {target.display}")
    made = _new_files(target)
    try:
        backend = open_backend(target)
        try:
            backend.duck.register(RECOMPUTED, cut.recomputed)
            t1 = time.perf_counter()
            w = _write_refusing(
                backend, p, clear, drift, allow_empty, ids or _Ids(), new_file=bool(made), commit=commit
            )
            w.load_seconds = time.perf_counter() - t1 - w.readback_seconds
        finally:
            backend.close()
    except BaseException:
        for path in made:  # the database file this load created (and its journal): nothing of it is kept
            path.unlink(missing_ok=True)
        raise
    if not commit:
        for path in made:
            path.unlink(missing_ok=True)
    return w


def _load(p: Prepared, clear: bool, drift: Drift, allow_empty: bool) -> LoadReport:
    """Write (:func:`write_target`, committed) and report."""
    rebase, cut = p.rebase, p.cut
    w = write_target(p, clear, drift, allow_empty)
    return LoadReport(
        target=p.target.display,
        snapshot=p.snapshot_dir,
        snapshot_id=p.manifest.snapshot_id,
        team_slugs=p.slugs,
        team_ids=w.team_ids,
        created_tables=w.created,
        cleared_team_ids=w.cleared,
        foreign=w.foreign,
        rebase=describe_rebase(rebase),
        rebase_weeks=rebase.weeks,
        tables=w.reports,
        next_ids=w.nexts,
        as_of=p.as_of.astimezone(dt.UTC),
        reopened_prs=cut.reopened,
        recomputed_week=(
            cut.recomputed_week + dt.timedelta(days=rebase.days) if cut.recomputed_week is not None else None
        ),
        recomputed_rows=cut.recomputed.num_rows,
        verify_seconds=p.verify_seconds,
        load_seconds=w.load_seconds,
        readback_seconds=w.readback_seconds,
        drift=w.plan.summary_lines(),
        notes=w.notes,
    )


def _check_request(
    as_of: dt.datetime, db_url: str | None, default_db: Path | None, include: tuple[str, ...]
) -> list[str]:
    """The request's own bounds, before any file is read: the instant, the URL, the tables. Return the tables."""
    check_as_of(as_of)
    if db_url is not None and not db_url.strip():
        where = f" ({default_db})" if default_db is not None else ""
        raise UserError(
            "the database URL is empty (--db-url '' or DEMOSEED_DB_URL=''); give a URL, or leave both out "
            f"for the embedded default{where}"
        )
    unknown = [t for t in include if t not in APP_LOAD_ORDER]
    if unknown:
        raise UserError(
            f"cannot load {', '.join(unknown)}: only the app tables are loaded ({', '.join(APP_LOAD_ORDER)})"
        )
    return [t for t in APP_LOAD_ORDER if t in include]


# The load instant's bounds: the weeks --anchor allows (GenerateConfig.ANCHOR, Mondays 1980-01-07 to 2199-12-30),
# to the end of the last one. Rebased dates stay dates every target stores, and reads back, as they were written.
AS_OF_RANGE = (
    dt.datetime(1980, 1, 7, tzinfo=dt.UTC),
    dt.datetime(2200, 1, 5, 23, 59, 59, 999_999, tzinfo=dt.UTC),
)


def check_as_of(as_of: dt.datetime) -> None:
    """Refuse a load instant outside :data:`AS_OF_RANGE` (before anything is read or opened)."""
    if as_of.tzinfo is None:
        raise ValueError("load_snapshot: as_of must be timezone-aware (UTC)")
    low, high = AS_OF_RANGE
    if not low <= as_of <= high:
        raise UserError(
            f"--as-of {as_of.date().isoformat()}: use a date from {low.date().isoformat()} to "
            f"{high.date().isoformat()} (the weeks --anchor allows)"
        )


def _new_files(target: Target) -> list[Path]:
    """The database file of a file target that does not exist yet, with the journal files it may get."""
    if target.path is None or target.path.exists():
        return []
    side = (".wal",) if target.kind == DUCKDB else ("-journal", "-wal", "-shm")
    return [target.path, *(p for p in (Path(f"{target.path}{s}") for s in side) if not p.exists())]


_PG_CAUSE = re.compile(r"\b(?:ERROR|FATAL|PANIC):\s+(.*)", re.S)
_MAX_CAUSE = 500


def _one_line(exc: BaseException, target: Target) -> str:
    """The cause of a failure on one line: PostgreSQL's own ``ERROR: ...`` (+ DETAIL/HINT) when present.

    DuckDB's postgres extension reports ``Failed to execute query "<the whole
    statement>": ERROR: <cause>``; the statement can be kilobytes of DDL, so
    the cause is picked out rather than the text cut after its first lines.
    """
    text = scrub(str(exc), target).strip()
    if m := _PG_CAUSE.search(text):
        lines = [ln.strip() for ln in m.group(1).splitlines() if ln.strip()]
        keep = lines[:1] + [ln for ln in lines[1:] if ln.startswith(("DETAIL:", "HINT:"))]
        return _cut(" ".join(" ".join(keep).split()))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return _cut(" ".join(lines[:2])) if lines else type(exc).__name__


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_CAUSE else text[: _MAX_CAUSE - 3] + "..."


class Refused(UserError):
    """The plan refuses the load (one line); the plan itself rides along for ``check``."""

    def __init__(self, message: str, plan: LoadPlan, created: list[str], notes: list[str]) -> None:
        super().__init__(message)
        self.plan, self.created, self.notes = plan, created, notes


@dataclass
class Decided:
    """What a load will do, decided inside its transaction before it writes: the load and check share it."""

    created: list[str]  # app tables the load creates (none existed)
    found: dict[str, int]  # snapshot team slug -> id of the existing team row (--clear replaces its rows)
    team_map: dict[int, int]
    plan: LoadPlan
    notes: list[str]


def _decide(backend: Backend, p: Prepared, clear: bool, drift: Drift, *, dry: bool = False) -> Decided:
    """BEGIN, compare the target with the snapshot, and refuse (UserError) before anything is written.

    Creates the tables when none exist (not when ``dry``: check writes nothing).
    """
    target, tables = backend.target, p.tables
    backend.begin()
    existing = backend.columns(tables)
    created = [t for t in tables if t not in existing]
    if existing and created:
        raise UserError(
            f"{target.display} (schema {target.schema_name}) has some app tables but not "
            f"{', '.join(created)}; load into an empty schema or one with all {len(tables)} app tables"
            + ("; run the app's manage.py migrate first (or --migrate)" if drift.app_managed else "")
        )
    notes: list[str] = []
    if created and drift.app_managed:
        raise UserError(
            f"{target.display} has none of the app tables: the app has not migrated it; "
            "run the app's manage.py migrate first (or add --migrate to run it)"
        )
    if created and backend.dialect == "postgres":
        notes.append(
            f"created {len(created)} app table(s) outside the app's migrations: the app's own migrate would fail "
            "on them; for a database the app owns, run the app's manage.py migrate first "
            "(or load with --app DIR --migrate)"
        )
    if created and not dry:
        p.say(f"creating {len(created)} app tables")
        backend.create_tables(created)
    if not dry or not created:
        backend.lock([t for t in tables if t in existing or not dry])
    found = backend.teams_by_slug(list(p.snapshot_teams)) if "teams_team" in tables and not created else {}
    team_map = {p.snapshot_teams[slug]: i for slug, i in found.items()}
    plan = _plan(backend, p, existing, team_map, drift)
    if existing:
        changes = schema_changes(plan, {t: spec(t) for t in tables})
        notes.append(versions_note(p.manifest.app_migrations, _applied_migrations(backend), changes))
    if plan.refused:
        raise Refused(plan.refusal(), plan, created, notes)
    if found and not clear:
        raise Refused(
            f"team slug(s) {_few(sorted(found))} already exist in {target.display}; "
            "use --clear to replace their rows (the team rows and what the app attached to them stay)",
            plan,
            created,
            notes,
        )
    backend.specs = {t: tp.target for t, tp in plan.tables.items()}
    return Decided(created, found, team_map, plan, notes)


def _applied_migrations(backend: Backend) -> dict[str, list[str]] | None:
    """The migrations the target's ``django_migrations`` holds, per app label, in the order they were applied
    (None: no such table)."""
    table = "django_migrations"
    if not backend.columns([table]):
        return None
    out: dict[str, list[str]] = {}
    # in the order they were applied (id), which the migration graph dictates: names need not sort so
    for app, name in backend.query(f"SELECT app, name FROM {backend.qname(table)} ORDER BY id"):
        out.setdefault(str(app), []).append(str(name))
    return out


def _plan(
    backend: Backend, p: Prepared, existing: Mapping[str, list[Any]], team_map: dict[int, int], drift: Drift
) -> LoadPlan:
    """The column-by-column plan (:mod:`.drift`); the data checks run over the rows as the load would write them."""
    ddl = app_ddl()
    offsets: dict[str, int] = {}
    if existing:
        offsets = backend.max_ids(_with_referenced(p.tables))

    def stats(table: str, exprs: Mapping[str, str]) -> dict[str, Any]:
        sql = select_sql(
            spec(table),
            p.cut.sources[table],
            offsets=offsets,
            refs=ddl.references(table),
            days=p.rebase.days,
            dialect="duckdb",
            team_map=team_map,
        )
        names = list(exprs)
        cols = ", ".join(f"{e} AS {quote(n)}" for n, e in exprs.items())
        row = backend.duck.execute(f"SELECT {cols} FROM ({sql})").fetchone() or ()
        return dict(zip(names, row))

    return plan_tables(
        {t: spec(t) for t in p.tables},
        {t: cols for t, cols in existing.items() if t in p.tables},
        stats,
        fills=drift.fills,
        app=drift.app,
        ignore_missing=drift.ignore_missing,
        native_json=backend.dialect != "sqlite",
    )


def _with_referenced(tables: Sequence[str]) -> list[str]:
    """``tables`` and the tables their foreign keys point at, sorted: the tables whose id offsets a load needs."""
    ddl = app_ddl()
    return sorted({*tables, *(r for t in tables for r in ddl.references(t).values())})


def _table_select(plan: LoadPlan, t: str, p: Prepared, **kw: Any) -> str:
    """The DuckDB SELECT of one table's rows as written: remapped, rebased, renamed and filled."""
    tp: TablePlan = plan.tables[t]
    row_id = ROW_ID if tp.needs_row_id else None
    base = select_sql(tp.source, p.cut.sources[t], days=p.rebase.days, row_id=row_id, **kw)
    return tp.select(base, as_of=p.as_of, dialect=kw["dialect"], salt=p.manifest.snapshot_id)


@dataclass
class _Ids:
    """The ids a load chose as it went, for a refusal to map a row back to the snapshot."""

    offsets: dict[str, int] = field(default_factory=dict)  # per table, added to the snapshot's ids
    team_map: dict[int, int] = field(default_factory=dict)  # snapshot team id -> kept team row id
    decided: Decided | None = None  # the plan, once made (check reports it with a later refusal)


def _write_refusing(
    backend: Backend,
    p: Prepared,
    clear: bool,
    drift: Drift,
    allow_empty: bool,
    ids: _Ids,
    *,
    new_file: bool,
    commit: bool,
) -> Written:
    """:func:`_write`, its failures as one line each (the transaction is rolled back by then)."""
    target = backend.target
    try:
        return _write(backend, p, clear, drift, allow_empty, ids, commit)
    except (ReadBackMismatch, DiskFull):  # already one line, exit 1
        raise
    except Refused as exc:
        raise Refused(f"{exc} (nothing was written)", exc.plan, exc.created, exc.notes) from None
    except UserError as exc:
        raise UserError(f"{exc} (nothing was written)") from None
    except ConstraintViolation as exc:
        log.info("PostgreSQL refused the load: %s", " ".join(str(exc).split()))
        raise UserError(explain_violation(exc, backend, p.cut.sources, ids.offsets, ids.team_map)) from None
    except Exception as exc:
        if disk_full(exc):
            removed = " and the database file it created removed" if new_file else ""
            raise disk_full_error(target, f"the load was rolled back{removed}") from None
        raise UserError(f"load into {target.display} failed and was rolled back: {_one_line(exc, target)}") from None


def _write(
    backend: Backend, p: Prepared, clear: bool, drift: Drift, allow_empty: bool, ids: _Ids, commit: bool
) -> Written:
    """In one transaction: schema, clear, rows, keys, sequences, the read-back; COMMIT only when it all agrees
    (and ``commit``: otherwise ROLLBACK, the trial of ``demoseed check``)."""
    tables, say = p.tables, p.say
    expected: Expected | None = None
    try:
        d = ids.decided = _decide(backend, p, clear, drift)
        created, found, team_map, plan = d.created, d.found, d.team_map, d.plan
        ids.team_map = team_map
        swept = Cleared()
        if found:
            say(f"clearing {len(found):,} team(s)")
            swept = backend.clear_teams(sorted(found.values()), tables)
        restore = backend.prepare_bulk([t for t in tables if t not in created])
        keys = backend.drop_keys()  # after prepare_bulk: the foreign keys that pointed at them are gone
        refs_tables = _with_referenced(tables)
        offsets = ids.offsets = backend.max_ids(refs_tables) if not created else dict.fromkeys(refs_tables, 0)
        reports = [_insert_table(backend, p, t, plan, offsets, team_map, swept) for t in tables]
        _refuse_empty(reports, p, allow_empty)
        expected = _expect(backend, reports, p, plan, offsets, team_map)
        if created or restore or keys:
            say("creating keys, indexes and foreign keys")
            backend.restore_bulk(keys)  # first: the foreign keys need the keys they point at
            backend.create_post(created)
            backend.restore_bulk(restore)
        # a trial moves no sequence: DuckDB's nextval is not undone by ROLLBACK
        nexts = backend.advance_sequences(tables) if commit else {}
        w = Written(reports, created, sorted(found.values()), nexts, swept.foreign, plan, d.notes)
        w.cleared_slugs = sorted(found)
        w.team_ids = [team_map.get(i, i + offsets.get("teams_team", 0)) for i in p.snapshot_team_ids]
        _read_back_all(backend, w, expected, say)
        _finish(backend, commit, say)
    except BaseException:
        if expected is not None:
            expected.cancel()
        backend.rollback()
        raise
    return w


def _insert_table(
    backend: Backend,
    p: Prepared,
    t: str,
    plan: LoadPlan,
    offsets: dict[str, int],
    team_map: dict[int, int],
    swept: Cleared,
) -> TableReport:
    """Insert table ``t``'s rows (cut, remapped, rebased, planned); its report."""
    sql = _table_select(
        plan, t, p, offsets=offsets, refs=app_ddl().references(t), dialect=backend.dialect, team_map=team_map
    )
    in_file = sum(pq.ParquetFile(f).metadata.num_rows for f in p.files[t])
    p.say(f"inserting {t} ({in_file:,} rows in the snapshot)")
    ts = time.perf_counter()
    cols = plan.tables[t].columns
    n = _insert(backend, t, cols, sql, set(team_map.values()) if t == "teams_team" else set())
    release_memory()
    # expected_rows is counted independently from the snapshot by the read-back (_read_back)
    held = p.cut.weekly_held_back if t == WEEKLY else in_file - n
    return TableReport(
        t,
        n,
        n,
        offsets.get(t, 0),
        swept.deleted.get(t, 0),
        held_back=held,
        seconds=time.perf_counter() - ts,
        ids_kept=len(team_map) if t == "teams_team" else 0,
    )


def _read_back_all(backend: Backend, w: Written, expected: Expected, say: Progress) -> None:
    """Read every written table back and refuse (ReadBackMismatch) when it differs from the snapshot."""
    say("reading back")
    t0 = time.perf_counter()
    _read_back(backend, w.reports, expected, w.team_ids)
    w.readback_seconds = time.perf_counter() - t0
    problems = LoadReport.problems_of(w.reports)
    if problems:
        raise ReadBackMismatch(
            f"read-back from {backend.target.display} differs from the snapshot ({'; '.join(problems)}): "
            "rolled back, nothing written; a trigger, rule or column default in the database changes "
            "the rows as they go in (drop or disable it for the load)"
        )


def _finish(backend: Backend, commit: bool, say: Progress) -> None:
    """COMMIT the load, or ROLLBACK the trial of ``demoseed check``."""
    if commit:
        say("committing")
        backend.commit()
    else:
        say("rolling back (a trial: nothing is kept)")
        backend.rollback()


_TEAM_TABLES = ("teams_team", "metrics_teammember")  # who the team is: no event, nothing to show on its own


def _refuse_empty(reports: list[TableReport], p: Prepared, allow_empty: bool) -> None:
    """Refuse a load that writes no row but the team and its members while the snapshot has others (unless asked)."""
    if allow_empty:
        return
    rows = [r for r in reports if r.name not in _TEAM_TABLES]
    held = sum(r.held_back for r in rows)
    if rows and held and not any(r.inserted_rows for r in rows):
        asof = p.cut.asof
        at = f" ({asof.instant + dt.timedelta(days=p.rebase.days):%Y-%m-%d %H:%M} UTC)" if asof else ""
        raise UserError(
            f"the load instant{at} holds back every row but the teams and their members ({held:,} rows dated "
            "after it); load with a later --as-of, or without --no-rebase-dates, or pass --allow-empty to load "
            "them alone"
        )


@dataclass
class Written:
    reports: list[TableReport]
    created: list[str]
    cleared: list[int]  # ids of the team rows --clear kept (their other rows replaced)
    nexts: dict[str, int]
    foreign: dict[str, tuple[str, int]]
    plan: LoadPlan
    notes: list[str]
    team_ids: list[int] = field(default_factory=list)  # the snapshot's teams' ids in the target
    cleared_slugs: list[str] = field(default_factory=list)  # the teams --clear replaces
    readback_seconds: float = 0.0
    load_seconds: float = 0.0


def _insert(backend: Backend, table: str, columns: Sequence[str], sql: str, kept: set[int]) -> int:
    """Insert the rows of ``sql``; rows whose id is in ``kept`` already exist and are rewritten instead."""
    if not kept:
        return backend.insert(table, columns, sql)
    ids = ", ".join(str(i) for i in sorted(kept))
    rows = backend.duck.execute(f"SELECT * FROM ({sql}) WHERE id IN ({ids})").to_arrow_table().to_pylist()
    updated = backend.update_rows(table, columns, rows)
    inserted = backend.insert(table, columns, f"SELECT * FROM ({sql}) WHERE id NOT IN ({ids})")
    backend.streamed.pop(table, None)  # it streamed only the inserted rows: the read-back reads the snapshot
    return updated + inserted


_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")  # Django's SlugField in the app's varchar(50)


def _check_slugs(slugs: list[str], snapshot_dir: Path) -> None:
    """A verified snapshot is intact, not safe: its team slugs go into SQL text, so they must be slugs."""
    bad = [s for s in slugs if not _SLUG.match(s)]
    if bad:
        raise UserError(
            f"snapshot {snapshot_dir} has team slug {bad[0]!r}, which is not a slug (letters, digits, '-', '_', "
            "at most 50); refusing to load it"
        )
    dupes = sorted(s for s, n in Counter(slugs).items() if n > 1)
    if dupes:
        raise UserError(f"snapshot {snapshot_dir} names team slug {dupes[0]!r} more than once; refusing to load it")


def _few(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 6 else f"{', '.join(names[:3])}, ... ({len(names):,} in all)"


def _expect(
    backend: Backend,
    reports: list[TableReport],
    p: Prepared,
    plan: LoadPlan,
    offsets: dict[str, int],
    team_map: dict[int, int],
) -> Expected:
    """Start the snapshot side of the read-back: the same aggregates over the rows as they were inserted.

    It runs in a thread (DuckDB releases the GIL) on a DuckDB database of its
    own, never the one the target is attached to (whose connection to the
    target must see one statement at a time), reading only the Parquet files
    and the recomputed week, while the target builds its keys and indexes;
    :func:`_read_back` waits for it. A table whose rows the target streamed
    through Python (PostgreSQL's COPY) already has them
    (:attr:`Backend.streamed`, added up batch by batch as they were sent), and
    is not read again.
    """
    streamed = {r.name: backend.streamed[r.name].result() for r in reports if r.name in backend.streamed}
    ddl = app_ddl()
    queries = {}
    for report in reports:
        if report.name in streamed:
            continue
        s = backend.spec(report.name)
        source = _table_select(
            plan, report.name, p, offsets=offsets, refs=ddl.references(report.name), dialect="duckdb", team_map=team_map
        )
        exprs = ", ".join(f"CAST({duckdb_aggregate_expr(k, quote(c))} AS VARCHAR)" for c, k in aggregate_kinds(s))
        queries[report.name] = f"SELECT {exprs} FROM ({source})"
    if not queries:  # every table streamed (PostgreSQL): nothing to read again, no connection or thread
        done: Future[dict[str, tuple[object, ...]]] = Future()
        done.set_result(streamed)
        return Expected(done, None)
    duck = connect(bounded=True)
    duck.register(RECOMPUTED, p.cut.recomputed)

    def run() -> dict[str, tuple[object, ...]]:
        try:
            read = {name: tuple(duck.execute(sql).fetchone() or ()) for name, sql in queries.items()}
            return {**streamed, **read}
        finally:
            duck.close()

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demoseed-readback")
    try:
        return Expected(pool.submit(run), duck)
    finally:
        pool.shutdown(wait=False)


@dataclass(frozen=True)
class Expected:
    """The snapshot side of the read-back, running: per table, its aggregates as text."""

    future: Future[dict[str, tuple[object, ...]]]
    duck: duckdb.DuckDBPyConnection | None  # None when nothing is read (every table streamed)

    def result(self) -> dict[str, tuple[object, ...]]:
        return self.future.result()

    def cancel(self) -> None:
        """Stop it (the load failed): a process that is ending does not wait for it."""
        if self.duck is not None and not self.future.done():
            with contextlib.suppress(duckdb.Error):  # it may finish (and close) meanwhile
                self.duck.interrupt()


def _read_back(backend: Backend, reports: list[TableReport], expected: Expected, team_ids: Sequence[int]) -> None:
    want = expected.result()
    for report in reports:
        s = backend.spec(report.name)
        kinds = aggregate_kinds(s)
        got = backend.aggregates(s, team_ids)
        rows = int(str(want[report.name][0]))  # count(*) of the cut snapshot rows
        if report.name != WEEKLY:
            report.held_back += report.expected_rows - rows
        report.expected_rows = rows
        report.readback_rows = int(got[0]) if got and got[0] is not None else 0
        report.mismatched = [c for (c, _k), a, b in zip(kinds, want[report.name], got) if not _same(a, b)]
        report.content_ok = not report.mismatched


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    try:
        x, y = Decimal(str(a)), Decimal(str(b))
    except InvalidOperation:
        return str(a) == str(b)
    return x == y or abs(x - y) <= Decimal("1e-6") * max(Decimal(1), abs(x))
