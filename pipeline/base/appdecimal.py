"""The app's numbers to the last digit: how each decimal it stores is rounded.

The app (Django 5.2 on PostgreSQL) stores a value into a ``numeric(p, s)`` column
along one of three paths, and each one rounds differently:

* A Python float through ``round(x, 2)`` and ``Decimal(str(...))`` (PR and Jira
  ``cycle_time_hours`` / ``review_time_hours`` = ``timedelta.total_seconds() / 3600``):
  the float's exact binary value rounded half-even (:func:`round_float_units`,
  :func:`hours_units`).
* A float handed to a ``DecimalField(max_digits=p, decimal_places=s)`` (``Avg()`` over
  an integer column is a float, e.g. ``avg_quality_rating``): Django's ``to_python``
  makes ``Context(prec=p).create_decimal_from_float(x)`` (``p`` significant digits,
  half-even); Django 5.2 passes that Decimal on unchanged and PostgreSQL's cast to
  ``numeric(p, s)`` rounds it to ``s`` places half away from zero
  (:func:`django_float_units`). The float itself is PostgreSQL's ``avg(integer)``,
  a numeric rounded at the scale ``numeric_div`` picks (:func:`pg_int_avg`), read as
  a float.
* ``Decimal(float).quantize(Decimal("0.01"))`` (``guess_accuracy``): the exact binary
  value, half-even (:func:`guess_accuracy_units`).

``Avg()`` over a numeric column (``avg_cycle_time_hours``) is a Decimal from
PostgreSQL and is rounded by the column cast, half away from zero, on the exact mean.
Results are integer counts of ``10**-s`` units.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal

import numpy as np
import pyarrow as pa

US_PER_SECOND = 1_000_000
_NBASE = 10_000  # PostgreSQL numeric digits are base 10000
_MIN_SIG_DIGITS = 16  # NUMERIC_MIN_SIG_DIGITS


def _exact_units(x: float, scale: int) -> int:
    """``round(x, scale)`` as an integer of 10**-scale units: the exact binary value, ties to even."""
    return int(Decimal(x).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_EVEN).scaleb(scale))


def round_float_units(x: np.ndarray, scale: int = 2) -> np.ndarray:
    """Python's ``round(v, scale)`` of every float, as int64 units of ``10**-scale``.

    ``x * 10**scale`` is off by up to half an ulp, which decides nothing unless the
    product sits within a few ulps of a half; those few are rounded exactly.
    """
    x = np.asarray(x, np.float64)
    p = x * float(10**scale)
    units = np.round(p)
    frac = np.abs(p - np.trunc(p))
    near = np.abs(frac - 0.5) <= 8 * np.spacing(np.abs(p))
    for i in np.flatnonzero(near):
        units[i] = _exact_units(float(x[i]), scale)
    return units.astype(np.int64)


def hours_units(us: np.ndarray) -> np.ndarray:
    """A duration in microseconds as the app stores it in hours: ``round(td.total_seconds() / 3600, 2)``.

    ``total_seconds()`` is ``microseconds / 10**6`` (correctly rounded, as is a float64
    division of an integer below 2**53), then a second float division by 3600.
    """
    hours = (np.nan_to_num(np.asarray(us, np.float64)) / float(US_PER_SECOND)) / 3600.0
    return round_float_units(hours, 2)


def _weight_and_first_digit(n: int) -> tuple[int, int]:
    """PostgreSQL's weight (base 10000) and first base-10000 digit of an integer (0 -> 0, 0)."""
    n = abs(n)
    weight, first = -1, 0
    while n:
        first = n % _NBASE
        n //= _NBASE
        weight += 1
    return max(weight, 0), first


def pg_int_avg(total: int, count: int) -> Decimal:
    """PostgreSQL's ``avg()`` of integers summing to ``total``: ``numeric_div(total, count)``.

    The result scale is ``select_div_scale``'s (at least 16 significant digits), rounded
    half away from zero.
    """
    w1, d1 = _weight_and_first_digit(total)
    w2, d2 = _weight_and_first_digit(count)
    qweight = w1 - w2 - (1 if d1 <= d2 else 0)
    rscale = min(max(_MIN_SIG_DIGITS - qweight * 4, 0), 1000)
    return _div_round(total, count, rscale)


def _div_round(total: int, count: int, rscale: int) -> Decimal:
    """total / count rounded half away from zero to ``rscale`` places, in integer arithmetic."""
    num = abs(total) * 10**rscale
    q, r = divmod(num, count)
    if 2 * r >= count:
        q += 1
    return Decimal(-q if total < 0 else q).scaleb(-rscale)


def django_float_units(value: float, max_digits: int, places: int) -> int:
    """A float stored into ``DecimalField(max_digits, places)`` on PostgreSQL, as units of ``10**-places``."""
    d = Context(prec=max_digits, rounding=ROUND_HALF_EVEN).create_decimal_from_float(value)
    return int(d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP).scaleb(places))


def avg_int_units(total: int, count: int, max_digits: int, places: int) -> int:
    """``Avg()`` over an integer column (a float) stored into ``DecimalField(max_digits, places)``."""
    return django_float_units(float(pg_int_avg(total, count)), max_digits, places)


def guess_accuracy_units(correct: int, guesses: int) -> int:
    """``Decimal((correct / guesses) * 100).quantize(Decimal("0.01"))`` as hundredths."""
    return _exact_units((correct / guesses) * 100, 2)


def decimal_from_units(units: np.ndarray, valid: np.ndarray | None, precision: int, scale: int) -> pa.Array:
    """A ``decimal128(precision, scale)`` array from int64 units of ``10**-scale`` (null where not ``valid``)."""
    lo = np.asarray(units, np.int64).astype("<i8")
    if len(lo) and int(np.abs(lo).max()) >= 10**precision:
        raise ValueError(f"value out of range for decimal({precision},{scale}): {int(np.abs(lo).max())} units")
    words = np.empty(2 * len(lo), "<i8")
    words[0::2] = lo
    words[1::2] = lo >> 63  # sign extension: two's complement 128-bit
    validity, nulls = None, 0
    if valid is not None and not np.asarray(valid, bool).all():
        ok = np.asarray(valid, bool)
        validity, nulls = pa.py_buffer(np.packbits(ok, bitorder="little").tobytes()), int((~ok).sum())
    return pa.Array.from_buffers(
        pa.decimal128(precision, scale), len(lo), [validity, pa.py_buffer(words.tobytes())], null_count=nulls
    )


def mean_hours_units(hours: list[float]) -> int:
    """``round(sum(hours) / len(hours), 2)`` (Python's left-to-right float sum) as hundredths."""
    return _exact_units(sum(hours) / len(hours), 2)
