"""The normalize runner: the raw GitHub cache -> flat ``gh_*`` tables, kept under ``data/work/normalize/<key>/``.

The key is a hash of the repos and of what is cached for them, so
``demoseed normalize`` and ``demoseed snapshot`` share one output per input
and never remove each other's. ``demoseed normalize`` also records its
newest output in ``data/work/normalize/latest.json``: ``demoseed generate``
blends from there by default.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline import paths
from pipeline.base.atomic import atomic_write_bytes
from pipeline.base.errors import UserError
from pipeline.base.parquet import read_table
from pipeline.base.schemas import NORMALIZED_TABLES
from pipeline.stagecache import cached_stage, stage_key, write_stage

STAGE = "normalize"
LATEST = "latest.json"


@dataclass(frozen=True)
class NormalizeResult:
    """Normalized tables of ``repos`` (empty when nothing is cached) and where they are kept."""

    repos: tuple[str, ...]
    tables: dict[str, pa.Table]
    report: dict[str, Any]
    raw_rows: int
    raw_fingerprint: str
    directory: Path
    cached: bool

    @property
    def prs(self) -> int:
        return self.tables["gh_pull_requests"].num_rows if self.raw_rows else 0


def run_normalize(repos: Sequence[str] | None, *, raw_dir: Path | None = None) -> NormalizeResult:
    """Normalize the cached PRs of ``repos`` (None: every cached repo), reusing an output of the same inputs."""
    from stages.fetch import load_raw, raw_fingerprint
    from stages.fetch.cache import cached_repos

    raw_dir = raw_dir or paths.raw_github_dir()
    names = tuple(repos) if repos is not None else tuple(cached_repos(raw_dir))
    fingerprint = raw_fingerprint(raw_dir, list(names))
    key = stage_key(STAGE, {"repos": sorted(names)}, {"raw": fingerprint})

    def compute() -> tuple[dict[str, pa.Table], dict[str, Any]]:
        raw = load_raw(raw_dir, list(names))
        if raw.num_rows == 0:
            return {}, {"raw_rows": 0}
        from stages.normalize import normalize  # polars: only with something to normalize

        result = normalize(raw)
        return result.tables, {"raw_rows": raw.num_rows, "report": result.report}

    work = paths.work_dir()
    tables, meta, hit = cached_stage(work, STAGE, key, compute)
    return NormalizeResult(
        repos=names,
        tables=tables,
        report=meta.get("report") or {},
        raw_rows=int(meta.get("raw_rows") or 0),
        raw_fingerprint=fingerprint,
        directory=work / STAGE / key,
        cached=hit,
    )


def export(result: NormalizeResult, output: Path) -> None:
    """Write a normalize result to a directory of the user's choice (the stage-cache layout)."""
    write_stage(output, result.tables, {"raw_rows": result.raw_rows, "report": result.report})


def mark_latest(result: NormalizeResult) -> None:
    """Record ``result`` as the newest ``demoseed normalize`` output (``generate``'s default real data)."""
    doc = {"directory": result.directory.name, "repos": list(result.repos)}
    atomic_write_bytes(paths.work_dir() / STAGE / LATEST, (json.dumps(doc, indent=2) + "\n").encode())


def latest_output() -> Path | None:
    """The newest ``demoseed normalize`` output, or None."""
    root = paths.work_dir() / STAGE
    try:
        doc = json.loads((root / LATEST).read_text(encoding="utf-8"))
        directory = root / str(doc["directory"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return directory if (directory / "gh_pull_requests.parquet").is_file() else None


def read_normalized(directory: Path) -> dict[str, pa.Table]:
    """Normalized ``gh_*.parquet`` files of a directory (``--real-data``); gh_pull_requests is required."""
    if not directory.is_dir():
        raise UserError(f"--real-data {directory}: no such directory (it should hold normalized gh_*.parquet files)")
    tables = {}
    for s in NORMALIZED_TABLES:
        path = directory / f"{s.name}.parquet"
        if path.is_file():
            tables[s.name] = read_table(path, s)
    if "gh_pull_requests" not in tables:
        raise UserError(f"--real-data {directory}: no gh_pull_requests.parquet; run 'demoseed normalize' first")
    return tables
