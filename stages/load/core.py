"""load_snapshot: verify, then in one transaction create/check, clear, insert, advance; then read back.

Order of work (any exception between BEGIN and COMMIT rolls everything back):

1. parse the DB URL; verify the snapshot (hashes, schemas) — nothing is
   opened for writing before this passes;
2. open the target; BEGIN;
3. create the app tables when none exist, or check the existing ones
   (missing / mismatched columns are one clear error);
4. lock the tables (PostgreSQL); find the snapshot's team slugs: an existing
   slug is an error, or with ``clear`` its rows are deleted child-first;
5. id offsets = the max id now in each table; insert every table in FK order
   through one DuckDB SELECT each (remapped ids, rebased dates);
6. indexes / foreign keys of tables created by this load; id sequences moved
   past the new ids; COMMIT;
7. read back counts and per-column aggregates for the loaded teams and
   compare them with the same aggregates over the snapshot.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.base.errors import UserError
from pipeline.base.manifest import verify_snapshot
from pipeline.base.schemas import APP_LOAD_ORDER, spec

from .backend import Backend, aggregate_kinds, duckdb_aggregate_expr
from .ddl import app_ddl, quote
from .plan import Rebase, describe_rebase, plan_rebase, select_sql
from .report import LoadReport, TableReport
from .schema_check import check_table
from .target import DUCKDB, POSTGRES, Target, parse_db_url, scrub

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
    schema: str | None = None,
    clear: bool = False,
    rebase_dates: bool = True,
    today: dt.date | None = None,
    include: tuple[str, ...] = APP_LOAD_ORDER,
    progress: Progress | None = None,
) -> LoadReport:
    """Load a verified snapshot into the database at ``db_url`` (None: data/app.duckdb)."""
    say = progress or (lambda _msg: None)
    target = parse_db_url(db_url, schema=schema)
    unknown = [t for t in include if t not in APP_LOAD_ORDER]
    if unknown:
        raise UserError(
            f"cannot load {', '.join(unknown)}: only the app tables are loaded ({', '.join(APP_LOAD_ORDER)})"
        )
    tables = [t for t in APP_LOAD_ORDER if t in include]
    snapshot_dir = Path(snapshot_dir)

    t0 = time.perf_counter()
    say(f"verifying {snapshot_dir}")
    manifest = verify_snapshot(snapshot_dir)
    verify_seconds = time.perf_counter() - t0
    files = {t: snapshot_dir / manifest.tables[t].file for t in tables}
    rebase = plan_rebase(manifest, snapshot_dir, enabled=rebase_dates, today=today)
    teams = pq.read_table(files["teams_team"], columns=["id", "slug"]) if "teams_team" in files else None
    slugs = [str(s) for s in teams.column("slug").to_pylist()] if teams is not None else []
    snapshot_team_ids = [int(i) for i in teams.column("id").to_pylist()] if teams is not None else []

    say(f"connecting to {target.display}")
    backend = open_backend(target)
    try:
        t1 = time.perf_counter()
        try:
            reports, created, cleared, offsets, nexts = _write(backend, tables, files, slugs, rebase, clear, say)
        except UserError as exc:
            raise UserError(f"{exc} (nothing was written)") from None
        except Exception as exc:
            raise UserError(
                f"load into {target.display} failed and was rolled back: {_one_line(exc, target)}"
            ) from None
        load_seconds = time.perf_counter() - t1
        new_team_ids = [i + offsets.get("teams_team", 0) for i in snapshot_team_ids]
        t2 = time.perf_counter()
        say("reading back")
        try:
            _read_back(backend, reports, files, offsets, rebase, new_team_ids)
        except Exception as exc:
            raise UserError(
                f"loaded and committed into {target.display}, but reading it back failed: {_one_line(exc, target)}"
            ) from None
        readback_seconds = time.perf_counter() - t2
    finally:
        backend.close()
    return LoadReport(
        target=target.display,
        snapshot=snapshot_dir,
        snapshot_id=manifest.snapshot_id,
        team_slugs=slugs,
        team_ids=new_team_ids,
        created_tables=created,
        cleared_team_ids=cleared,
        rebase=describe_rebase(rebase),
        rebase_weeks=rebase.weeks,
        tables=reports,
        next_ids=nexts,
        verify_seconds=verify_seconds,
        load_seconds=load_seconds,
        readback_seconds=readback_seconds,
    )


def _one_line(exc: BaseException, target: Target) -> str:
    text = scrub(str(exc), target).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " ".join(lines[:2]) if lines else type(exc).__name__


def _write(
    backend: Backend,
    tables: list[str],
    files: dict[str, Path],
    slugs: list[str],
    rebase: Rebase,
    clear: bool,
    say: Progress,
) -> tuple[list[TableReport], list[str], list[int], dict[str, int], dict[str, int]]:
    target = backend.target
    ddl = app_ddl()
    backend.begin()
    try:
        existing = backend.columns(tables)
        created = [t for t in tables if t not in existing]
        if existing and created:
            raise UserError(
                f"{target.display} (schema {target.schema_name}) has some app tables but not "
                f"{', '.join(created)}; load into an empty schema or one with all {len(tables)} app tables"
            )
        problems = [p for t in tables if t in existing for p in check_table(spec(t), existing[t])]
        if problems:
            more = f" (and {len(problems) - 8} more)" if len(problems) > 8 else ""
            raise UserError(
                f"the app schema in {target.display} does not fit the snapshot: {'; '.join(problems[:8])}{more}"
            )
        if created:
            say(f"creating {len(created)} app tables")
            backend.create_tables(created)
        backend.lock(tables)
        found = backend.teams_by_slug(slugs) if "teams_team" in tables else {}
        cleared: list[int] = []
        deleted: dict[str, int] = {}
        if found and not clear:
            raise UserError(
                f"team slug(s) {', '.join(sorted(found))} already exist in {target.display}; "
                "use --clear to replace them (their rows are deleted first)"
            )
        if found:
            cleared = sorted(found.values())
            say(f"clearing team(s) {', '.join(sorted(found))}")
            deleted = backend.clear_teams(cleared, tables)
        restore = backend.prepare_bulk([t for t in tables if t not in created])
        refs_tables = sorted({*tables, *(r for t in tables for r in ddl.references(t).values())})
        offsets = backend.max_ids(refs_tables) if not created else dict.fromkeys(refs_tables, 0)
        reports = []
        for t in tables:
            s = spec(t)
            sql = select_sql(
                s, files[t], offsets=offsets, refs=ddl.references(t), days=rebase.days, dialect=backend.dialect
            )
            rows = pq.ParquetFile(files[t]).metadata.num_rows
            say(f"inserting {t} ({rows:,} rows)")
            ts = time.perf_counter()
            n = backend.insert(t, s.column_names, sql)
            reports.append(
                TableReport(t, rows, n, offsets.get(t, 0), deleted.get(t, 0), seconds=time.perf_counter() - ts)
            )
        if created or restore:
            say("creating indexes and foreign keys")
            backend.create_post(created)
            backend.restore_bulk(restore)
        nexts = backend.advance_sequences(tables)
        say("committing")
        backend.commit()
    except BaseException:
        backend.rollback()
        raise
    return reports, created, cleared, offsets, nexts


def _read_back(
    backend: Backend,
    reports: list[TableReport],
    files: dict[str, Path],
    offsets: dict[str, int],
    rebase: Rebase,
    team_ids: Sequence[int],
) -> None:
    ddl = app_ddl()
    for report in reports:
        s = spec(report.name)
        kinds = aggregate_kinds(s)
        source = select_sql(
            s, files[report.name], offsets=offsets, refs=ddl.references(report.name), days=rebase.days, dialect="duckdb"
        )
        exprs = ", ".join(f"CAST({duckdb_aggregate_expr(k, quote(c))} AS VARCHAR)" for c, k in kinds)
        want = backend.duck.execute(f"SELECT {exprs} FROM ({source})").fetchone() or ()
        got = backend.aggregates(s, team_ids)
        report.readback_rows = int(got[0]) if got and got[0] is not None else 0
        report.mismatched = [c for (c, _k), a, b in zip(kinds, want, got) if not _same(a, b)]
        report.content_ok = not report.mismatched


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    try:
        x, y = Decimal(str(a)), Decimal(str(b))
    except InvalidOperation:
        return str(a) == str(b)
    return x == y or abs(x - y) <= Decimal("1e-6") * max(Decimal(1), abs(x))
