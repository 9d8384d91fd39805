"""Targets: what the scenario recorded in a snapshot's manifest asks of each weekly metric.

The manifest keeps the resolved scenario (``params.generate.scenario_parameters``:
curves and archetypes), so a report draws the curves the data was generated
from, even for a user's own scenario file that is no longer at hand. A curve
is evaluated exactly as the generator does (:class:`stages.generate.scenario.Curve`
over the snapshot's weeks, clipped to the curve's bounds). Real-project
snapshots have no scenario and so no targets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.base.manifest import Manifest
from stages.generate.scenario import CURVES, Curve

# weekly column -> the scenario curve it tracks
CURVE_OF: dict[str, str] = {
    "ai_assisted_share": "ai_share",
    "cycle_time_median_hours": "cycle_time_hours",
    "review_time_median_hours": "review_time_hours",
    "avg_quality_rating": "quality_rating",
}


def scenario_parameters(manifest: Manifest) -> dict[str, Any] | None:
    """The resolved scenario a snapshot was generated from (None for real projects)."""
    return manifest.run.scenario_parameters if manifest.run is not None else None


def curve(manifest: Manifest, column: str, weeks: int) -> list[float] | None:
    """The target of a weekly column for each of ``weeks`` weeks, or None when there is none."""
    params = scenario_parameters(manifest)
    name = CURVE_OF.get(column)
    if params is None or name is None or weeks < 1:
        return None
    d = (params.get("curves") or {}).get(name)
    if not isinstance(d, dict):
        return None
    c = Curve(
        start=float(d["start"]),
        end=float(d["end"]),
        wobble_period=int(d.get("wobble_period", 0)),
        wobble_center=float(d.get("wobble_center", 0.0)),
        wobble_step=float(d.get("wobble_step", 0.0)),
    )
    lo, hi = CURVES[name][1:]
    return [float(v) for v in np.clip(c.values(weeks), lo, hi)]


def _archetypes(manifest: Manifest) -> list[dict[str, Any]]:
    params = scenario_parameters(manifest) or {}
    return [a for a in params.get("archetypes") or [] if isinstance(a, dict)]


def top_reviewer_share(manifest: Manifest) -> float | None:
    """The busiest single member's share of reviews the scenario sets (``review_share`` per
    archetype, split evenly among its members), or None when the scenario sets no shares."""
    shares = [
        float(a["review_share"]) / int(a.get("count") or 1)
        for a in _archetypes(manifest)
        if a.get("review_share") is not None
    ]
    return max(shares) if shares else None


def guess_accuracy_range(manifest: Manifest) -> tuple[float, float] | None:
    """The span of the archetypes' ``guess_accuracy`` ranges (lowest low, highest high)."""
    ranges = [a["guess_accuracy"] for a in _archetypes(manifest) if len(a.get("guess_accuracy") or ()) == 2]
    if not ranges:
        return None
    return float(min(r[0] for r in ranges)), float(max(r[1] for r in ranges))
