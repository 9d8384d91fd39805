"""The weekly charts: a team's headline metrics week by week, the scenario's target beside them.

Each row is one drawn value: ``kind = "measured"`` rows carry a
``demoseed_team_weekly`` column's value for the week, unchanged (null where
the table has null); ``kind = "target"`` rows the scenario's curve for that
week (:mod:`.targets`); ``kind = "target range"`` rows a band (``low``/``high``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pipeline.report import targets
from pipeline.report.charts import Chart, Row, Spec, chart, has_values, number, only, panel, width
from pipeline.report.source import Story
from stages.aggregate.story import HEADLINE_COLUMNS

MEASURED, TARGET, TARGET_RANGE = "measured", "target", "target range"


@dataclass(frozen=True)
class WeeklyMetric:
    id: str
    title: str
    series: dict[str, str]  # series label -> demoseed_team_weekly column
    axis: str
    percent: bool
    needs: tuple[str, ...]  # the fields/tables it comes from (real or simulated in a real project)


WEEKLY: tuple[WeeklyMetric, ...] = (
    WeeklyMetric(
        "ai-share", "AI-assisted share of merged PRs", {"AI-assisted share": "ai_assisted_share"},
        "share of surveyed PRs", True, ("metrics_prsurvey",),
    ),
    WeeklyMetric(
        "cycle-time", "Median cycle time", {"median cycle time": "cycle_time_median_hours"},
        "hours", False, ("cycle_time_hours",),
    ),
    WeeklyMetric(
        "review-time", "Median review time", {"median review time": "review_time_median_hours"},
        "hours", False, ("review_time_hours",),
    ),
    WeeklyMetric(
        "prs", "PRs merged and open", {"merged": "prs_merged", "open at week end": "open_prs_at_week_end"},
        "PRs", False, ("state", "merged_at", "pr_created_at"),
    ),
    WeeklyMetric(
        "top-reviewer", "Top reviewer's share of reviews", {"top reviewer's share": "top_reviewer_share"},
        "share of reviews", True, ("metrics_prreview",),
    ),
    WeeklyMetric(
        "guess-accuracy", "Reviewers' guess accuracy", {"guess accuracy": "guess_accuracy"},
        "correct guesses", True, ("metrics_prsurveyreview",),
    ),
    WeeklyMetric(
        "quality", "Average quality rating (1–3)", {"quality rating": "avg_quality_rating"},
        "rating", False, ("metrics_prsurveyreview",),
    ),
)  # fmt: skip


def _week(d: Any) -> str:
    return d.isoformat() if isinstance(d, dt.date) else str(d)


def _target(story: Story, column: str, weeks: int) -> list[float] | None:
    if column == "top_reviewer_share":
        top = targets.top_reviewer_share(story.manifest)
        return None if top is None else [top] * weeks
    return targets.curve(story.manifest, column, weeks)


def rows(story: Story, metric: WeeklyMetric) -> list[Row]:
    """The chart rows of one snapshot: measured values as the weekly table has them, then targets."""
    weeks = [_week(d) for d in story.weeks.get_column("week_start").to_list()]
    out: list[Row] = []
    for series, column in metric.series.items():
        base = {"snapshot": story.label, "series": series}
        values = story.weeks.get_column(column).to_list()
        out += [{**base, "week": w, "kind": MEASURED, "value": number(v)} for w, v in zip(weeks, values, strict=True)]
        target = _target(story, column, len(weeks))
        if target is not None:
            out += [{**base, "week": w, "kind": TARGET, "value": v} for w, v in zip(weeks, target, strict=True)]
        band = targets.guess_accuracy_range(story.manifest) if column == "guess_accuracy" else None
        if band is not None:
            out += [{**base, "week": w, "kind": TARGET_RANGE, "low": band[0], "high": band[1]} for w in weeks]
    return out


def _layers(mine: list[Row], percent: bool, x: Spec, y: Spec) -> list[Spec]:
    kinds = {"field": "kind", "type": "nominal", "scale": {"domain": [MEASURED, TARGET], "range": [[1, 0], [6, 4]]}}
    color = {"field": "series", "type": "nominal"}
    tooltip = [
        {"field": "week", "type": "temporal", "timeUnit": "utcyearmonthdate", "title": "week of"},
        {"field": "series", "type": "nominal"},
        {"field": "value", "type": "quantitative", "format": ".1%" if percent else ".2f"},
    ]
    layers: list[Spec] = []
    if any(r["kind"] == TARGET_RANGE for r in mine):
        layers.append(
            {
                "transform": [only("kind", TARGET_RANGE)],
                "mark": {"type": "area", "opacity": 0.15, "color": "#888"},
                "encoding": {"x": x, "y": {**y, "field": "low"}, "y2": {"field": "high"}},
            }
        )
    if has_values([r for r in mine if r["kind"] != TARGET_RANGE], "value"):
        layers.append(
            {
                "transform": [{"filter": {"field": "kind", "oneOf": [MEASURED, TARGET]}}],
                "mark": {"type": "line", "strokeWidth": 2},
                "encoding": {"x": x, "y": y, "color": color, "strokeDash": kinds, "detail": {"field": "kind"}},
            }
        )
    if has_values([r for r in mine if r["kind"] == MEASURED], "value"):
        layers.append(
            {
                "transform": [only("kind", MEASURED)],
                "mark": {"type": "point", "filled": True, "size": 40},
                "encoding": {"x": x, "y": y, "color": color, "tooltip": tooltip},
            }
        )
    return layers


def _same_weeks(stories: list[Story]) -> bool:
    return len({tuple(s.weeks.get_column("week_start").to_list()) for s in stories}) <= 1


def weekly_chart(stories: list[Story], metric: WeeklyMetric) -> Chart:
    per_story = [rows(s, metric) for s in stories]
    x = {
        "field": "week",
        "type": "temporal",
        "timeUnit": "utcyearmonthdate",
        "title": None,
        "axis": {"format": "%d %b", "labelAngle": 0, "tickCount": 6},
    }
    y = {
        "field": "value",
        "type": "quantitative",
        "title": metric.axis,
        "axis": {"format": ".0%" if metric.percent else "~s"},
    }
    panels = [
        panel(s, metric.needs, _layers(mine, metric.percent, x, y), width=width(stories))
        for s, mine in zip(stories, per_story, strict=True)
    ]
    all_rows = [r for mine in per_story for r in mine]
    subtitle = "dots: measured (demoseed_team_weekly); dashed: the scenario's target"
    if any(r["kind"] == TARGET_RANGE for r in all_rows):
        subtitle += "; grey band: the archetypes' guess accuracy ranges"
    columns = set(metric.series.values())
    headline_of = sorted(
        {s.scenario for s in stories if s.scenario and columns & set(HEADLINE_COLUMNS.get(s.scenario, ()))}
    )
    if headline_of:
        subtitle += f"; ★ the headline of {', '.join(headline_of)}"
    resolve = {
        "scale": {
            "y": "shared",
            "x": "shared" if _same_weeks(stories) else "independent",
            "color": "shared",
            "strokeDash": "shared",
        }
    }
    title = ("★ " if headline_of else "") + metric.title
    return chart(metric.id, title, subtitle, all_rows, panels, resolve)


def weekly_charts(stories: list[Story]) -> list[Chart]:
    return [weekly_chart(stories, m) for m in WEEKLY]
