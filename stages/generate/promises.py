"""A scenario's promises: what its weekly numbers must show, declared in its TOML.

Each ``[[promises]]`` table names one rule the report checks (and the tests
hold for every built-in scenario) on the team's weekly table
(``demoseed_team_weekly``)::

    [[promises]]
    rule = "top reviewer does 60 % ± 5 % of all reviews"   # what the report shows
    measure = "pooled"              # first | last | pooled | flat
    column = "top_reviewer_share"
    weight = "reviews"              # pooled only: the share over all weeks, weighted
    between = [0.55, 0.65]          # or at_least = x / at_most = x

``first``/``last``: the first/last week's value; ``pooled``: the weighted share
over all weeks; ``flat``: no trend in each of ``columns`` (no bound).

Promises say what to expect of a run, not how to make it: they are left out
of the scenario's parameters in the manifest and of the text hashed into the
snapshot id (:func:`without_promises`), so declaring or rewording one changes
no snapshot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stages.generate.scenario import _Checker

MEASURES = ("first", "last", "pooled", "flat")
_KEYS = ("rule", "measure", "column", "columns", "weight", "between", "at_least", "at_most")


@dataclass(frozen=True)
class Promise:
    rule: str
    measure: str  # one of MEASURES
    columns: tuple[str, ...]  # one column, or several for "flat"
    weight: str | None = None  # "pooled": the weighting column
    low: float | None = None
    high: float | None = None

    def holds(self, value: float | None) -> bool:
        """Whether a measured value is within the bounds (a missing value never is)."""
        if value is None:
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


def promises_of(c: _Checker, data: dict[str, Any]) -> tuple[Promise, ...]:
    """The ``promises`` array of a parsed scenario TOML, checked (a UserError naming the key and line otherwise)."""
    if "promises" not in data:
        return ()
    value = data["promises"]
    if not isinstance(value, list):
        raise c.fail("promises", "expected [[promises]] tables")
    from pipeline.base.schemas import DEMOSEED_TEAM_WEEKLY

    weekly_columns = DEMOSEED_TEAM_WEEKLY.column_names
    return tuple(_promise(c, f"promises[{i}].", p, weekly_columns) for i, p in enumerate(value))


def _promise(c: _Checker, pre: str, p: Any, weekly_columns: tuple[str, ...]) -> Promise:
    if not isinstance(p, dict):
        raise c.fail(pre.rstrip("."), "expected a table")
    c.unknown(pre, p, _KEYS)
    measure = p.get("measure")
    if measure not in MEASURES:
        raise c.fail(pre + "measure", f"use one of {', '.join(MEASURES)}")

    def column(key: str, name: Any) -> str:
        if name not in weekly_columns:
            raise c.fail(pre + key, f"{name!r} is not a column of demoseed_team_weekly")
        return str(name)

    if measure == "flat":
        names = p.get("columns")
        if not isinstance(names, list) or not names:
            raise c.fail(pre + "columns", "a flat promise names its columns: columns = [...]")
        columns = tuple(column("columns", n) for n in names)
    else:
        columns = (column("column", p.get("column")),)
    weight = column("weight", p["weight"]) if measure == "pooled" else None
    low = high = None
    if "between" in p:
        low, high = c.pair(pre + "between", p["between"], -1e12, 1e12)
    low = c.number(pre + "at_least", p["at_least"], -1e12, 1e12) if "at_least" in p else low
    high = c.number(pre + "at_most", p["at_most"], -1e12, 1e12) if "at_most" in p else high
    if measure != "flat" and low is None and high is None:
        raise c.fail(pre + "measure", "give a bound: between = [low, high], at_least or at_most")
    return Promise(c.string(pre + "rule", p.get("rule")), str(measure), columns, weight, low, high)


_HEADER = re.compile(r"^\s*\[")
_PROMISE_HEADER = re.compile(r"^\s*\[\[\s*promises\s*\]\]")


def without_promises(text: str) -> str:
    """The scenario text without its ``[[promises]]`` tables and the blank lines before them.

    What identifies a built-in scenario's run (its hash is in the snapshot's
    inputs): a promise is not part of how the data is made.
    """
    kept: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        if _PROMISE_HEADER.match(line):
            inside = True
            while kept and not kept[-1].strip():
                kept.pop()
            continue
        if inside and _HEADER.match(line):
            inside = False
        if not inside:
            kept.append(line)
    return "".join(kept)
