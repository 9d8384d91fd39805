"""A report's charts, in page order: the weekly story first, then the members and the PRs' origin."""

from __future__ import annotations

from pipeline.report.charts import Chart
from pipeline.report.members import member_charts
from pipeline.report.source import Story
from pipeline.report.weekly import weekly_charts


def build_charts(stories: list[Story]) -> list[Chart]:
    return [*weekly_charts(stories), *member_charts(stories)]
