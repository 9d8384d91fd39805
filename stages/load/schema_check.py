"""Check an existing app schema against the tables a snapshot writes.

A target column fits when every snapshot value can be stored in it: same type
family, strings at least as long, decimals with the same scale and at least
as many integer digits, NULL allowed where the snapshot has NULLs. Extra
target columns are fine unless NOT NULL without a default (our INSERT would
fail). The result is a list of one-line problems, empty when all fits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from pipeline.base.schemas import TableSpec


@dataclass(frozen=True)
class Column:
    name: str
    type: tuple[Any, ...]  # canonical: ("int64",), ("str", 100 | None), ("dec", 10, 2), ...
    shown: str  # the type as the database names it
    nullable: bool
    has_default: bool  # the database fills it: a default, an identity or a generated column
    generated: bool = False  # GENERATED ALWAYS ... STORED: the database computes it, nothing may be written


def spec_type(f: pa.Field) -> tuple[Any, ...]:
    t = f.type
    if f.metadata and f.metadata.get(b"logical") == b"json":
        return ("json",)
    if pa.types.is_int64(t):
        return ("int64",)
    if pa.types.is_int32(t):
        return ("int32",)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        limit = f.metadata.get(b"max_length") if f.metadata else None
        return ("str", int(limit) if limit else None)
    if pa.types.is_boolean(t):
        return ("bool",)
    if pa.types.is_timestamp(t):
        return ("ts",)
    if pa.types.is_date(t):
        return ("date",)
    if pa.types.is_decimal(t):
        return ("dec", t.precision, t.scale)
    return (str(t),)


def show(canon: tuple[Any, ...]) -> str:
    names = {
        "int64": "bigint",
        "int32": "integer",
        "bool": "boolean",
        "ts": "timestamp with time zone",
        "date": "date",
        "json": "jsonb",
    }
    if canon[0] == "str":
        return f"varchar({canon[1]})" if canon[1] else "text"
    if canon[0] == "dec":
        return f"numeric({canon[1]}, {canon[2]})"
    return str(names.get(canon[0], canon[0]))


def postgres_type(data_type: str, length: int | None, precision: int | None, scale: int | None) -> tuple[Any, ...]:
    dt = data_type.lower()
    simple = {
        "bigint": ("int64",),
        "integer": ("int32",),
        "smallint": ("int16",),
        "boolean": ("bool",),
        "timestamp with time zone": ("ts",),
        "timestamp without time zone": ("ts_naive",),
        "date": ("date",),
        "jsonb": ("json",),
        "json": ("json",),
        "text": ("str", None),
    }
    if dt in simple:
        return simple[dt]
    if dt in {"character varying", "character"}:
        return ("str", length)
    if dt == "numeric":
        return ("dec", precision, scale) if precision is not None else ("dec", None, None)
    return (dt,)


_DEC = re.compile(r"(?:DECIMAL|NUMERIC)\((\d+),\s*(\d+)\)", re.I)


def duckdb_type(data_type: str) -> tuple[Any, ...]:
    dt = data_type.upper()
    if m := _DEC.fullmatch(dt):
        return ("dec", int(m.group(1)), int(m.group(2)))
    simple = {
        "BIGINT": ("int64",),
        "INTEGER": ("int32",),
        "BOOLEAN": ("bool",),
        "TIMESTAMP WITH TIME ZONE": ("ts",),
        "TIMESTAMP": ("ts_naive",),
        "DATE": ("date",),
        "JSON": ("json",),
        "VARCHAR": ("str", None),
    }
    return simple.get(dt, (dt.lower(),))


def sqlite_type(declared: str) -> tuple[Any, ...]:
    """SQLite has affinities, not types: map the declared type to the family it stores."""
    d = declared.lower()
    if "int" in d:
        return ("int_any",)
    if d.startswith(("datetime", "timestamp")):
        return ("ts",)
    if d == "date":
        return ("date",)
    if d.startswith(("decimal", "numeric", "real", "double", "float")):
        return ("dec", None, None)
    if d.startswith("bool"):
        return ("bool",)
    if any(k in d for k in ("char", "text", "clob", "json")) or not d:
        return ("str", None)
    return (d,)


def fits(want: tuple[Any, ...], got: tuple[Any, ...]) -> bool:
    if want == got:
        return True
    kind = want[0]
    if got[0] == "int_any":
        return kind in {"int64", "int32", "bool"}
    if kind == "int32":
        return bool(got[0] == "int64")
    if kind == "str":
        return bool(got[0] == "str" and (got[1] is None or (want[1] is not None and got[1] >= want[1])))
    if kind == "json":
        return bool(got[0] == "str" and got[1] is None)
    if kind == "dec":
        if got[0] != "dec":
            return False
        if got[1] is None:
            return True
        return bool(got[2] == want[2] and got[1] - got[2] >= want[1] - want[2])
    return False


def check_table(spec: TableSpec, columns: list[Column]) -> list[str]:
    """Problems with one existing table (empty list: our rows fit)."""
    by_name = {c.name: c for c in columns}
    problems: list[str] = []
    missing = [f.name for f in spec.schema if f.name not in by_name]
    if missing:
        problems.append(f"{spec.name}: missing column(s) {', '.join(missing)}")
    for f in spec.schema:
        c = by_name.get(f.name)
        if c is None:
            continue
        want = spec_type(f)
        if not fits(want, c.type):
            problems.append(f"{spec.name}.{f.name}: is {c.shown}, expected {show(want)}")
        elif f.nullable and not c.nullable and f.name != "id":
            problems.append(f"{spec.name}.{f.name}: is NOT NULL, but the snapshot has NULLs there")
    ours = set(spec.column_names)
    for c in columns:
        if c.name not in ours and not c.nullable and not c.has_default:
            problems.append(f"{spec.name}.{c.name}: extra NOT NULL column without a default (demoseed cannot fill it)")
    return problems
