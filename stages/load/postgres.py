"""PostgreSQL target: psycopg runs the load's one transaction, rows go in by binary ``COPY ... FREEZE``.

One psycopg connection (libpq) carries every statement of a load (DDL,
locks, deletes, catalog reads, the COPYs) in a single transaction.
PostgreSQL DDL is transactional, and identity sequences are moved with
``ALTER SEQUENCE ... RESTART`` (which, unlike ``setval``, is rolled back with
the transaction), so any failure, including a deferred foreign-key check at
COMMIT, or the process being killed, leaves the database as it was.

Rows: DuckDB runs the table's SELECT over the snapshot (remapped ids,
rebased dates, the as-of cut) and hands Arrow record batches to pgpq, which
encodes them in PostgreSQL's binary COPY format for the target's column types
(``jsonb`` with its version byte, ``numeric`` from Arrow decimals); psycopg
streams the bytes with ``COPY ... FROM STDIN (FORMAT binary)``. A thread
produces (DuckDB + pgpq release the GIL) while the main thread sends, so the
client keeps the server's single COPY stream busy. Into a table this
transaction created, or emptied with TRUNCATE (an empty table we own, whose
indexes and foreign keys are dropped for the bulk load anyway), the COPY adds
``FREEZE``: the rows are written frozen, so neither the index builds, the
read-back nor the app's first queries rewrite every page to set hint bits.

Loads into one database run one at a time: the first statement of the
transaction takes the transaction-scoped advisory lock
:data:`ADVISORY_LOCK_KEY` (``pg_advisory_xact_lock``), before anything is read
or created, and PostgreSQL releases it at COMMIT or ROLLBACK (or when the
process dies). A second load waits there, then sees the first one's tables and
ids (READ COMMITTED: each statement sees what committed before it). The index
and foreign-key builds after the rows get :data:`MAINTENANCE_WORK_MEM`
(``SET LOCAL``: this transaction only).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
from pgpq import ArrowToPostgresBinaryEncoder
from pgpq import encoders as pgpq_encoders
from pgpq import schema as pgpq_schema

from pipeline.base.errors import UserError
from pipeline.base.tuning import release_memory

from . import ddl
from .backend import (
    Backend,
    CheckConstraint,
    ConstraintViolation,
    ForeignKeyRef,
    StreamAggregates,
    catalog_columns_sql,
)
from .ddl import quote
from .extensions import connect
from .plan import sql_literal
from .schema_check import Column, postgres_type
from .target import Target, scrub

log = logging.getLogger(__name__)
# pg_advisory_xact_lock key that serializes demoseed loads into one database: the bytes "demoseed".
ADVISORY_LOCK_KEY = int.from_bytes(b"demoseed", "big")  # 7234307576302018916
# memory for each index build of the load (PostgreSQL's default, 64MB, sorts a large index on disk)
MAINTENANCE_WORK_MEM = "512MB"
# rows per Arrow batch DuckDB hands to the encoder, and encoded batches in flight (bounds the memory)
BATCH_ROWS = 16_384
IN_FLIGHT = 3
TRIM_EVERY = 32  # batches between malloc_trim calls (see pipeline.base.tuning.release_memory)


class PostgresError(RuntimeError):
    """A statement failed in PostgreSQL: its message as the server gives it (``ERROR:  ...``, DETAIL, HINT)."""


def _pg_error(exc: psycopg.Error) -> PostgresError | ConstraintViolation:
    diag = exc.diag
    if diag.message_primary:
        lines = [f"{diag.severity or 'ERROR'}:  {diag.message_primary}"]
        lines += [f"{k}:  {v}" for k, v in (("DETAIL", diag.message_detail), ("HINT", diag.message_hint)) if v]
        text = "\n".join(lines)
        if (diag.sqlstate or "").startswith("23"):  # integrity_constraint_violation: explained in words by the load
            return ConstraintViolation(
                text,
                sqlstate=diag.sqlstate or "",
                constraint=diag.constraint_name,
                table=diag.table_name,
                column=diag.column_name,
                detail=diag.message_detail or "",
            )
        return PostgresError(text)
    return PostgresError(str(exc).strip() or type(exc).__name__)


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise _pg_error(exc) from None


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


def _regclass_array(names: Iterable[str]) -> str:
    """A SQL array literal of the (qualified, quoted) relations ``names``, as regclass."""
    return "ARRAY[" + ", ".join(f"{sql_literal(n)}::regclass" for n in names) + "]"


def _arrow_type(target: tuple[Any, ...], source: pa.DataType) -> pa.DataType:
    """The Arrow type whose binary COPY encoding the target column's type receives."""
    kind = target[0]
    fixed = {
        "int64": pa.int64(),
        "int32": pa.int32(),
        "int16": pa.int16(),
        "bool": pa.bool_(),
        "ts": pa.timestamp("us", tz="UTC"),
        "ts_naive": pa.timestamp("us"),
        "date": pa.date32(),
        "json": pa.string(),
        "str": pa.string(),
        "uuid": pa.binary(),  # the 16 bytes (drift.fill_expr): pgpq writes them as is, uuid's binary form
    }
    if kind in fixed:
        return fixed[kind]
    return source  # numeric: the decimal DuckDB produced (binary numeric carries its own scale)


class _Encoding:
    """How one table's batches become binary COPY bytes for its target columns."""

    def __init__(self, source: pa.Schema, targets: dict[str, tuple[Any, ...]]) -> None:
        self.schema = pa.schema([pa.field(f.name, _arrow_type(targets[f.name], f.type)) for f in source])
        builders: dict[str, Any] = {}
        for f in self.schema:
            if targets[f.name][0] == "json":
                builders[f.name] = pgpq_encoders.StringEncoderBuilder.new_with_output(f, pgpq_schema.Jsonb())
            else:
                builders[f.name] = ArrowToPostgresBinaryEncoder.infer_encoder(f)
        self.encoder = ArrowToPostgresBinaryEncoder.new_with_encoders(self.schema, builders)

    def cast(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return batch if batch.schema == self.schema else batch.cast(self.schema)

    def batch(self, batch: pa.RecordBatch) -> bytes:
        return self.encoder.write_batch(batch)


def _encode(
    duck: duckdb.DuckDBPyConnection,
    select: str,
    targets: dict[str, tuple[Any, ...]],
    sent: StreamAggregates,
    put: Callable[[bytes], bool],
) -> None:
    """Run ``select`` in DuckDB and ``put`` its rows as binary COPY bytes (header, batches, trailer); each batch is
    added to ``sent`` (the read-back's side). Stops early when ``put`` says the sender is gone."""
    reader = duck.execute(select).to_arrow_reader(BATCH_ROWS)
    enc = _Encoding(reader.schema, targets)
    if not put(enc.encoder.write_header()):
        return
    for raw in reader:
        batch = enc.cast(raw)
        sent.add(batch)
        if not put(enc.batch(batch)):
            return
    put(enc.encoder.finish())


class PostgresBackend(Backend):
    dialect = "postgres"

    def __init__(self, target: Target) -> None:
        try:
            # not autocommit: psycopg opens the load's transaction with its first statement
            pg = psycopg.connect(target.dsn, autocommit=False)
        except psycopg.Error as exc:
            raise _connect_error(target, exc) from None
        super().__init__(target, connect(bounded=True))
        self.pg = pg
        self.schema = target.schema_name
        self.fresh: set[str] = set()  # tables created or emptied (TRUNCATE) in this transaction: COPY FREEZE
        self.bulk: set[str] = set()  # tables created, or empty and ours (prepare_bulk): every row comes from us
        self._types: dict[str, dict[str, tuple[Any, ...]]] = {}

    def qname(self, table: str) -> str:
        return f"{quote(self.schema)}.{quote(table)}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with _errors():
            return self.pg.execute(sql).fetchall()

    def execute(self, sql: str) -> None:
        with _errors():
            self.pg.execute(sql)

    def begin(self) -> None:
        self.execute(
            "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; "
            f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'; "
            f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})"
        )

    def commit(self) -> None:
        with _errors():
            self.pg.commit()

    def rollback(self) -> None:
        try:
            self.pg.rollback()
        except psycopg.Error as exc:  # the connection may already be gone with the failed statement
            log.debug("rollback: %s", scrub(str(exc), self.target))

    def close(self) -> None:
        self.pg.close()
        self.duck.close()

    def columns(self, tables: Sequence[str]) -> dict[str, list[Column]]:
        rows = self.query(
            catalog_columns_sql(
                "table_name, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, "
                "is_nullable, (column_default IS NOT NULL OR is_identity = 'YES' OR is_generated = 'ALWAYS'), "
                "is_generated = 'ALWAYS'",
                self.schema,
                tables,
            )
        )
        out: dict[str, list[Column]] = {}
        for table, name, data_type, length, precision, scale, nullable, has_default, generated in rows:
            canon = postgres_type(data_type, length, precision, scale)
            shown = data_type + (f"({length})" if length else "")
            if canon[0] == "dec" and precision is not None:
                shown = f"numeric({precision}, {scale})"
            out.setdefault(table, []).append(
                Column(name, canon, shown, nullable == "YES", bool(has_default), bool(generated))
            )
        self._types.update({t: {c.name: c.type for c in cols} for t, cols in out.items()})  # for insert()
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
        self.fresh.update(tables)
        self.bulk.update(tables)
        self._types.clear()

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

        Those empty tables are then TRUNCATEd in the same transaction (nothing
        is lost: they are empty, and our lock keeps writers out), which lets
        their COPY write frozen rows (``FREEZE``); a table another table points
        at (TRUNCATE would refuse) or one with a TRUNCATE trigger is left as is.
        """
        chosen = self._empty_and_ours(tables)
        if not chosen:
            return []
        rels = _regclass_array(chosen)
        kept = self._not_truncatable(chosen, rels)
        emptied = [n for n in chosen if n not in kept]
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
        if emptied:
            drops.append(f"TRUNCATE {', '.join(emptied)}")
        self.execute(";\n".join(drops))
        by_name = {self.qname(t): t for t in tables}
        self.fresh.update(by_name[n] for n in emptied)
        self.bulk.update(by_name[n] for n in chosen)
        log.info(
            "bulk load: dropped %d indexes and %d foreign keys of %d empty tables", len(indexes), len(fks), len(chosen)
        )
        return [d for _n, d in indexes] + [
            f"ALTER TABLE {rel} ADD CONSTRAINT {quote(name)} {d}" for rel, name, d in fks
        ]

    def _empty_and_ours(self, tables: Sequence[str]) -> list[str]:
        """The qualified names of ``tables`` that hold no row and whose owner role we have."""
        if not tables:
            return []
        probe = " UNION ALL ".join(
            f"SELECT {sql_literal(self.qname(t))} AS rel, NOT EXISTS (SELECT 1 FROM {self.qname(t)}) AS empty, "
            f"pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = {sql_literal(self.qname(t))}::regclass), "
            "'USAGE') AS owned"
            for t in tables
        )
        return [name for name, empty, owned in self.query(probe) if empty and owned]

    def _not_truncatable(self, chosen: list[str], rels: str) -> set[str]:
        """Of ``chosen``, those TRUNCATE would refuse (a foreign key from a table not among them) or that have a
        TRUNCATE trigger."""
        rows = self.query(
            " UNION ALL ".join(
                f"SELECT {sql_literal(n)} AS rel WHERE EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' "
                f"AND confrelid = {sql_literal(n)}::regclass AND NOT (conrelid = ANY({rels}))) OR EXISTS "
                f"(SELECT 1 FROM pg_trigger WHERE tgrelid = {sql_literal(n)}::regclass AND NOT tgisinternal "
                "AND (tgtype & 32) <> 0)"
                for n in chosen
            )
        )
        return {str(r[0]) for r in rows}

    def drop_keys(self) -> list[str]:
        """Primary keys and UNIQUE constraints of the tables this load created or found empty: dropped until
        the rows are in; return the statements that add them back (before any index or foreign key).

        PostgreSQL's advice for a fresh table is to create every index after the COPY, and a key is an
        index: upkeep row by row costs a random B-tree insert (and its WAL) per row, where one sorted
        build after the rows is several times cheaper (bench/bench_load.py; docs/performance.md). The
        definitions come from the catalog (``pg_get_constraintdef``: columns, INCLUDE, storage
        parameters, tablespace, deferrability), so each comes back as it was, under its own name. Only
        tables whose rows all come from this load qualify (``bulk``: created, or empty, ours and locked);
        a key that a foreign key still points at (from a table we do not load), a replica identity index
        and an inherited constraint stay. A duplicate fails the load when the key is added back (PostgreSQL's
        ``could not create unique index``), inside the transaction, with the table as it was.
        """
        if not self.bulk:
            return []
        rels = _regclass_array(self.qname(t) for t in sorted(self.bulk))
        keys = self.query(
            "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            f"WHERE c.contype IN ('p', 'u') AND c.conrelid = ANY({rels}) AND c.coninhcount = 0 "
            "AND c.conparentid = 0 "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid) "
            "AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indexrelid = c.conindid AND i.indisreplident) "
            "ORDER BY c.contype, 1, 2"  # primary keys first
        )
        if not keys:
            return []
        self.execute(";\n".join(f"ALTER TABLE {rel} DROP CONSTRAINT {quote(name)}" for rel, name, _d in keys))
        log.info("bulk load: dropped %d keys of %d tables until their rows are in", len(keys), len(self.bulk))
        return [f"ALTER TABLE {rel} ADD CONSTRAINT {quote(name)} {d}" for rel, name, d in keys]

    def check_constraint(self, table: str, name: str) -> CheckConstraint | None:
        """From the catalog, in a transaction of its own (the load's was rolled back); None: not there (any more)."""
        rows = self._catalog(
            "SELECT array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o) "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), "
            f"pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.contype = 'c' "
            f"AND c.conrelid = to_regclass({sql_literal(self.qname(table))}) AND c.conname = {sql_literal(name)}"
        )
        return CheckConstraint(list(rows[0][0]), str(rows[0][1])) if rows else None

    def id_position(self, table: str) -> int | None:
        rows = self._catalog(
            "SELECT count(*) FILTER (WHERE a.attnum < i.attnum) FROM pg_attribute a JOIN pg_attribute i "
            "ON i.attrelid = a.attrelid AND i.attname = 'id' AND NOT i.attisdropped "
            f"WHERE a.attrelid = to_regclass({sql_literal(self.qname(table))}) AND a.attnum > 0 "
            "AND NOT a.attisdropped GROUP BY i.attnum"
        )
        return int(rows[0][0]) if rows else None

    def _catalog(self, sql: str) -> list[tuple[Any, ...]]:
        """A catalog read after the load's transaction was rolled back, in one of its own (nothing on error)."""
        try:
            return self.query(sql)
        except PostgresError:
            return []
        finally:
            self.rollback()

    def restore_bulk(self, statements: Sequence[str]) -> None:
        if statements:
            self.execute(";\n".join(["SET CONSTRAINTS ALL IMMEDIATE", *statements, "SET CONSTRAINTS ALL DEFERRED"]))

    def target_types(self, table: str) -> dict[str, tuple[Any, ...]]:
        """The table's column types in the target (canonical, see :mod:`.schema_check`)."""
        if table not in self._types:  # created by this load after the schema check read the others
            self.columns([table])
        return self._types[table]

    def insert(self, table: str, columns: Sequence[str], select: str) -> int:
        """COPY the SELECT's rows in: DuckDB and pgpq encode in a thread while this one sends (see module doc)."""
        targets = self.target_types(table)
        freeze = ", FREEZE" if table in self.fresh else ""
        copy_sql = (
            f"COPY {self.qname(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN (FORMAT binary{freeze})"
        )
        sent = self.streamed[table] = StreamAggregates(self.spec(table))
        chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=IN_FLIGHT)
        stop = threading.Event()

        def put(item: bytes | BaseException | None) -> bool:
            while not stop.is_set():
                with contextlib.suppress(queue.Full):
                    chunks.put(item, timeout=0.1)
                    return True
            return False

        def produce() -> None:
            try:
                _encode(self.duck, select, targets, sent, put)
            except BaseException as exc:  # handed to the sending thread, which raises it
                put(exc)
            finally:
                put(None)

        worker = threading.Thread(target=produce, name=f"demoseed-copy-{table}", daemon=True)
        cur = self.pg.cursor()
        try:
            with _errors(), cur.copy(copy_sql) as copy:
                worker.start()
                sent_chunks = 0
                while (item := chunks.get()) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    copy.write(item)
                    sent_chunks += 1
                    if sent_chunks % TRIM_EVERY == 0:
                        release_memory()  # the encoder thread's freed buffers, back to the system
            return max(cur.rowcount, 0)
        finally:
            stop.set()
            if worker.is_alive():
                with contextlib.suppress(Exception):
                    self.duck.interrupt()
                worker.join()
            cur.close()

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
            "epoch": f"sum(floor(date_part('epoch', {col}))::bigint)",  # float8: exact to the second before 2242
            "days": f"sum({col} - DATE '1970-01-01')",
            "true": f"sum(CASE WHEN {col} THEN 1 ELSE 0 END)",
            "length": f"sum(length({col}))",
        }[kind]

    def text(self, expr: str) -> str:
        return f"({expr})::text"
