"""Hashes: sha256 of a file's bytes and a content hash of a table's canonical
rows (values, not file bytes), which survives a Parquet library upgrade
(:func:`file_sha256` lives in :mod:`pipeline.base.filehash`, which imports nothing heavy)."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.base.filehash import file_sha256

__all__ = ["content_hash", "file_sha256"]


def _is_str(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _np_bytes(arr: pa.Array, dtype: str) -> bytes:
    return np.ascontiguousarray(arr.to_numpy(zero_copy_only=False).astype(dtype, copy=False)).tobytes()


def _validity(arr: pa.Array) -> bytes:
    if arr.null_count == 0:  # the same bytes as below, without a compute call
        return np.packbits(np.ones(len(arr), np.bool_)).tobytes()
    return np.packbits(arr.is_valid().to_numpy(zero_copy_only=False)).tobytes()


def _no_nulls(arr: pa.Array, fill: Any) -> pa.Array:
    return arr if arr.null_count == 0 else pc.fill_null(arr, fill)


def _column_bytes(arr: pa.Array) -> list[bytes]:
    t = arr.type
    valid = _validity(arr)
    if _is_str(t):
        a = _no_nulls(arr if pa.types.is_large_string(t) else arr.cast(pa.large_string()), "")
        offsets = np.frombuffer(a.buffers()[1], dtype="<i8")[a.offset : a.offset + len(a) + 1]
        data = a.buffers()[2]
        start, end = (int(offsets[0]), int(offsets[-1])) if len(offsets) else (0, 0)
        body = data.to_pybytes()[start:end] if data is not None else b""
        return [valid, (offsets - offsets[0]).astype("<i8").tobytes() if len(offsets) else b"", body]
    if pa.types.is_boolean(t):
        return [valid, _np_bytes(_no_nulls(arr, False), "u1")]
    if pa.types.is_date32(t):
        arr = arr.cast(pa.int32())
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_integer(t):
        return [valid, _np_bytes(_no_nulls(arr if arr.type == pa.int64() else arr.cast(pa.int64()), 0), "<i8")]
    if pa.types.is_floating(t):
        return [valid, _np_bytes(_no_nulls(arr if arr.type == pa.float64() else arr.cast(pa.float64()), 0.0), "<f8")]
    if pa.types.is_decimal(t):
        a = pc.fill_null(arr, pa.scalar(Decimal(0), type=t))
        a = pa.concat_arrays([a])  # fresh buffers, offset 0
        return [valid, a.buffers()[1].to_pybytes()[: 16 * len(a)]]
    rows = [json.dumps(v, sort_keys=True, default=str, separators=(",", ":")) for v in arr.to_pylist()]
    return [valid, "\n".join(rows).encode("utf-8")]


def content_hash(table: pa.Table) -> str:
    """sha256 of the canonical rows: column names, types and values in row order."""
    h = hashlib.sha256()
    h.update(f"rows={table.num_rows}\n".encode())
    for f in table.schema:
        h.update(f"col={f.name}:{f.type}\n".encode())
        col = table.column(f.name)
        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        for part in _column_bytes(arr):
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
    return h.hexdigest()
