"""Rows as Arrow: page checkpoints and the newest version of each PR.

A page file is a checkpoint, not a product: its rows are checked against the
``gh_raw_pull_requests`` spec (:func:`pipeline.base.parquet.conform`) and written
as an uncompressed Arrow IPC file, because a Parquet write of a 25-row page
of this nested schema (51 leaf columns) costs ~2 ms of CPU against ~0.05 ms
for IPC, on every page of every repo (see bench/bench_fetch.py). Pages written
as ``.parquet`` by older versions are still read. :func:`dedupe_newest` keeps
one row per (repo, number): the newest ``updatedAt``, the later fetch on ties.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.base.atomic import atomic_write_bytes
from pipeline.base.errors import IntegrityError
from pipeline.base.parquet import conform
from pipeline.base.schemas import GH_RAW_PULL_REQUESTS
from stages.fetch.source import Row

SPEC = GH_RAW_PULL_REQUESTS
ADDED_COLUMNS = ("withheld_fields",)  # newer than some caches (all nullable, at the end of the spec)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: object) -> object:
    """Replace lone UTF-16 surrogates (GitHub's JSON can hold half an emoji, e.g.
    "\\ud83d") with U+FFFD: they cannot be stored as UTF-8."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def rows_to_table(rows: Sequence[Row]) -> pa.Table:
    """Rows as a ``gh_raw_pull_requests`` table."""
    if not rows:
        return SPEC.schema.empty_table()
    try:
        return pa.Table.from_pylist(list(rows), schema=SPEC.schema)
    except UnicodeEncodeError:  # rare: only then pay for a walk over every value
        return pa.Table.from_pylist([_scrub(r) for r in rows], schema=SPEC.schema)


def write_page(table: pa.Table, path: Path) -> None:
    """Checkpoint a page's rows atomically (fsynced) as an Arrow IPC file (see module doc)."""
    out = conform(table, SPEC).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, out.schema) as writer:
        writer.write_table(out)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def read_rows(path: Path) -> pa.Table:
    """The rows of a page checkpoint or a compacted file, checked against the spec.

    Columns added to the spec since a file was written (:data:`ADDED_COLUMNS`)
    are read as null: a cache written by an older version still loads.
    """
    try:
        if path.suffix == ".parquet":
            table = pq.read_table(path)
        else:
            table = pa.ipc.open_file(pa.py_buffer(path.read_bytes())).read_all()
    except (pa.ArrowException, OSError) as exc:
        raise IntegrityError(
            f"{path} is not a readable cache file ({exc}); run `demoseed fetch --refresh` for its repo"
        ) from None
    for name in ADDED_COLUMNS:
        if name not in table.schema.names:
            spec_field = SPEC.schema.field(name)
            table = table.append_column(spec_field, pa.nulls(table.num_rows, spec_field.type))
    return conform(table, SPEC)


def dedupe_newest(table: pa.Table) -> pa.Table:
    """One row per (repo, number): the newest ``updatedAt``, later rows winning ties."""
    n = table.num_rows
    if n < 2:
        return table
    t = table.append_column("__seq", pa.array(np.arange(n, dtype=np.int64)))
    order = [("repo", "ascending"), ("number", "ascending"), ("updatedAt", "descending"), ("__seq", "descending")]
    t = t.take(pc.sort_indices(t, sort_keys=order))
    repo = t.column("repo").to_numpy(zero_copy_only=False)
    number = t.column("number").to_numpy(zero_copy_only=False)
    keep = np.ones(n, dtype=bool)
    keep[1:] = (repo[1:] != repo[:-1]) | (number[1:] != number[:-1])
    return t.filter(pa.array(keep)).drop_columns(["__seq"])


def combine(parts: Sequence[pa.Table]) -> pa.Table:
    """Tables of rows as one, deduped by :func:`dedupe_newest` (later tables win ties)."""
    full = [p for p in parts if p.num_rows]
    if not full:
        return SPEC.schema.empty_table()
    return dedupe_newest(pa.concat_tables(full) if len(full) > 1 else full[0])
