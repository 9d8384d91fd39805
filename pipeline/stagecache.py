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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline import __version__
from pipeline.base.atomic import atomic_directory, atomic_write_bytes
from pipeline.base.errors import UserError
from pipeline.base.hashing import content_hash
from pipeline.base.parquet import read_table, write_table
from pipeline.base.schemas import spec

log = logging.getLogger(__name__)


def stage_key(stage: str, params: Any, input_hashes: dict[str, str] | None = None) -> str:
    basis = {"stage": stage, "version": __version__, "params": params, "inputs": input_hashes or {}}
    text = json.dumps(basis, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def tables_fingerprint(tables: dict[str, pa.Table]) -> dict[str, str]:
    return {name: content_hash(t) for name, t in sorted(tables.items())}


def cached_stage(
    work_dir: Path,
    stage: str,
    key: str,
    compute: Callable[[], tuple[dict[str, pa.Table], dict[str, Any]]],
) -> tuple[dict[str, pa.Table], dict[str, Any], bool]:
    """Return (tables, meta, hit): stored output for ``key``, or ``compute()`` stored."""
    directory = work_dir / stage / key
    meta_path = directory / "meta.json"
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            tables = {name: read_table(directory / f"{name}.parquet", spec(name)) for name in meta["tables"]}
            return tables, meta["meta"], True
        except (UserError, KeyError, ValueError, OSError) as exc:
            log.warning("stage cache %s/%s unreadable (%s); recomputing", stage, key, exc)
    tables, meta = compute()
    with atomic_directory(directory) as tmp:
        written = {name: write_table(t, spec(name), tmp / f"{name}.parquet") for name, t in tables.items()}
        atomic_write_bytes(
            tmp / "meta.json",
            json.dumps({"tables": sorted(written), "meta": meta}, sort_keys=True, indent=2, default=str).encode(),
        )
    return written, meta, False
