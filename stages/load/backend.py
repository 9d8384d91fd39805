"""What every load target can do, and the SQL they share.

A :class:`Backend` runs native SQL in the target inside the load's single
transaction (``query``/``execute``), creates and checks the app tables,
bulk-inserts a DuckDB SELECT, and advances id sequences. The generic parts
(team lookup and clear, max ids, read-back aggregates) are plain SQL that
PostgreSQL, DuckDB and SQLite all accept.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import duckdb
import pyarrow as pa

from pipeline.base.schemas import APP_LOAD_ORDER, TableSpec

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

    # -- native SQL ----------------------------------------------------------------
    @abc.abstractmethod
    def qname(self, table: str) -> str:
        """The table's name in the target's own SQL."""

    @abc.abstractmethod
    def query(self, sql: str) -> list[tuple]:
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

    def restore_bulk(self, statements: Sequence[str]) -> None:  # noqa: B027 - optional hook
        """Run the statements :meth:`prepare_bulk` returned, after the rows are in."""

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

    def clear_teams(self, team_ids: Sequence[int], tables: Sequence[str]) -> dict[str, int]:
        """Delete the teams and all their rows, children first; return rows deleted per table."""
        ids = ", ".join(str(int(i)) for i in team_ids)
        deleted: dict[str, int] = {}
        for t in reversed(APP_LOAD_ORDER):
            if t not in tables:
                continue
            key = "id" if t == "teams_team" else "team_id"
            where = f"WHERE {quote(key)} IN ({ids})"
            (n,) = self.query(f"SELECT count(*) FROM {self.qname(t)} {where}")[0]
            if n:
                self.execute(f"DELETE FROM {self.qname(t)} {where}")
            deleted[t] = int(n)
        return deleted

    def max_ids(self, tables: Sequence[str]) -> dict[str, int]:
        sql = " UNION ALL ".join(
            f"SELECT {sql_literal(t)} AS t, max({quote('id')}) AS m FROM {self.qname(t)}" for t in tables
        )
        return {str(t): int(m or 0) for t, m in self.query(sql)}

    def aggregates(self, spec: TableSpec, team_ids: Sequence[int]) -> tuple:
        """Count and per-column aggregates of one table's rows for ``team_ids``, as text."""
        exprs = [
            f"{self.text(self.aggregate_expr(kind, quote(name)))} AS a{i}"
            for i, (name, kind) in enumerate(aggregate_kinds(spec))
        ]
        key = "id" if spec.name == "teams_team" else "team_id"
        ids = ", ".join(str(int(i)) for i in team_ids) or "NULL"
        sql = f"SELECT {', '.join(exprs)} FROM {self.qname(spec.name)} WHERE {quote(key)} IN ({ids})"
        return tuple(self.query(sql)[0])


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
