"""Deterministic, atomic, schema-checked Parquet I/O.

* :func:`conform` checks a table against its :class:`TableSpec` (names, order,
  types, nullability, varchar lengths) and fixes only representation
  differences (large_string vs string, int widths that fit, timestamp units);
  anything else is a :class:`SchemaError` naming the table and column.
* :func:`write_table` sorts rows by the spec's order, writes with pinned
  settings and no volatile metadata to a temporary file, fsyncs and renames:
  a crash never leaves a half-written file. Same rows => same bytes. A table
  it returned, written again (a stage output kept in ``data/work/``, then put
  in a snapshot), is not encoded twice: the bytes of recent small tables are
  remembered by the table object.
* :func:`read_table` reads and checks a file; an unreadable file is an
  :class:`IntegrityError` saying what to do.
* :func:`content_hash` hashes the canonical rows (values, not file bytes), so
  it survives a Parquet library upgrade.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.base.atomic import atomic_target
from pipeline.base.errors import IntegrityError, SchemaError
from pipeline.base.schemas import TableSpec

# Pinned writer settings: changing any of these changes snapshot bytes, so it
# is a snapshot format change (bump manifest.FORMAT_VERSION).
WRITE_OPTIONS = dict(
    compression="zstd",
    compression_level=3,
    use_dictionary=True,
    write_statistics=True,
    data_page_size=1 << 20,
    version="2.6",
    data_page_version="1.0",
    use_deprecated_int96_timestamps=False,
    coerce_timestamps="us",
    allow_truncated_timestamps=False,
    store_schema=True,
    write_page_index=False,
    write_page_checksum=False,
)
ROW_GROUP_SIZE = 1 << 20


def _is_str(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _compatible(src: pa.DataType, dst: pa.DataType) -> bool:
    """Whether src may be cast to dst as a mere representation change."""
    if pa.types.is_dictionary(src):
        return _compatible(src.value_type, dst)
    if pa.types.is_null(src):
        return True
    if _is_str(dst):
        return _is_str(src)
    if pa.types.is_integer(dst):
        return bool(pa.types.is_integer(src))
    if pa.types.is_timestamp(dst):
        return bool(pa.types.is_timestamp(src) and (src.tz or "") in {dst.tz or "", "UTC" if dst.tz else ""})
    if pa.types.is_decimal(dst):
        return bool(pa.types.is_decimal(src) and src.scale == dst.scale)
    if pa.types.is_date(dst):
        return bool(pa.types.is_date(src))
    if pa.types.is_floating(dst):
        return bool(pa.types.is_floating(src) or pa.types.is_integer(src))
    if pa.types.is_boolean(dst):
        return bool(pa.types.is_boolean(src))
    if pa.types.is_list(dst) or pa.types.is_large_list(dst):
        return bool(
            (pa.types.is_list(src) or pa.types.is_large_list(src) or pa.types.is_list_view(src))
            and (_compatible(src.value_type, dst.value_type))
        )
    if pa.types.is_struct(dst):
        if not pa.types.is_struct(src):
            return False
        names = {src.field(i).name: src.field(i).type for i in range(src.num_fields)}
        return all(
            dst.field(i).name not in names or _compatible(names[dst.field(i).name], dst.field(i).type)
            for i in range(dst.num_fields)
        )
    return bool(src == dst)


def conform(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Return ``table`` in exactly the spec's schema, or raise SchemaError."""
    got = table.schema.names
    missing = [c for c in spec.column_names if c not in got]
    extra = [c for c in got if c not in spec.column_names]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(extra)}")
        raise SchemaError(f"table {spec.name}: {'; '.join(parts)}")
    cols = []
    for f in spec.schema:
        col = table.column(f.name)
        if col.type != f.type:
            if not _compatible(col.type, f.type):
                raise SchemaError(f"table {spec.name} column {f.name}: expected {f.type}, got {col.type}")
            try:
                col = col.cast(f.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaError(f"table {spec.name} column {f.name}: cannot store as {f.type}: {exc}") from None
        if not f.nullable and col.null_count:
            raise SchemaError(f"table {spec.name} column {f.name}: {col.null_count} null value(s) in a NOT NULL column")
        cols.append(col)
    out = pa.Table.from_arrays(cols, schema=spec.schema)
    for name, limit in spec.max_lengths().items():
        col = out.column(name)
        if len(col) and col.null_count < len(col):
            longest = pc.max(pc.utf8_length(col)).as_py()
            if longest is not None and longest > limit:
                raise SchemaError(
                    f"table {spec.name} column {name}: a value of {longest} characters exceeds varchar({limit})"
                )
    return out


def sort_rows(table: pa.Table, spec: TableSpec) -> pa.Table:
    if not spec.order_by or table.num_rows < 2:
        return table
    idx = pc.sort_indices(table, sort_keys=[(c, "ascending", "at_end") for c in spec.order_by])
    # Generated tables come in order already: then the take would only copy every column (the same rows).
    if np.array_equal(idx.to_numpy(), np.arange(table.num_rows, dtype=np.uint64)):
        return table
    return table.take(idx)


@dataclass(frozen=True)
class _Encoded:
    table: weakref.ref[pa.Table]  # the table write_table returned (a dead reference: the entry is stale)
    spec: TableSpec
    sorted: bool
    data: pa.Buffer


# Encoded in memory (then written in one go) up to this many bytes of Arrow data; larger tables stream to the file.
ENCODE_IN_MEMORY_MAX = 32 << 20
_REMEMBER_MAX = 64 << 20  # bytes of Parquet kept for tables that may be written again
_encoded: OrderedDict[int, _Encoded] = OrderedDict()  # by id() of the table, oldest first
_encoded_lock = threading.RLock()


def _forget(key: int) -> None:
    with _encoded_lock:
        entry = _encoded.get(key)
        if entry is not None and entry.table() is None:
            del _encoded[key]


def _remember(table: pa.Table, spec: TableSpec, sorted_: bool, data: pa.Buffer) -> None:
    key = id(table)
    entry = _Encoded(weakref.ref(table, lambda _ref: _forget(key)), spec, sorted_, data)
    with _encoded_lock:
        _encoded[key] = entry
        total = sum(e.data.size for e in _encoded.values())
        while total > _REMEMBER_MAX and _encoded:
            total -= _encoded.popitem(last=False)[1].data.size


def _recall(table: pa.Table, spec: TableSpec, sort: bool) -> pa.Buffer | None:
    """The bytes ``write_table(table, spec, sort=sort)`` writes, when ``table`` is one it returned lately.

    Such a table is already conformed (and sorted when it was written sorted): writing it again gives the
    same rows in the same order, hence the same bytes."""
    with _encoded_lock:
        entry = _encoded.get(id(table))
    if entry is None or entry.table() is not table or entry.spec is not spec or (sort and not entry.sorted):
        return None
    return entry.data


def write_table(table: pa.Table, spec: TableSpec, path: Path | str, *, sort: bool = True) -> pa.Table:
    """Check, sort and atomically write ``table``; return the table as written."""
    path = Path(path)
    data = _recall(table, spec, sort)
    if data is not None:
        out = table
    else:
        out = conform(table, spec)
        if sort:
            out = sort_rows(out, spec)
        out = out.combine_chunks() if out.num_rows else out
        if out.nbytes <= ENCODE_IN_MEMORY_MAX:
            sink = pa.BufferOutputStream()
            pq.write_table(out, sink, row_group_size=ROW_GROUP_SIZE, **WRITE_OPTIONS)
            data = sink.getvalue()
            _remember(out, spec, sort, data)
    with atomic_target(path) as tmp:
        if data is None:
            pq.write_table(out, tmp, row_group_size=ROW_GROUP_SIZE, **WRITE_OPTIONS)
        else:
            with open(tmp, "wb") as fh:
                fh.write(data)
    return out


def read_table_files(paths: list[Path], spec: TableSpec) -> pa.Table:
    """Read a table stored as one file or as parts (in row order) and check it against its spec."""
    if len(paths) == 1:
        return read_table(paths[0], spec)
    return pa.concat_tables([read_table(p, spec) for p in paths]) if paths else spec.schema.empty_table()


def read_table(path: Path | str, spec: TableSpec) -> pa.Table:
    """Read a Parquet file and check it against its spec."""
    path = Path(path)
    if not path.is_file():
        raise IntegrityError(f"table {spec.name}: file {path} is missing")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise IntegrityError(
            f"table {spec.name}: {path} is not a readable Parquet file ({exc}); re-create it or fetch a fresh copy"
        ) from None
    return conform(table, spec)
