"""The bar charts: reviews per reviewer, AI share per member, real vs synthetic PRs.

* Reviews per reviewer: each member's reviews over the snapshot's weeks, by the
  aggregate stage's rule (their per-week sums are the weekly table's
  ``reviews``), longest bar first: the bottleneck stands out.
* AI share per member: ``ai_assisted_prs / surveys_completed`` summed over the
  member's ``metrics_weeklymetrics`` rows (null without surveys): the adopters.
* Real vs synthetic: the team's PRs by ``demoseed_provenance.source`` and real
  repo: how much real metadata the snapshot carries, and from where.
"""

from __future__ import annotations

import polars as pl

from pipeline.report.charts import Chart, Row, Spec, chart, has_values, panel, width
from pipeline.report.source import Story

REAL_COLOR, SYNTHETIC_COLOR = "#e45756", "#4c78a8"


def _labels(names: list[str | None], ids: list[int]) -> list[str]:
    """Member names, the id added where two members share a name (each bar needs its own label)."""
    shown = [n or f"member {i}" for n, i in zip(names, ids, strict=True)]
    return [f"{n} (#{i})" if shown.count(n) > 1 else n for n, i in zip(shown, ids, strict=True)]


def _share(part: int, total: int) -> float | None:
    return part / total if total else None


def _bar_chart(
    stories: list[Story],
    per_story: list[list[Row]],
    ids: tuple[str, str, str],
    x: Spec,
    color: Spec,
    tooltip: list[str],
) -> Chart:
    chart_id, title, subtitle = ids
    needs = {"reviewers": ("metrics_prreview",), "member-ai": ("metrics_prsurvey",)}.get(chart_id, ("github_repo",))
    panels = []
    for story, mine in zip(stories, per_story, strict=True):
        y = {
            "field": "label",
            "type": "nominal",
            "title": None,
            "sort": [r["label"] for r in mine],
            "axis": {"labelLimit": 200},
        }
        tips = [{"field": f, "type": "nominal" if f == "label" else "quantitative"} for f in tooltip]
        layers = [
            {"mark": {"type": "bar"}, "encoding": {"y": y, "x": x, "color": color, "tooltip": tips}},
            {
                "mark": {"type": "text", "align": "left", "dx": 4, "color": "#333"},
                "encoding": {"y": y, "x": x, "text": {"field": "share", "type": "quantitative", "format": ".0%"}},
            },
        ]
        panels.append(
            panel(
                story, needs, layers if has_values(mine, x["field"]) else [], width=width(stories), height={"step": 20}
            )
        )
    rows = [r for mine in per_story for r in mine]
    return chart(chart_id, title, subtitle, rows, panels, {"scale": {"y": "independent", "x": "shared"}})


def reviewers_chart(stories: list[Story]) -> Chart:
    per_story: list[list[Row]] = []
    for s in stories:
        per = s.reviews.group_by("member_id").agg(pl.col("member").first(), pl.col("reviews").sum())
        idle = s.members.filter(~pl.col("member_id").is_in(per.get_column("member_id").implode()))
        totals = pl.concat([per, idle.select("member_id", "member", pl.lit(0, pl.Int64).alias("reviews"))]).sort(
            ["reviews", "member_id"], descending=[True, False]
        )
        total = int(totals.get_column("reviews").sum())
        labels = _labels(totals.get_column("member").to_list(), totals.get_column("member_id").to_list())
        counts = totals.get_column("reviews").to_list()
        per_story.append(
            [
                {"snapshot": s.label, "label": lb, "reviews": int(n), "share": _share(n, total)}
                for lb, n in zip(labels, counts, strict=True)
            ]
        )
    x = {"field": "reviews", "type": "quantitative", "title": "reviews over all weeks"}
    ids = ("reviewers", "Reviews per reviewer", "the bottleneck is the long bar; labels: share of the team's reviews")
    return _bar_chart(stories, per_story, ids, x, {"value": SYNTHETIC_COLOR}, ["label", "reviews", "share"])


def member_ai_chart(stories: list[Story]) -> Chart:
    per_story: list[list[Row]] = []
    for s in stories:
        m = s.members.with_columns(
            pl.when(pl.col("surveys_completed") > 0)
            .then(pl.col("ai_assisted_prs") / pl.col("surveys_completed"))
            .alias("share")
        ).sort(["share", "member_id"], descending=[True, False], nulls_last=True)
        labels = _labels(m.get_column("member").to_list(), m.get_column("member_id").to_list())
        per_story.append(
            [
                {
                    "snapshot": s.label,
                    "label": lb,
                    "member_id": r["member_id"],
                    "share": r["share"],
                    "ai_assisted_prs": r["ai_assisted_prs"],
                    "surveys_completed": r["surveys_completed"],
                }
                for lb, r in zip(labels, m.iter_rows(named=True), strict=True)
            ]
        )
    x = {
        "field": "share",
        "type": "quantitative",
        "title": "AI-assisted share of surveyed PRs",
        "scale": {"domain": [0, 1]},
        "axis": {"format": ".0%"},
    }
    ids = (
        "member-ai",
        "AI-assisted share per member",
        "the adopters are the long bars (metrics_weeklymetrics, summed over the weeks)",
    )
    return _bar_chart(
        stories,
        per_story,
        ids,
        x,
        {"value": SYNTHETIC_COLOR},
        ["label", "share", "ai_assisted_prs", "surveys_completed"],
    )


def real_share_chart(stories: list[Story]) -> Chart:
    per_story: list[list[Row]] = []
    for s in stories:
        total = int(s.sources.get_column("prs").sum())
        mine = []
        for r in s.sources.iter_rows(named=True):
            real = r["source"] != "synthetic"
            label = f"{r['source']}: {r['real_repo']}" if real and r["real_repo"] else str(r["source"])
            mine.append(
                {
                    "snapshot": s.label,
                    "label": label,
                    "kind": "real" if real else "synthetic",
                    "prs": r["prs"],
                    "share": _share(r["prs"], total),
                }
            )
        per_story.append(mine)
    x = {"field": "prs", "type": "quantitative", "title": "PRs"}
    color = {
        "field": "kind",
        "type": "nominal",
        "scale": {"domain": ["real", "synthetic"], "range": [REAL_COLOR, SYNTHETIC_COLOR]},
    }
    ids = ("real-share", "Real vs synthetic PRs", "where each PR's metadata came from (demoseed_provenance)")
    return _bar_chart(stories, per_story, ids, x, color, ["label", "prs", "share"])


def member_charts(stories: list[Story]) -> list[Chart]:
    return [reviewers_chart(stories), member_ai_chart(stories), real_share_chart(stories)]
