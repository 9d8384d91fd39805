"""Helpers the snapshot-reading commands share (describe, load): which snapshot the user means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

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


class SnapshotPath(click.Path):
    """A snapshot directory, or ``REMOTE/NAME`` (s3://, gs://, az://, file://, https://): pulled into the
    local cache first (verified, and its signature checked against the trust file), its directory there."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from pipeline.remote.store import is_remote

        if isinstance(value, str) and is_remote(value):
            from pipeline.remote.share import pull_for_reading

            return pull_for_reading(value)
        return super().convert(value, param, ctx)


def snapshot_path(*, file_okay: bool = True) -> SnapshotPath:
    """The click type of a snapshot argument: a path, or REMOTE/NAME."""
    return SnapshotPath(path_type=Path, file_okay=file_okay)
