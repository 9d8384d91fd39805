"""File targets: an embedded DuckDB database, or SQLite.

DuckDB: the load's connection *is* the target file, so the snapshot is read
and written in one DuckDB transaction (DDL included). DuckDB sequences are not
transactional, so they are advanced as the very last step before COMMIT, after
every row and constraint is in.

SQLite: DuckDB reads and shapes the rows; Python's sqlite3 writes them in one
``BEGIN IMMEDIATE`` transaction. (DuckDB's sqlite extension cannot run raw DDL,
so it could not create ``INTEGER PRIMARY KEY AUTOINCREMENT`` ids or deferred
foreign keys, and it would hold a second connection to the file, outside our
transaction.) SQLite's AUTOINCREMENT counter follows explicit ids on its own.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from typing import Any

import duckdb

from pipeline.base.errors import UserError

from . import ddl
from .backend import Backend, ForeignKeyRef, catalog_columns_sql, disk_full, disk_full_error, duckdb_aggregate_expr
from .ddl import quote
from .extensions import connect
from .plan import sql_literal
from .schema_check import Column, duckdb_type, sqlite_type
from .target import Target

BATCH_ROWS = 50_000


class DuckDBBackend(Backend):
    dialect = "duckdb"

    def __init__(self, target: Target) -> None:
        assert target.path is not None
        if target.create_dir:
            target.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            duck = connect(str(target.path))
        except duckdb.Error as exc:
            if disk_full(exc):
                raise disk_full_error(target, "nothing was written") from None
            first = str(exc).strip().splitlines()[0]
            raise UserError(f"cannot open {target.display}: {first}") from None
        super().__init__(target, duck)
        self.schema = target.schema_name
        self.prefix = f"{quote(self.schema)}."

    def qname(self, table: str) -> str:
        return f"{self.prefix}{quote(table)}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.duck.execute(sql).fetchall()

    def execute(self, sql: str) -> None:
        self.duck.execute(sql)

    def begin(self) -> None:
        self.duck.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.duck.execute("COMMIT")

    def rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.duck.execute("ROLLBACK")

    def close(self) -> None:
        self.duck.close()

    def columns(self, tables: Sequence[str]) -> dict[str, list[Column]]:
        rows = self.query(
            catalog_columns_sql(
                "table_name, column_name, data_type, is_nullable, column_default IS NOT NULL",
                self.schema,
                tables,
                this_database=True,
            )
        )
        out: dict[str, list[Column]] = {}
        for table, name, data_type, nullable, has_default in rows:
            out.setdefault(table, []).append(
                Column(name, duckdb_type(data_type), data_type, nullable == "YES", bool(has_default))
            )
        return out

    def create_tables(self, tables: Sequence[str]) -> None:
        schema = None if self.schema == "main" else self.schema
        if schema:
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        for stmt in ddl.file_tables(list(tables), "duckdb", schema):
            self.execute(stmt)

    def create_post(self, tables: Sequence[str]) -> None:
        schema = None if self.schema == "main" else self.schema
        for stmt in ddl.file_indexes(list(tables), "duckdb", schema):
            self.execute(stmt)

    def insert(self, table: str, columns: Sequence[str], select: str) -> int:
        cols = ", ".join(quote(c) for c in columns)
        row = self.duck.execute(f"INSERT INTO {self.qname(table)} ({cols}) {select}").fetchone()
        return int(row[0]) if row else 0

    def advance_sequences(self, tables: Sequence[str]) -> dict[str, int]:
        # duckdb_sequences().last_value is ambiguous after a reopen, so ask the sequence itself:
        # one nextval (a harmless gap), then as many more as needed to pass the max id.
        names = ", ".join(sql_literal(f"{t}_id_seq") for t in tables)
        seqs = [
            r[0]
            for r in self.query(
                "SELECT sequence_name FROM duckdb_sequences() WHERE database_name = current_database() "
                f"AND schema_name = {sql_literal(self.schema)} AND sequence_name IN ({names})"
            )
        ]
        if not seqs:
            return {}
        maxes = self.max_ids([name.removesuffix("_id_seq") for name in seqs])
        nexts: dict[str, int] = {}
        for name in seqs:
            table = name.removesuffix("_id_seq")
            seq = sql_literal(f"{self.prefix}{quote(name)}")
            value = int(self.query(f"SELECT nextval({seq})")[0][0])
            need = maxes.get(table, 0) - value
            if need > 0:
                self.query(f"SELECT max(nextval({seq})) FROM range({need})")
            nexts[table] = max(value, maxes.get(table, 0)) + 1
        return nexts

    def aggregate_expr(self, kind: str, col: str) -> str:
        return duckdb_aggregate_expr(kind, col)


class SQLiteBackend(Backend):
    dialect = "sqlite"

    def __init__(self, target: Target) -> None:
        assert target.path is not None
        if target.create_dir:
            target.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(target.path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            if disk_full(exc):
                raise disk_full_error(target, "nothing was written") from None
            raise UserError(f"cannot open {target.display}: {exc}") from None
        super().__init__(target, connect(bounded=True))

    def qname(self, table: str) -> str:
        return quote(table)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.db.execute(sql).fetchall()

    def execute(self, sql: str) -> None:
        self.db.execute(sql)

    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def close(self) -> None:
        self.db.close()
        self.duck.close()

    def columns(self, tables: Sequence[str]) -> dict[str, list[Column]]:
        present = {r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
        out: dict[str, list[Column]] = {}
        for t in tables:
            if t not in present:
                continue
            for _cid, name, declared, notnull, default, pk in self.query(f"PRAGMA table_info({quote(t)})"):
                has_default = default is not None or (pk and "int" in str(declared).lower())
                out.setdefault(t, []).append(
                    Column(name, sqlite_type(declared), declared, not notnull, bool(has_default))
                )
        return out

    def foreign_keys(self) -> list[ForeignKeyRef]:
        out = []
        names = [r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for child in names:
            notnull = {r[1]: bool(r[3]) for r in self.query(f"PRAGMA table_info({quote(child)})")}
            keys: dict[int, list[tuple[str, str, str | None]]] = {}
            for fk_id, _seq, parent, col, ref, *_rest in self.query(f"PRAGMA foreign_key_list({quote(child)})"):
                keys.setdefault(int(fk_id), []).append((str(parent), str(col), ref))
            for ((parent, col, ref),) in (cols for cols in keys.values() if len(cols) == 1):
                out.append(
                    ForeignKeyRef(("main", child), col, not notnull.get(col, False), ("main", parent), ref or "id")
                )
        return out

    def create_tables(self, tables: Sequence[str]) -> None:
        for stmt in ddl.file_tables(list(tables), "sqlite"):
            self.execute(stmt)

    def create_post(self, tables: Sequence[str]) -> None:
        for stmt in ddl.file_indexes(list(tables), "sqlite"):
            self.execute(stmt)

    def insert(self, table: str, columns: Sequence[str], select: str) -> int:
        cols = ", ".join(quote(c) for c in columns)
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {quote(table)} ({cols}) VALUES ({marks})"
        cur = self.duck.execute(select)
        total = 0
        while batch := cur.fetchmany(BATCH_ROWS):
            self.db.executemany(sql, batch)
            total += len(batch)
        return total

    def advance_sequences(self, tables: Sequence[str]) -> dict[str, int]:
        # AUTOINCREMENT keeps sqlite_sequence at the max id ever inserted, explicit ids included.
        present = self.query("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
        if not present:
            return {}
        rows = self.query("SELECT name, seq FROM sqlite_sequence")
        return {str(n): int(s) + 1 for n, s in rows if n in tables}

    def aggregate_expr(self, kind: str, col: str) -> str:
        return {
            "count": "count(*)",
            "nonnull": f"count({col})",
            "sum": f"sum({col})",
            "epoch": f"sum(CAST(strftime('%s', {col}) AS INTEGER))",
            "days": f"sum(CAST(julianday({col}) - 2440587.5 AS INTEGER))",
            "true": f"sum(CASE WHEN {col} THEN 1 ELSE 0 END)",
            "length": f"sum(length({col}))",
        }[kind]
