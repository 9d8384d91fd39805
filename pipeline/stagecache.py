"""Content-addressed stage outputs under ``data/work/<stage>/<key>/``.

A stage's output is kept as Parquet tables plus ``meta.json``; its key is a
hash of the stage name, the tool version, the stage's parameters and the
content hashes of its inputs. When the same key is asked again the stored
tables are read back instead of recomputing (``meta.json`` is written last,
so a crash mid-write is just a miss).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import __version__
from pipeline.base.atomic import atomic_directory, atomic_write_bytes, remove_stale_leftovers
from pipeline.base.errors import UserError

if TYPE_CHECKING:  # pyarrow loads with the first table read or written, not with stage_key
    import pyarrow as pa

log = logging.getLogger(__name__)

META_NAME = "meta.json"


def stage_key(stage: str, params: Any, input_hashes: Mapping[str, Any] | None = None) -> str:
    basis = {"stage": stage, "version": __version__, "params": params, "inputs": input_hashes or {}}
    text = json.dumps(basis, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def tables_fingerprint(tables: dict[str, pa.Table]) -> dict[str, str]:
    from pipeline.base.hashing import content_hash

    return {name: content_hash(t) for name, t in sorted(tables.items())}


def read_stage(directory: Path) -> tuple[dict[str, pa.Table], dict[str, Any]] | None:
    """The tables and meta stored in a stage directory, or None when it holds no complete output."""
    from pipeline.base.parquet import read_table
    from pipeline.base.schemas import spec

    meta_path = directory / META_NAME
    if not meta_path.is_file():
        return None
    try:
        doc = json.loads(meta_path.read_text(encoding="utf-8"))
        tables = {name: read_table(directory / f"{name}.parquet", spec(name)) for name in doc["tables"]}
        meta: dict[str, Any] = doc["meta"]
    except (UserError, KeyError, TypeError, ValueError, OSError) as exc:
        log.warning("stage output %s unreadable (%s); recomputing", directory, exc)
        return None
    return tables, meta


def write_stage(directory: Path, tables: dict[str, pa.Table], meta: dict[str, Any]) -> dict[str, pa.Table]:
    """Replace ``directory`` atomically with ``tables`` (Parquet) and ``meta.json`` (written last)."""
    from pipeline.base.parquet import write_table
    from pipeline.base.schemas import spec

    with atomic_directory(directory) as tmp:
        written = {name: write_table(t, spec(name), tmp / f"{name}.parquet") for name, t in tables.items()}
        doc = {"tables": sorted(written), "meta": meta}
        atomic_write_bytes(tmp / META_NAME, json.dumps(doc, sort_keys=True, indent=2, default=str).encode())
    return written


def cached_stage(
    work_dir: Path,
    stage: str,
    key: str,
    compute: Callable[[], tuple[dict[str, pa.Table], dict[str, Any]]],
) -> tuple[dict[str, pa.Table], dict[str, Any], bool]:
    """Return (tables, meta, hit): stored output for ``key``, or ``compute()`` stored."""
    directory = work_dir / stage / key
    remove_stale_leftovers(work_dir / stage)  # a killed run's half-written outputs (demoseed's own directory)
    stored = read_stage(directory)
    if stored is not None:
        return stored[0], stored[1], True
    tables, meta = compute()
    return write_stage(directory, tables, meta), meta, False
