"""What every load target can do, and the SQL they share.

A :class:`Backend` runs native SQL in the target inside the load's single
transaction (``query``/``execute``), creates and checks the app tables,
bulk-inserts a DuckDB SELECT, and advances id sequences. The generic parts
(team lookup and clear, max ids, read-back aggregates) are plain SQL that
PostgreSQL, DuckDB and SQLite all accept.
"""

from __future__ import annotations

import abc
import datetime as dt
import errno
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from pipeline.base.errors import DiskFull, UserError
from pipeline.base.schemas import APP_LOAD_ORDER, TableSpec, spec

from .ddl import quote
from .plan import sql_literal
from .schema_check import Column
from .target import Target


class Backend(abc.ABC):
    """One open target database plus the DuckDB connection that reads the snapshot."""

    dialect: str  # "postgres" | "duckdb" | "sqlite": how select_sql shapes values for it

    def __init__(self, target: Target, duck: duckdb.DuckDBPyConnection) -> None:
        self.target = target
        self.duck = duck
        # per table, the read-back aggregates of the rows insert() sent (targets that stream them)
        self.streamed: dict[str, StreamAggregates] = {}
        # per table, the columns written under their target names (the load plan's; default: the snapshot's)
        self.specs: dict[str, TableSpec] = {}

    def spec(self, table: str) -> TableSpec:
        """The written columns of ``table`` (what the read-back compares)."""
        return self.specs.get(table) or spec(table)

    # -- native SQL ----------------------------------------------------------------
    @abc.abstractmethod
    def qname(self, table: str) -> str:
        """The table's name in the target's own SQL."""

    @abc.abstractmethod
    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run a SELECT in the target (inside the current transaction, if any)."""

    @abc.abstractmethod
    def execute(self, sql: str) -> None:
        """Run a statement in the target (inside the current transaction, if any)."""

    # -- transaction -----------------------------------------------------------------
    @abc.abstractmethod
    def begin(self) -> None: ...

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    # -- schema ----------------------------------------------------------------------
    @abc.abstractmethod
    def columns(self, tables: Sequence[str]) -> dict[str, list[Column]]:
        """Existing app tables among ``tables`` and their columns."""

    @abc.abstractmethod
    def create_tables(self, tables: Sequence[str]) -> None:
        """Create missing app tables (and what the rows need: schema, sequences, constraints)."""

    @abc.abstractmethod
    def create_post(self, tables: Sequence[str]) -> None:
        """Indexes (and foreign keys where separate) for tables created in this load, after their rows."""

    def lock(self, tables: Sequence[str]) -> None:  # noqa: B027 - optional hook
        """Keep concurrent writers out of ``tables`` until commit (where the target has table locks)."""

    def prepare_bulk(self, tables: Sequence[str]) -> list[str]:
        """Drop what slows a bulk insert into ``tables`` (where allowed); return statements that restore it."""
        return []

    def drop_keys(self) -> list[str]:
        """Drop the keys of tables whose rows all come from this load (where it pays); return what adds them back."""
        return []

    def restore_bulk(self, statements: Sequence[str]) -> None:  # noqa: B027 - optional hook
        """Run the statements :meth:`prepare_bulk` returned, after the rows are in."""

    def check_constraint(self, table: str, name: str) -> CheckConstraint | None:
        """A CHECK constraint of ``table`` as the catalog holds it now (after a rollback); None: unknown."""
        return None

    def id_position(self, table: str) -> int | None:
        """Where ``id`` sits among the table's columns (0-based) as a refused row lists them; None: unknown."""
        return None

    # -- data ------------------------------------------------------------------------
    @abc.abstractmethod
    def insert(self, table: str, columns: Sequence[str], select: str) -> int:
        """Bulk-insert the rows of a DuckDB SELECT; return the row count."""

    @abc.abstractmethod
    def advance_sequences(self, tables: Sequence[str]) -> dict[str, int]:
        """Move each table's id generator past its max id; return table -> next id it will hand out."""

    @abc.abstractmethod
    def aggregate_expr(self, kind: str, col: str) -> str:
        """The read-back aggregate of one column in the target's SQL (see :func:`aggregate_kinds`)."""

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS TEXT)"

    # -- shared SQL ------------------------------------------------------------------
    def teams_by_slug(self, slugs: Sequence[str]) -> dict[str, int]:
        if not slugs:
            return {}
        values = ", ".join(sql_literal(s) for s in slugs)
        rows = self.query(f"SELECT slug, id FROM {self.qname('teams_team')} WHERE slug IN ({values})")
        return {str(slug): int(i) for slug, i in rows}

    def foreign_keys(self) -> list[ForeignKeyRef]:
        """Every single-column foreign key in the database, from its catalog (none: the target has none)."""
        return []

    def clear_teams(self, team_ids: Sequence[int], tables: Sequence[str], *, dry: bool = False) -> Cleared:
        """Delete the teams' rows of every app table but the team rows themselves, and what depends on them.

        The team rows stay (:meth:`update_rows` rewrites them), so whatever
        references only the team (memberships, integrations, ...) stays too.
        Rows of other tables that reference a deleted row are deleted when
        their foreign key column is NOT NULL and set to NULL when it is
        nullable (Django's CASCADE / SET_NULL), found from the catalog:
        deletions first (recursively), then the NULLs. ``dry``: count only
        (``demoseed check``), nothing deleted or changed.
        """
        ids = ", ".join(str(int(i)) for i in team_ids)
        ours = {self.key(t): t for t in tables}
        refs = [fk for fk in self.foreign_keys() if fk.child not in ours]
        roots = [(self.key(t), f"{quote('team_id')} IN ({ids})") for t in tables if t != "teams_team"]
        foreign: dict[str, tuple[str, int]] = {}
        doomed: dict[tuple[str, str], list[str]] = {}  # per table, the rows deleted so far (a row counts once)
        for parent, pred in roots:
            self._cascade(parent, pred, refs, foreign, doomed, nullify=False, depth=0, dry=dry)
        for parent, pred in roots:
            self._cascade(parent, pred, refs, foreign, doomed, nullify=True, depth=0, dry=dry)
        deleted: dict[str, int] = {}
        for t in reversed(APP_LOAD_ORDER):
            if t not in tables or t == "teams_team":
                continue
            where = f"WHERE {quote('team_id')} IN ({ids})"
            (n,) = self.query(f"SELECT count(*) FROM {self.qname(t)} {where}")[0]
            if n and not dry:
                self.execute(f"DELETE FROM {self.qname(t)} {where}")
            deleted[t] = int(n)
        return Cleared(deleted, foreign)

    def _cascade(
        self,
        parent: tuple[str, str],
        pred: str,
        refs: list[ForeignKeyRef],
        out: dict[str, tuple[str, int]],
        doomed: dict[tuple[str, str], list[str]],
        *,
        nullify: bool,
        depth: int,
        dry: bool = False,
    ) -> None:
        if depth > 16:
            raise UserError(f"--clear: foreign keys nest deeper than 16 tables below {parent[1]}; clear them first")
        parent_sql = self.sql_name(parent)
        for fk in refs:
            if fk.parent != parent:
                continue
            child = self.sql_name(fk.child)
            where = f"{quote(fk.column)} IN (SELECT {quote(fk.ref_column)} FROM {parent_sql} WHERE {pred})"
            if doomed.get(fk.child):  # rows already deleted: gone when it runs, still there when ``dry`` counts
                where += f" AND NOT ({' OR '.join(doomed[fk.child])})"
            if fk.nullable and (nullify or depth > 0):
                (n,) = self.query(f"SELECT count(*) FROM {child} WHERE {where}")[0]
                if n and not dry:
                    self.execute(f"UPDATE {child} SET {quote(fk.column)} = NULL WHERE {where}")
                if n:
                    _count(out, f"{fk.child[1]}.{fk.column}", "set NULL", int(n))
            elif not fk.nullable and (not nullify or depth > 0):
                self._cascade(fk.child, where, refs, out, doomed, nullify=nullify, depth=depth + 1, dry=dry)
                (n,) = self.query(f"SELECT count(*) FROM {child} WHERE {where}")[0]
                if n and not dry:
                    self.execute(f"DELETE FROM {child} WHERE {where}")
                if dry:
                    doomed.setdefault(fk.child, []).append(f"({where})")
                if n:
                    _count(out, fk.child[1], "deleted", int(n))

    def key(self, table: str) -> tuple[str, str]:
        """(schema, table) of an app table, as :meth:`foreign_keys` names tables."""
        return ("main", table)

    def sql_name(self, key: tuple[str, str]) -> str:
        return f"{quote(key[0])}.{quote(key[1])}"

    def update_rows(self, table: str, columns: Sequence[str], rows: list[dict[str, object]]) -> int:
        """Rewrite existing rows (by id) with the given values; return how many."""
        for row in rows:
            sets = ", ".join(f"{quote(c)} = {sql_value(row[c])}" for c in columns if c != "id")
            self.execute(f"UPDATE {self.qname(table)} SET {sets} WHERE {quote('id')} = {int(str(row['id']))}")
        return len(rows)

    def max_ids(self, tables: Sequence[str]) -> dict[str, int]:
        sql = " UNION ALL ".join(
            f"SELECT {sql_literal(t)} AS t, max({quote('id')}) AS m FROM {self.qname(t)}" for t in tables
        )
        return {str(t): int(m or 0) for t, m in self.query(sql)}

    def aggregates(self, spec: TableSpec, team_ids: Sequence[int]) -> tuple[Any, ...]:
        """Count and per-column aggregates of one table's rows for ``team_ids``, as text."""
        exprs = [
            f"{self.text(self.aggregate_expr(kind, quote(name)))} AS a{i}"
            for i, (name, kind) in enumerate(aggregate_kinds(spec))
        ]
        key = "id" if spec.name == "teams_team" else "team_id"
        ids = ", ".join(str(int(i)) for i in team_ids) or "NULL"
        sql = f"SELECT {', '.join(exprs)} FROM {self.qname(spec.name)} WHERE {quote(key)} IN ({ids})"
        return tuple(self.query(sql)[0])


class ConstraintViolation(RuntimeError):
    """The target refused rows for one of its constraints (SQLSTATE class 23), with what it named.

    ``str()`` is the database's own text (ERROR, DETAIL); the fields are its diagnostics:
    ``sqlstate`` (:data:`CHECK`, :data:`UNIQUE`, :data:`NOT_NULL`, :data:`FOREIGN_KEY`, or another),
    the constraint, table and column (each None when not given), and DETAIL
    (``Key (c)=(v) ...`` or ``Failing row contains (...)``).
    """

    def __init__(
        self, text: str, *, sqlstate: str, constraint: str | None, table: str | None, column: str | None, detail: str
    ) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate
        self.constraint = constraint
        self.table = table
        self.column = column
        self.detail = detail


NOT_NULL, FOREIGN_KEY, UNIQUE, CHECK = "23502", "23503", "23505", "23514"


@dataclass(frozen=True)
class CheckConstraint:
    """A CHECK constraint: the columns it reads and its definition."""

    columns: list[str]
    definition: str


@dataclass(frozen=True)
class ForeignKeyRef:
    """One foreign key of the database: ``child.column`` -> ``parent.ref_column``; tables as (schema, name)."""

    child: tuple[str, str]
    column: str
    nullable: bool
    parent: tuple[str, str]
    ref_column: str


@dataclass
class Cleared:
    """What --clear removed: app rows per table; rows of other tables deleted or set NULL."""

    deleted: dict[str, int] = field(default_factory=dict)
    foreign: dict[str, tuple[str, int]] = field(default_factory=dict)  # table[.column] -> (action, rows)


def catalog_columns_sql(fields: str, schema: str, tables: Sequence[str], *, this_database: bool = False) -> str:
    """The catalog query of both SQL backends' ``columns()``: ``fields`` of ``information_schema.columns``
    for ``tables`` in ``schema`` (and in the connection's own database: DuckDB attaches several), by table
    and position."""
    names = ", ".join(sql_literal(t) for t in tables)
    database = "table_catalog = current_database() AND " if this_database else ""
    return (
        f"SELECT {fields} FROM information_schema.columns WHERE {database}table_schema = {sql_literal(schema)} "
        f"AND table_name IN ({names}) ORDER BY table_name, ordinal_position"
    )


def disk_full(exc: BaseException) -> bool:
    """A write the disk had no room for: ENOSPC from Python, SQLite's SQLITE_FULL, DuckDB's I/O error text."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    return any(s in text for s in ("No space left on device", "database or disk is full", "Disk quota exceeded"))


def disk_full_error(target: Target, done: str) -> DiskFull:
    """One line for a full disk under the target (exit 1, as a full disk in every command)."""
    return DiskFull(f"no space left on the disk of {target.display}: {done}; free some space and run again")


def _count(out: dict[str, tuple[str, int]], key: str, action: str, n: int) -> None:
    out[key] = (action, out.get(key, (action, 0))[1] + n)


def sql_value(value: object) -> str:
    """A SQL literal for a value read back from DuckDB (PostgreSQL, SQLite and DuckDB all take these)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return sql_literal(value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat())
    return sql_literal(str(value))


def aggregate_kinds(spec: TableSpec) -> list[tuple[str, str]]:
    """(column, kind) pairs checked on read-back; ``("*", "count")`` first."""
    out: list[tuple[str, str]] = [("*", "count")]
    for f in spec.schema:
        t = f.type
        if f.metadata and f.metadata.get(b"logical") == b"json":
            out.append((f.name, "nonnull"))  # jsonb normalizes the text; count what is there
        elif pa.types.is_integer(t) or pa.types.is_decimal(t):
            out.append((f.name, "sum"))
        elif pa.types.is_timestamp(t):
            out.append((f.name, "epoch"))
        elif pa.types.is_date(t):
            out.append((f.name, "days"))
        elif pa.types.is_boolean(t):
            out.append((f.name, "true"))
        elif pa.types.is_string(t):
            out.append((f.name, "length"))
    return out


def duckdb_aggregate_expr(kind: str, col: str) -> str:
    """The DuckDB spelling of each read-back aggregate (also used for the snapshot side)."""
    return {
        "count": "count(*)",
        "nonnull": f"count({col})",
        "sum": f"sum({col})",
        "epoch": f"sum(floor(epoch({col}))::BIGINT)",
        "days": f"sum({col} - DATE '1970-01-01')",
        "true": f"sum(CASE WHEN {col} THEN 1 ELSE 0 END)",
        "length": f"sum(length({col}))",
    }[kind]


class StreamAggregates:
    """The read-back aggregates (:func:`aggregate_kinds`) of rows as they stream past in Arrow batches.

    The same values the target's SQL computes (:meth:`Backend.aggregate_expr`),
    with SQL's NULLs: a sum over no non-NULL value is NULL, and so is the
    CASE sum of ``true`` over no row. A target that sends the rows itself
    (PostgreSQL's COPY) adds each batch it sends, so the read-back compares
    what arrived with what left, without reading the snapshot a second time.
    """

    def __init__(self, spec: TableSpec) -> None:
        self.kinds = aggregate_kinds(spec)
        self.rows = 0
        self.totals: list[int | Decimal | None] = [None] * len(self.kinds)

    def add(self, batch: pa.RecordBatch) -> None:
        import numpy as np
        import pyarrow.compute as pc

        self.rows += batch.num_rows
        for i, (name, kind) in enumerate(self.kinds):
            if kind == "count":
                continue
            col = batch.column(name)
            value: int | Decimal | None
            if kind == "nonnull":
                value = len(col) - col.null_count
            elif kind == "true":
                value = int(pc.sum(pc.fill_null(col, False).cast(pa.int64())).as_py() or 0) if len(col) else None
            elif col.null_count == len(col):
                value = None
            elif kind == "sum":
                value = pc.sum(col).as_py()
            elif kind == "length":
                value = int(pc.sum(pc.utf8_length(col)).as_py())
            elif kind == "days":
                value = int(pc.sum(col.cast(pa.int32()).cast(pa.int64())).as_py())
            elif kind == "epoch":  # floor(seconds) of each instant, as the SQL's floor(epoch(...))
                micros = pc.drop_null(col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())).to_numpy()
                value = int(np.floor_divide(micros, 1_000_000).sum(dtype=np.int64))
            else:
                raise ValueError(f"no streaming aggregate {kind!r}")
            if value is not None:
                prev = self.totals[i]
                self.totals[i] = value if prev is None else prev + value

    def result(self) -> tuple[object, ...]:
        """As the snapshot side of the read-back gives them: text, ``count(*)`` first."""
        out: list[object] = []
        for (_name, kind), total in zip(self.kinds, self.totals):
            if kind == "count":
                out.append(str(self.rows))
            elif kind == "nonnull":
                out.append(str(total or 0))
            else:
                out.append(None if total is None else str(total))
        return tuple(out)
