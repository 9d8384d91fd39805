"""Vectorized keyed draws: stratified quotas, systematic sampling, hex ids, time helpers.

Everything here works on whole numpy columns. Rows carry a stable integer key
(a PR's packed key or id) and a group code (e.g. team x week); every draw is a
function of (key, stream parts) only, so adding rows to *other* groups never
changes a row's value.

* :func:`stratified_uniform` gives each row of a group a quantile
  ``(rank + phase) / n`` (rank = a keyed random permutation of the group), so a
  categorical or continuous draw made from it realizes the target
  distribution within one row per group, even for a 5-person team.
* :func:`systematic` flags rows with per-row probabilities so that each
  group's count is ``floor`` or ``ceil`` of the sum of its probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

import numpy as np
import pyarrow as pa

from pipeline.base.appdecimal import decimal_from_units, hours_units
from pipeline.base.rng import keyed_u64, keyed_uniform

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
TS_TYPE = pa.timestamp("us", tz="UTC")


def group_sort(groups: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Indices sorting rows by (group, order); one radix-friendly key when groups fit in 31 bits.

    ``order`` is a keyed random uint64 (or any int64); ties keep input order (stable), and
    a team's rows keep their relative input order whatever the other teams are.
    """
    groups = np.asarray(groups, np.int64)
    if len(groups) and groups.min() >= 0 and groups.max() < (1 << 31):
        o = np.asarray(order)
        if not np.issubdtype(o.dtype, np.integer):
            return np.lexsort((order, groups))
        if o.dtype == np.uint64:
            low = o >> np.uint64(33)
        else:
            o = o.astype(np.int64)
            lo_, hi_ = o.min(), o.max()
            if hi_ - lo_ >= (1 << 31):
                return np.lexsort((order, groups))
            low = (o - lo_).astype(np.uint64)
        key = (groups.astype(np.uint64) << np.uint64(31)) | low
        return np.argsort(key, kind="stable")
    return np.lexsort((order, groups))


def rank_within(groups: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each row within its group when sorted by ``order``; and its group's size."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    idx = group_sort(groups, order)
    g = groups[idx]
    new = np.empty(n, bool)
    new[0] = True
    new[1:] = g[1:] != g[:-1]
    starts = np.flatnonzero(new)
    run = np.repeat(starts, np.diff(np.append(starts, n)))
    sizes_sorted = np.repeat(np.diff(np.append(starts, n)), np.diff(np.append(starts, n)))
    rank = np.empty(n, np.int64)
    size = np.empty(n, np.int64)
    rank[idx] = np.arange(n) - run
    size[idx] = sizes_sorted
    return rank, size


def stratified_uniform(groups: np.ndarray, keys: np.ndarray, *parts: object) -> np.ndarray:
    """One value in [0, 1) per row, evenly spread within each group (one row per 1/n slice)."""
    order = keyed_u64(keys, *parts, "order")
    rank, size = rank_within(groups, order)
    phase = keyed_uniform(groups, *parts, "phase")
    return np.asarray((rank + phase) / np.maximum(size, 1))


def _group_cumsum(values: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Running sums restarting at each group (rows sorted by group; ``starts``/``lens`` the groups).

    Each group is summed from 0 in row order, so its sums are the same floats whatever groups precede
    it (a global running sum minus the group's base is not): teams generated apart agree bit for bit.
    Long groups one by one, short ones together one position at a time.
    """
    out = values.copy()
    long_ = lens > _LONG_GROUP
    for s, m in zip(starts[long_].tolist(), lens[long_].tolist()):
        out[s : s + m] = np.cumsum(values[s : s + m])
    short_starts, short_lens = starts[~long_], lens[~long_]
    for j in range(1, int(short_lens.max(initial=0))):
        rows = short_starts[short_lens > j] + j
        out[rows] += out[rows - 1]
    return out


_LONG_GROUP = 256


def systematic(
    p: np.ndarray,
    groups: np.ndarray,
    keys: np.ndarray,
    *parts: object,
    phase: float | None = None,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """Flag rows with probability ~p; each group's count is floor/ceil of its sum of p.

    With a keyed phase (default) the count is floor or ceil at random (exact in
    expectation); ``phase=0.5`` rounds each group's count to the nearest integer.
    """
    n = len(p)
    if n == 0:
        return np.zeros(0, bool)
    p = np.clip(np.asarray(p, np.float64), 0.0, 1.0)
    idx = group_sort(groups, keyed_u64(keys, *parts, "order") if order is None else order)
    g = np.asarray(groups, np.int64)[idx]
    ps = p[idx]
    new = np.empty(n, bool)
    new[0] = True
    new[1:] = g[1:] != g[:-1]
    starts = np.flatnonzero(new)
    lens = np.diff(np.append(starts, n))
    within = _group_cumsum(ps, starts, lens)
    if phase is None:
        ph = np.repeat(keyed_uniform(g[starts], *parts, "phase"), lens)
    else:
        ph = np.full(n, float(phase))
    hi = within + ph
    flag_sorted = np.floor(hi) - np.floor(hi - ps) > 0
    out = np.empty(n, bool)
    out[idx] = flag_sorted
    return out


def categorical(u: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Category index per row from quantiles ``u`` and per-row (n, k) or shared (k,) probabilities."""
    probs = np.asarray(probs, np.float64)
    cum = np.cumsum(probs, axis=-1)
    cum = cum / cum[..., -1:]
    if cum.ndim == 1:
        return np.searchsorted(cum[:-1], u, side="right")
    return np.asarray((u[:, None] >= cum[:, :-1]).sum(axis=1))


def int_between(keys: np.ndarray, lo: np.ndarray | int, hi: np.ndarray | int, *parts: object) -> np.ndarray:
    """A keyed integer in [lo, hi] per key."""
    lo = np.asarray(lo, np.int64)
    span = np.asarray(hi, np.int64) - lo + 1
    return np.asarray(lo + np.minimum((keyed_uniform(keys, *parts) * span).astype(np.int64), span - 1))


def lognormal_factor(u: np.ndarray, sigma: float) -> np.ndarray:
    """Multiplicative noise with mean 1 from quantiles ``u`` (lognormal inverse CDF).

    Computed by linear interpolation in a table built with Python's ``math``
    (correctly rounded libm), because numpy's SIMD exp/log may differ in the
    last bit between CPUs, and a snapshot must be byte-identical on any machine.
    Only the table entries the interpolation reads (the two grid points around
    each quantile) are computed; the others are never read and stay 0.
    """
    grid, z = _norm_ppf_grid()
    x = np.clip(u, grid[0], grid[-1])
    below = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, len(grid) - 1)
    need = np.unique(np.concatenate([below, np.minimum(below + 1, len(grid) - 1)]))
    sigma = float(sigma)
    shift = sigma * sigma / 2.0
    table = np.zeros(len(grid), np.float64)
    # Elementwise IEEE multiply/subtract, then a correctly rounded exp per value (math.exp, not np.exp).
    table[need] = [math.exp(v) for v in (sigma * z[need] - shift).tolist()]
    return np.asarray(np.interp(x, grid, table))


_GRID_SIZE = 1 << 14
_PPF_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
          -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
_PPF_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
          -1.328068155288572e01)  # fmt: skip
_PPF_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
          4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
_PPF_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_PPF_LOW = 0.02425


@cache
def _norm_ppf_grid() -> tuple[np.ndarray, np.ndarray]:
    """The table's quantile grid ``(i + 0.5) / n`` and :func:`_norm_ppf` at each point (the same for every sigma).

    The central region is the same rational function evaluated on whole columns:
    only IEEE ``+ * /``, each correctly rounded, in the same order as the scalar
    code, so every value is bit-identical to ``_norm_ppf(p)``; the tails need
    ``log`` and are computed one by one with :mod:`math`.
    """
    n = _GRID_SIZE
    grid = (np.arange(n, dtype=np.float64) + 0.5) / n
    a, b = _PPF_A, _PPF_B
    central = (grid >= _PPF_LOW) & (grid <= 1 - _PPF_LOW)
    q = grid[central] - 0.5
    r = q * q
    num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
    z = np.empty(n, np.float64)
    z[central] = num / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    tails = np.flatnonzero(~central)
    z[tails] = [_norm_ppf(p) for p in grid[tails].tolist()]
    return grid, z


def _norm_ppf(p: float) -> float:
    """Acklam's inverse normal CDF (relative error < 1.2e-9), scalar and deterministic."""
    a, b, c, d = _PPF_A, _PPF_B, _PPF_C, _PPF_D
    if _PPF_LOW <= p <= 1 - _PPF_LOW:
        q = p - 0.5
        r = q * q
        num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
        return num / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    sign = 1.0 if p < 0.5 else -1.0
    q = math.sqrt(-2 * math.log(p if p < 0.5 else 1 - p))
    num = ((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]
    return sign * num / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)


_HEX = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype=np.uint8).reshape(256, 2)


def hex_strings(keys: np.ndarray, nchars: int, *parts: object) -> pa.Array:
    """A keyed lowercase hex string of ``nchars`` characters per key (e.g. 40 for a SHA)."""
    n = len(keys)
    words = -(-nchars // 16)
    cols = [keyed_u64(keys, *parts, "hex", i).astype("<u8") for i in range(words)]
    raw = np.stack(cols, axis=1).view(np.uint8).reshape(n, words * 8)
    chars = _HEX[raw].reshape(n, words * 16)[:, :nchars]
    buf = np.ascontiguousarray(chars).tobytes()
    offsets = np.arange(0, (n + 1) * nchars, nchars, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])


def ts_array(us: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Microseconds since the epoch (UTC) -> timestamp[us, UTC] array (null where not valid)."""
    mask = None if valid is None else ~np.asarray(valid, bool)
    return pa.array(np.asarray(us, np.int64), type=pa.int64(), mask=mask).cast(TS_TYPE)


def hours_decimal(us: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A duration in microseconds -> hours as decimal(10, 2), rounded as the app does (null where not valid)."""
    return decimal_from_units(hours_units(us), valid, 10, 2)


def decimal_array(x: np.ndarray, valid: np.ndarray | None = None, scale: int = 2, precision: int = 10) -> pa.Array:
    """Floats rounded half-even to ``scale`` digits -> decimal128(precision, scale)."""
    units = np.round(np.nan_to_num(np.asarray(x, np.float64)) * 10**scale).astype(np.int64)
    return decimal_from_units(units, valid, precision, scale)


def pick(values: Sequence[str] | np.ndarray, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """String column ``values[idx]`` (idx may be a bool array: False -> values[0]); null where mask."""
    arr = pa.array(list(values), type=pa.string())
    out = arr.take(pa.array(np.asarray(idx).astype(np.int32)))
    if mask is not None and np.asarray(mask).any():
        out = pa.compute.if_else(pa.array(~np.asarray(mask, bool)), out, pa.scalar(None, pa.string()))
    return out


def text(value: str) -> pa.Scalar:
    """A string scalar for a compute call (typed: pyarrow infers an untyped literal's type, and each
    inference tries an optional import, which fails, at some cost, when dateutil is not installed)."""
    return pa.scalar(value, pa.string())


def int_str(x: np.ndarray) -> pa.Array:
    """Integers as decimal strings (Arrow cast, no Python objects)."""
    return pa.array(np.asarray(x, np.int64)).cast(pa.string())
