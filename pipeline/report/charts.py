"""Chart specs (Vega-Lite) from stories: one chart per metric, the snapshots side by side.

A chart is a horizontal concatenation of one panel per snapshot with a
shared value axis, so baseline next to ai-success (or two seeds, or a real
project next to a scenario) compares at a glance. The data travels inside
the spec (``datasets.values``, one row per drawn value, each tagged with its
``snapshot``); a panel selects its snapshot's rows and draws only the layers
it has data for. Rendering is Vega's job (the browser, or vl-convert for
PNGs); nothing here draws. :mod:`.weekly` and :mod:`.members` build the charts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pipeline.base.runrecord import Mode
from pipeline.report.source import Story

Spec = dict[str, Any]
Row = dict[str, Any]

PANEL_HEIGHT = 180


@dataclass(frozen=True)
class Chart:
    id: str  # file stem of its PNG, element id in the page
    title: str
    spec: Spec

    @property
    def values(self) -> list[Row]:
        rows: list[Row] = self.spec["datasets"]["values"]
        return rows


def origin(story: Story, needs: tuple[str, ...]) -> str:
    """Where a metric's numbers come from in a real project: real (GitHub) or simulated."""
    real = set(story.run.real_fields if story.run else ())
    return "real (GitHub)" if all(n in real for n in needs) else "simulated"


def header(story: Story, needs: tuple[str, ...]) -> str:
    """A panel's title: the snapshot, and for a real project whether these numbers are real."""
    return f"{story.label} — {origin(story, needs)}" if story.mode is Mode.PROJECT else story.label


def width(stories: list[Story]) -> int:
    return {1: 520, 2: 360}.get(len(stories), 260)


def number(v: Any) -> Any:
    """A value as JSON can carry it (NaN, which no weekly table should hold, becomes null)."""
    return None if isinstance(v, float) and math.isnan(v) else v


def only(field: str, value: Any) -> Spec:
    return {"filter": {"field": field, "equal": value}}


def has_values(rows: list[Row], field: str) -> bool:
    return any(r.get(field) is not None for r in rows)


def empty_layer(text: str) -> Spec:
    """What a panel shows when it has nothing to draw (no scale, so no empty-extent warnings)."""
    return {
        "data": {"values": [{}]},
        "mark": {"type": "text", "color": "#777", "fontSize": 12},
        "encoding": {"text": {"value": text}},
    }


def panel(story: Story, needs: tuple[str, ...], layers: list[Spec], **size: Any) -> Spec:
    return {
        "title": {"text": header(story, needs), "fontSize": 12, "anchor": "start"},
        "transform": [only("snapshot", story.label)],
        "width": size.get("width", 260),
        "height": size.get("height", PANEL_HEIGHT),
        "layer": layers or [empty_layer("nothing to draw in this snapshot")],
    }


def chart(chart_id: str, title: str, subtitle: str, rows: list[Row], panels: list[Spec], resolve: Spec) -> Chart:
    spec: Spec = {
        "title": {"text": title, "subtitle": subtitle, "anchor": "start", "fontSize": 15, "subtitleColor": "#555"},
        "datasets": {"values": rows},
        "data": {"name": "values"},
        "hconcat": panels,
        "spacing": 24,
        "resolve": resolve,
        "background": "white",
        "padding": 8,
        "config": {"legend": {"orient": "bottom", "title": None}, "axis": {"labelFontSize": 11}},
    }
    return Chart(chart_id, title, spec)
