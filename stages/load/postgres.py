"""PostgreSQL target: DuckDB's postgres extension, one transaction, binary COPY.

DuckDB ATTACHes the database; ``BEGIN`` on the DuckDB connection opens one
PostgreSQL transaction that every statement of the load runs in:
``postgres_execute``/``postgres_query`` (DDL, locks, deletes, catalog reads)
and ``INSERT INTO pg.<schema>.<table> SELECT ...`` (which the extension sends
as ``COPY ... FROM STDIN (FORMAT BINARY)``). PostgreSQL DDL is transactional,
and identity sequences are moved with ``ALTER SEQUENCE ... RESTART`` (which,
unlike ``setval``, is rolled back with the transaction), so any failure,
including a deferred foreign-key check at COMMIT, leaves the database as it was.

Loads into one database run one at a time: the first statement of the
transaction takes the transaction-scoped advisory lock
:data:`ADVISORY_LOCK_KEY` (``pg_advisory_xact_lock``), before anything is read
or created, and PostgreSQL releases it at COMMIT or ROLLBACK (or when the
process dies). A second load waits there, then sees the first one's tables and
ids. The transaction runs at READ COMMITTED (the extension opens REPEATABLE
READ, whose snapshot would be taken before the lock wait and hide what the
load it waited for committed). The index and foreign-key builds after the
rows get :data:`MAINTENANCE_WORK_MEM` (``SET LOCAL``: this transaction only).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import duckdb

from pipeline.base.errors import UserError

from . import ddl
from .backend import Backend, ForeignKeyRef
from .ddl import quote
from .extensions import connect
from .plan import sql_literal
from .schema_check import Column, postgres_type
from .target import Target, scrub

log = logging.getLogger(__name__)
ALIAS = "demoseed_pg"
# pg_advisory_xact_lock key that serializes demoseed loads into one database: the bytes "demoseed".
ADVISORY_LOCK_KEY = int.from_bytes(b"demoseed", "big")  # 7234307576302018916
# memory for each index build of the load (PostgreSQL's default, 64MB, sorts a large index on disk)
MAINTENANCE_WORK_MEM = "512MB"


def _connect_error(target: Target, exc: Exception) -> UserError:
    msg = scrub(str(exc), target)
    low = msg.lower()
    where = f"{target.host}:{target.port}"
    if (
        "password authentication failed" in low
        or "no password supplied" in low
        or ("role" in low and "does not exist" in low)
    ):
        return UserError(
            f"PostgreSQL at {where} refused user {target.user or '(default)'!r}: wrong user or password in {target.display}"
        )
    if "database" in low and "does not exist" in low:
        return UserError(
            f"database {target.database!r} does not exist on {where}; create it (createdb {target.database}) or fix DB_URL"
        )
    if any(
        k in low
        for k in ("connection refused", "could not translate host", "timeout expired", "no route", "could not connect")
    ):
        detail = msg.split(":", 2)[-1].strip().splitlines()[0] if ":" in msg else msg
        return UserError(f"cannot reach PostgreSQL at {where} ({detail}); is the server running and DB_URL right?")
    first = msg.strip().splitlines()[0] if msg.strip() else type(exc).__name__
    return UserError(f"cannot connect to {target.display}: {first}")


class PostgresBackend(Backend):
    dialect = "postgres"

    def __init__(self, target: Target) -> None:
        duck = connect(extensions=("postgres_scanner",))
        try:
            duck.execute(f"ATTACH {sql_literal(target.dsn)} AS {ALIAS} (TYPE postgres)")
            duck.execute(f"SELECT * FROM postgres_query('{ALIAS}', 'SELECT 1')").fetchall()
        except duckdb.Error as exc:
            duck.close()
            raise _connect_error(target, exc) from None
        super().__init__(target, duck)
        self.schema = target.schema_name

    def qname(self, table: str) -> str:
        return f"{quote(self.schema)}.{quote(table)}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.duck.execute(f"SELECT * FROM postgres_query('{ALIAS}', {sql_literal(sql)})").fetchall()

    def execute(self, sql: str) -> None:
        self.duck.execute(f"CALL postgres_execute('{ALIAS}', {sql_literal(sql)})")

    def begin(self) -> None:
        self.duck.execute("BEGIN TRANSACTION")
        self.execute(
            "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; "
            f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'; "
            f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})"
        )
        self.duck.execute("CALL pg_clear_cache()")  # tables another load created while we waited

    def commit(self) -> None:
        self.duck.execute("COMMIT")

    def rollback(self) -> None:
        try:
            self.duck.execute("ROLLBACK")
        except duckdb.Error as exc:  # the transaction may already be gone with the failed statement
            log.debug("rollback: %s", scrub(str(exc), self.target))

    def close(self) -> None:
        self.duck.close()

    def columns(self, tables: Sequence[str]) -> dict[str, list[Column]]:
        names = ", ".join(sql_literal(t) for t in tables)
        rows = self.query(
            "SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, "
            "is_nullable, (column_default IS NOT NULL OR is_identity = 'YES') "
            f"FROM information_schema.columns WHERE table_schema = {sql_literal(self.schema)} "
            f"AND table_name IN ({names}) ORDER BY table_name, ordinal_position"
        )
        out: dict[str, list[Column]] = {}
        for table, name, data_type, length, precision, scale, nullable, has_default in rows:
            canon = postgres_type(data_type, length, precision, scale)
            shown = data_type + (f"({length})" if length else "")
            if canon[0] == "dec" and precision is not None:
                shown = f"numeric({precision}, {scale})"
            out.setdefault(table, []).append(Column(name, canon, shown, nullable == "YES", bool(has_default)))
        return out

    def key(self, table: str) -> tuple[str, str]:
        return (self.schema, table)

    def foreign_keys(self) -> list[ForeignKeyRef]:
        rows = self.query(
            "SELECT cn.nspname::text AS cs, cc.relname::text AS ct, a.attname::text AS col, NOT a.attnotnull AS n, "
            "pn.nspname::text AS ps, pc.relname::text AS pt, pa.attname::text AS ref FROM pg_constraint c "
            "JOIN pg_class cc ON cc.oid = c.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace "
            "JOIN pg_class pc ON pc.oid = c.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1] "
            "WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 ORDER BY 1, 2, 3"
        )
        return [ForeignKeyRef((cs, ct), col, bool(null), (ps, pt), ref) for cs, ct, col, null, ps, pt, ref in rows]

    def create_tables(self, tables: Sequence[str]) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema)}")
        self.execute(";\n".join(ddl.postgres_tables(list(tables), self.schema)))
        self.duck.execute("CALL pg_clear_cache()")

    def create_post(self, tables: Sequence[str]) -> None:
        if tables:
            self.execute(";\n".join(ddl.postgres_post(list(tables), self.schema)))

    def lock(self, tables: Sequence[str]) -> None:
        # SHARE ROW EXCLUSIVE: readers go on, other writers (and other loads) wait for our COMMIT.
        self.execute(f"LOCK TABLE {', '.join(self.qname(t) for t in tables)} IN SHARE ROW EXCLUSIVE MODE")

    def prepare_bulk(self, tables: Sequence[str]) -> list[str]:
        """For app tables that are empty now and that we own: drop secondary indexes and foreign keys.

        PostgreSQL's own advice for populating a table: one index build and one
        set-based foreign-key check after the COPY beat per-row upkeep and per-row
        deferred checks at COMMIT. The definitions are read from the catalog
        (pg_get_indexdef / pg_get_constraintdef), so whatever the app's
        migrations made comes back exactly; it all happens in the load's
        transaction, so a failure restores them too.
        """
        if not tables:
            return []
        probe = " UNION ALL ".join(
            f"SELECT {sql_literal(self.qname(t))} AS rel, NOT EXISTS (SELECT 1 FROM {self.qname(t)}) AS empty, "
            f"pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = {sql_literal(self.qname(t))}::regclass), "
            "'USAGE') AS owned"
            for t in tables
        )
        chosen = [name for name, empty, owned in self.query(probe) if empty and owned]
        if not chosen:
            return []
        rels = "ARRAY[" + ", ".join(f"{sql_literal(n)}::regclass" for n in chosen) + "]"
        indexes = self.query(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            f"WHERE i.indrelid = ANY({rels}) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1"
        )
        fks = self.query(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE contype = 'f' AND conrelid = ANY({rels}) ORDER BY 1, 2"
        )
        # Pending deferred checks (from --clear) must fire before a table's definition can change.
        drops = ["SET CONSTRAINTS ALL IMMEDIATE", "SET CONSTRAINTS ALL DEFERRED"]
        drops += [f"ALTER TABLE {rel} DROP CONSTRAINT {quote(name)}" for rel, name, _def in fks]
        drops += [f"DROP INDEX {name}" for name, _def in indexes]
        self.execute(";\n".join(drops))
        log.info(
            "bulk load: dropped %d indexes and %d foreign keys of %d empty tables", len(indexes), len(fks), len(chosen)
        )
        return [d for _n, d in indexes] + [
            f"ALTER TABLE {rel} ADD CONSTRAINT {quote(name)} {d}" for rel, name, d in fks
        ]

    def restore_bulk(self, statements: Sequence[str]) -> None:
        if statements:
            self.execute(";\n".join(["SET CONSTRAINTS ALL IMMEDIATE", *statements, "SET CONSTRAINTS ALL DEFERRED"]))

    def insert(self, table: str, columns: Sequence[str], select: str) -> int:
        cols = ", ".join(quote(c) for c in columns)
        dest = f"{ALIAS}.{quote(self.schema)}.{quote(table)}"
        row = self.duck.execute(f"INSERT INTO {dest} ({cols}) {select}").fetchone()
        return int(row[0]) if row else 0

    def advance_sequences(self, tables: Sequence[str]) -> dict[str, int]:
        seqs = self.query(
            " UNION ALL ".join(
                f"SELECT {sql_literal(t)} AS t, pg_get_serial_sequence({sql_literal(self.qname(t))}, 'id') AS s"
                for t in tables
            )
        )
        seq_of = {t: s for t, s in seqs if s}
        if not seq_of:
            return {}
        maxes = self.max_ids(list(seq_of))
        state = self.query(
            " UNION ALL ".join(
                f"SELECT {sql_literal(t)} AS t, last_value, is_called FROM {s}" for t, s in seq_of.items()
            )
        )
        statements, nexts = [], {}
        for t, last, called in state:
            current_next = int(last) + 1 if called else int(last)
            wanted = max(maxes.get(t, 0) + 1, current_next)
            nexts[t] = wanted
            if wanted != current_next:
                statements.append(f"ALTER SEQUENCE {seq_of[t]} RESTART WITH {wanted}")
        if statements:
            self.execute(";\n".join(statements))
        return nexts

    def aggregate_expr(self, kind: str, col: str) -> str:
        return {
            "count": "count(*)",
            "nonnull": f"count({col})",
            "sum": f"sum({col})",
            "epoch": f"sum(floor(extract(epoch FROM {col}))::bigint)",
            "days": f"sum({col} - DATE '1970-01-01')",
            "true": f"sum(CASE WHEN {col} THEN 1 ELSE 0 END)",
            "length": f"sum(length({col}))",
        }[kind]

    def text(self, expr: str) -> str:
        return f"({expr})::text"
