"""Shared helpers of the simulators (``simulated/__init__.py``, ``simulated/operations.py``) and the PR
skeleton: the time window, week buckets, column access and table building."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.base.parquet import conform
from pipeline.base.schemas import spec
from stages.generate.draws import US_PER_DAY, text

US_PER_MIN = 60_000_000
CHECK_NAMES = ("ci / test", "ci / lint", "ci / build", "ci / typecheck")
EFFORTS = np.array(["none", "minor", "moderate", "major"], dtype=object)
SOURCES = np.array(["github", "slack", "web"], dtype=object)


def window_us(week_starts: Sequence[dt.date]) -> tuple[int, int]:
    """(start, end) of the window in epoch microseconds; end is exclusive."""
    start = dt.datetime.combine(week_starts[0], dt.time(), dt.UTC)
    end = dt.datetime.combine(week_starts[-1], dt.time(), dt.UTC) + dt.timedelta(days=7)
    return int(start.timestamp()) * 1_000_000, int(end.timestamp()) * 1_000_000


def week_index(us: np.ndarray, week_starts: Sequence[dt.date]) -> np.ndarray:
    """The window week of each epoch-microsecond time, clipped into the window."""
    start, _ = window_us(week_starts)
    return np.clip((np.asarray(us, np.int64) - start) // (7 * US_PER_DAY), 0, len(week_starts) - 1)


def timestamps_us(table: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A timestamp column as (epoch microseconds with 0 for null, valid mask)."""
    col = table.column(name)
    valid = pc.is_valid(col).to_numpy(zero_copy_only=False)
    us = pc.fill_null(col.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    return us, valid


def int_column(table: pa.Table, name: str, fill: int = 0) -> np.ndarray:
    """An integer column as int64, nulls replaced by ``fill``."""
    return np.asarray(pc.fill_null(table.column(name), fill).to_numpy(zero_copy_only=False), np.int64)


def per_week(value: float | np.ndarray, weeks: int) -> np.ndarray:
    """A scalar or per-week parameter as one float per week."""
    arr = np.asarray(value, np.float64)
    return np.full(weeks, float(arr)) if arr.ndim == 0 else arr


def per_row(value: float | np.ndarray, n: int) -> np.ndarray:
    """A scalar or per-row parameter as one float per row."""
    arr = np.asarray(value, np.float64)
    return np.full(n, float(arr)) if arr.ndim == 0 else arr


def group_code(team: np.ndarray, week: np.ndarray, flag: np.ndarray | None = None) -> np.ndarray:
    """A compact group code for team x week (x a boolean flag)."""
    g = team.astype(np.int64) * 1024 + np.asarray(week, np.int64)
    return g if flag is None else g * 2 + np.asarray(flag, np.int64)


def clamp_after(base: np.ndarray, delay: np.ndarray, end: int) -> np.ndarray:
    """base + delay, squeezed so the result stays strictly before ``end`` and after ``base``."""
    room = np.maximum(end - 1_000_000 - base, 1)
    return np.asarray(base + np.maximum(np.minimum(delay, room), 1).astype(np.int64))


def build_table(name: str, cols: dict[str, object]) -> pa.Table:
    """The columns as the named table, conformed to its spec."""
    return conform(pa.table(cols), spec(name))


def take_strings(values: np.ndarray, idx: np.ndarray) -> pa.Array:
    """``values[idx]`` as a string column."""
    return pa.array(values, type=pa.string()).take(pa.array(idx))


def merged_mask(prs: pa.Table) -> np.ndarray:
    """Which PRs are merged (state merged and a merged_at)."""
    state_merged = pc.equal(prs.column("state"), text("merged")).to_numpy(zero_copy_only=False)
    return np.asarray(state_merged & pc.is_valid(prs.column("merged_at")).to_numpy(zero_copy_only=False))


def event_week(prs: pa.Table, week_starts: Sequence[dt.date]) -> np.ndarray:
    """The merge week for merged PRs, else the creation week."""
    merged_us, merged_ok = timestamps_us(prs, "merged_at")
    created_us, _ = timestamps_us(prs, "pr_created_at")
    return week_index(np.where(merged_ok, merged_us, created_us), week_starts)
