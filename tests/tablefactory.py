"""Schema-driven test tables: deterministic rows of the right types for any spec.

Not coherent data (ids do not point anywhere): for testing Parquet I/O,
manifests and archives independently of the generator.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa

from pipeline.base.schemas import TableSpec

BASE = dt.datetime(2025, 11, 3, 9, 30, tzinfo=dt.UTC)


def _value(field: pa.Field, i: int, salt: int):
    t = field.type
    if field.nullable and (i + salt) % 5 == 4:
        return None
    k = i + 1 + salt * 1000
    if field.name == "id":
        return i + 1
    if pa.types.is_integer(t):
        return k % 30000
    if pa.types.is_floating(t):
        return k / 7
    if pa.types.is_boolean(t):
        return k % 2 == 0
    if pa.types.is_timestamp(t):
        return BASE + dt.timedelta(hours=k)
    if pa.types.is_date(t):
        return BASE.date() + dt.timedelta(days=k % 60)
    if pa.types.is_decimal(t):
        digits = t.precision - t.scale
        return Decimal(k % (10 ** min(digits, 4))) / Decimal(10**t.scale) * Decimal(10**t.scale) + Decimal(1).scaleb(
            -t.scale
        )
    if pa.types.is_string(t):
        if field.metadata and field.metadata.get(b"logical") == b"json":
            return json.dumps([f"x{k}"])
        limit = int(field.metadata[b"max_length"]) if field.metadata and b"max_length" in field.metadata else 40
        return f"{field.name[:8]}-{k}-é"[:limit]
    if pa.types.is_list(t):
        return [_value(pa.field("v", t.value_type, nullable=False), i + j, salt) for j in range(k % 3)]
    if pa.types.is_struct(t):
        return {t.field(j).name: _value(t.field(j), i, salt) for j in range(t.num_fields)}
    raise TypeError(f"no test value for {t}")


def make_table(spec: TableSpec, rows: int, salt: int = 0) -> pa.Table:
    """``rows`` rows conforming to ``spec`` (deterministic for (rows, salt))."""
    data = {f.name: [_value(f, i, salt) for i in range(rows)] for f in spec.schema}
    return pa.Table.from_pydict(data, schema=spec.schema)


def make_snapshot_tables(rows: int = 5, salt: int = 0) -> dict[str, pa.Table]:
    from pipeline.base.schemas import SNAPSHOT_TABLES, spec

    return {name: make_table(spec(name), rows, salt) for name in SNAPSHOT_TABLES}
