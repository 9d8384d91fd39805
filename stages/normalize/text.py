"""Text repair for raw GitHub tables: NUL bytes and invalid UTF-8.

PostgreSQL rejects ``\\x00`` in text and any byte sequence that is not valid
UTF-8. GitHub serves both now and then (NULs pasted into PR bodies, emoji cut
in half into a lone surrogate, which a JSON decoder that keeps surrogates turns
into CESU-8 bytes). :func:`clean_strings` walks every string leaf of a table,
top-level columns and fields nested in structs and lists alike, and removes
them. Clean leaves are returned untouched (no copy); only a leaf that really
holds invalid UTF-8 is decoded value by value, which is rare.
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc

NUL = "\x00"


def _is_str(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _fix_utf8(arr: pa.Array) -> tuple[pa.Array, int]:
    """Drop invalid UTF-8 byte sequences; return the array and rows repaired."""
    try:
        arr.validate(full=True)
        return arr, 0
    except pa.ArrowInvalid:
        pass
    binary_type = pa.large_binary() if pa.types.is_large_string(arr.type) else pa.binary()
    raw = pa.Array.from_buffers(binary_type, len(arr), arr.buffers(), null_count=arr.null_count, offset=arr.offset)
    repaired = 0
    values: list[str | None] = []
    for b in raw.to_pylist():
        if b is None:
            values.append(None)
            continue
        text = b.decode("utf-8", errors="ignore")
        if len(text.encode("utf-8")) != len(b):
            repaired += 1
        values.append(text)
    return pa.array(values, type=arr.type), repaired


def _clean_leaf(arr: pa.Array, path: str, counts: Counter[str]) -> pa.Array:
    arr, bad = _fix_utf8(arr)
    if bad:
        counts[f"{path}: invalid UTF-8 removed"] += bad
    has_nul = pc.match_substring(arr, NUL)
    n_nul = pc.sum(has_nul).as_py() or 0
    if n_nul:
        counts[f"{path}: NUL bytes removed"] += n_nul
        arr = pc.replace_substring(arr, NUL, "")
    return arr


def _clean(arr: pa.Array, path: str, counts: Counter[str]) -> pa.Array:
    t = arr.type
    if _is_str(t):
        return _clean_leaf(arr, path, counts)
    if pa.types.is_struct(t):
        if not any(_has_str(t.field(i).type) for i in range(t.num_fields)):
            return arr
        children = [_clean(arr.field(i), f"{path}.{t.field(i).name}", counts) for i in range(t.num_fields)]
        mask = arr.is_null() if arr.null_count else None
        return pa.StructArray.from_arrays(children, fields=list(t), mask=mask)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        if not _has_str(t.value_type):
            return arr
        values = _clean(arr.values, f"{path}[]", counts)
        cls = pa.LargeListArray if pa.types.is_large_list(t) else pa.ListArray
        mask = arr.is_null() if arr.null_count else None
        return cls.from_arrays(arr.offsets, values, type=t, mask=mask)
    return arr


def _has_str(t: pa.DataType) -> bool:
    if _is_str(t):
        return True
    if pa.types.is_struct(t):
        return any(_has_str(t.field(i).type) for i in range(t.num_fields))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _has_str(t.value_type)
    return False


def clean_strings(table: pa.Table) -> tuple[pa.Table, dict[str, int]]:
    """Remove NUL bytes and invalid UTF-8 from every string in ``table``.

    Returns the repaired table (same schema) and, per column path, how many
    values were repaired (e.g. ``{"body: NUL bytes removed": 2}``).
    """
    counts: Counter[str] = Counter()
    table = table.combine_chunks()
    cols = []
    for f in table.schema:
        col = table.column(f.name)
        arr = (
            col.chunk(0)
            if col.num_chunks == 1
            else pa.concat_arrays(col.chunks)
            if col.num_chunks
            else pa.array([], f.type)
        )
        cols.append(_clean(arr, f.name, counts) if _has_str(f.type) else arr)
    return pa.Table.from_arrays(cols, schema=table.schema), dict(sorted(counts.items()))
