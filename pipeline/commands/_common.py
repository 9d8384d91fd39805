"""Option types and helpers shared by the CLI commands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from pipeline import paths
from pipeline.base.errors import UserError


class MondayType(click.ParamType):
    """An ISO date that must be a Monday (weeks run Monday to Sunday)."""

    name = "MONDAY"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date):
            day = value
        else:
            try:
                day = dt.date.fromisoformat(str(value))
            except ValueError:
                self.fail(f"{value!r} is not a date; use YYYY-MM-DD, e.g. {paths.DEFAULT_ANCHOR}", param, ctx)
        if day.weekday() != 0:
            monday = day - dt.timedelta(days=day.weekday())
            self.fail(
                f"{day.isoformat()} is a {day:%A}; the anchor must be a Monday (e.g. {monday.isoformat()})", param, ctx
            )
        return day


MONDAY = MondayType()


def latest_snapshot() -> Path:
    """The most recently written snapshot directory under data/snapshots."""
    root = paths.snapshots_dir()
    candidates = [p for p in root.glob("*/manifest.json")] if root.is_dir() else []
    if not candidates:
        raise UserError(f"no snapshot in {root}; run 'make snapshot' first or give a path")
    return max(candidates, key=lambda p: (p.stat().st_mtime_ns, str(p))).parent


def resolve_snapshot(path: Path | None, latest: bool) -> Path:
    if path is not None and latest:
        raise UserError("give either a snapshot path or --latest, not both")
    if path is None:
        return latest_snapshot()
    return path
