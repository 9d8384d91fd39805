"""Helpers the snapshot-reading commands share (describe, load): which snapshot the user means."""

from __future__ import annotations

from pathlib import Path

from pipeline import paths
from pipeline.base.errors import UserError


def latest_snapshot() -> Path:
    """The most recently written snapshot directory under data/snapshots."""
    root = paths.snapshots_dir()
    candidates = list(root.glob("*/manifest.json")) if root.is_dir() else []
    if not candidates:
        raise UserError(f"no snapshot in {root}; run 'make snapshot' first or give a path")
    return max(candidates, key=lambda p: (p.stat().st_mtime_ns, str(p))).parent


def resolve_snapshot(path: Path | None, latest: bool) -> Path:
    if path is not None and latest:
        raise UserError("give either a snapshot path or --latest, not both")
    if path is None:
        return latest_snapshot()
    return path
