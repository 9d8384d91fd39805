"""A tiny, coherent two-team snapshot for the load tests (no test functions here).

Teams ``alpha`` and ``beta`` (ids 1, 2), three members each, four PRs each
with a review, a commit, a file, a check run and a survey (+ reviewer answer),
plus AI usage, deployments, Jira issues and weekly metrics. Every id points
where it should, so foreign keys hold in the target. Dates run from Monday
2025-11-03; the last week (manifest ``params.anchor``) is 2025-12-29.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.base.manifest import write_snapshot
from pipeline.base.parquet import conform
from pipeline.base.schemas import spec

UTC = dt.UTC
BASE = dt.datetime(2025, 11, 3, 9, 30, 15, 250000, tzinfo=UTC)  # a Monday
LAST_WEEK = dt.date(2025, 12, 29)
TEAM_OF_MEMBER = {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2}
TEAM_OF_PR = {1: 1, 2: 1, 3: 1, 4: 1, 5: 2, 6: 2, 7: 2, 8: 2}
AUTHOR_OF_PR = {1: 1, 2: 2, 3: 3, 4: 1, 5: 4, 6: 5, 7: 6, 8: 4}
REVIEWER_OF_PR = {1: 2, 2: 3, 3: 1, 4: 2, 5: 5, 6: 6, 7: 4, 8: 5}


def _default(f: pa.Field, i: int) -> Any:
    t = f.type
    if f.metadata and f.metadata.get(b"logical") == b"json":
        return json.dumps(["x", i]) if i % 2 else "[]"
    if pa.types.is_integer(t):
        return i % 7 + 1
    if pa.types.is_boolean(t):
        return i % 2 == 0
    if pa.types.is_timestamp(t):
        return BASE + dt.timedelta(hours=13 * i)
    if pa.types.is_date(t):
        return BASE.date() + dt.timedelta(days=3 * i)
    if pa.types.is_decimal(t):
        return Decimal(i % 3 + 1).scaleb(-1).quantize(Decimal(1).scaleb(-t.scale))
    limit = int(f.metadata[b"max_length"]) if f.metadata and b"max_length" in f.metadata else 60
    return f"{f.name}-{i}-é"[:limit]


def table(table_name: str, n: int, /, **columns: list[Any] | Callable[[int], Any]) -> pa.Table:
    """``n`` rows (i = 1..n) of an app table: defaults by type, ``columns`` override (a list or f(i))."""
    s = spec(table_name)
    data: dict[str, list[Any]] = {}
    for f in s.schema:
        given = columns.get(f.name)
        if given is None:
            data[f.name] = [_default(f, i) for i in range(1, n + 1)]
        elif callable(given):
            data[f.name] = [given(i) for i in range(1, n + 1)]
        else:
            data[f.name] = list(given)
    return conform(pa.Table.from_pydict(data, schema=s.schema), s)


def build_tables(slugs: tuple[str, str] = ("alpha", "beta")) -> dict[str, pa.Table]:
    """The 13 app tables of the two-team dataset."""
    tables = {
        "teams_team": table(
            "teams_team",
            2,
            id=lambda i: i,
            slug=lambda i: slugs[i - 1],
            name=lambda i: slugs[i - 1].title(),
            subscription_id=lambda i: None,
            customer_id=lambda i: None,
        ),
        "metrics_teammember": table(
            "metrics_teammember",
            6,
            id=lambda i: i,
            team_id=lambda i: TEAM_OF_MEMBER[i],
            github_id=lambda i: str(1000 + i),
            email=lambda i: f"dev{i}@example.com",
            role=lambda i: "lead" if i in (1, 4) else "developer",
        ),
        "metrics_pullrequest": table(
            "metrics_pullrequest",
            8,
            id=lambda i: i,
            team_id=lambda i: TEAM_OF_PR[i],
            author_id=lambda i: AUTHOR_OF_PR[i],
            github_pr_id=lambda i: 100 + i,
            github_repo=lambda i: "acme/app",
            state=lambda i: "merged" if i % 4 else "open",
            llm_summary=lambda i: None if i % 2 else json.dumps({"summary": f"pr {i}"}),
        ),
        "metrics_prreview": table(
            "metrics_prreview",
            8,
            id=lambda i: i,
            team_id=lambda i: TEAM_OF_PR[i],
            pull_request_id=lambda i: i,
            reviewer_id=lambda i: REVIEWER_OF_PR[i],
            github_review_id=lambda i: 5000 + i,
            state=lambda i: "approved",
        ),
        "metrics_commit": table(
            "metrics_commit",
            8,
            id=lambda i: i,
            team_id=lambda i: TEAM_OF_PR[i],
            pull_request_id=lambda i: i,
            author_id=lambda i: AUTHOR_OF_PR[i],
            github_sha=lambda i: f"{i:040x}",
        ),
        "metrics_prfile": table(
            "metrics_prfile",
            8,
            id=lambda i: i,
            team_id=lambda i: TEAM_OF_PR[i],
            pull_request_id=lambda i: i,
            filename=lambda i: f"src/module_{i}.py",
            status=lambda i: "modified",
        ),
        "metrics_prcheckrun": table(
            "metrics_prcheckrun",
            8,
            id=lambda i: i,
            team_id=lambda i: TEAM_OF_PR[i],
            pull_request_id=lambda i: i,
            github_check_run_id=lambda i: 9000 + i,
        ),
        "metrics_prsurvey": table(
            "metrics_prsurvey",
            8,
            id=lambda i: i,
            team_id=lambda i: TEAM_OF_PR[i],
            pull_request_id=lambda i: i,
            author_id=lambda i: AUTHOR_OF_PR[i],
            token=lambda i: f"{slugs[0]}-token-{i}",
        ),
        "metrics_prsurveyreview": table(
            "metrics_prsurveyreview",
            8,
            id=lambda i: i,
            team_id=lambda i: TEAM_OF_PR[i],
            survey_id=lambda i: i,
            reviewer_id=lambda i: REVIEWER_OF_PR[i],
            quality_rating=lambda i: i % 3 + 1,
        ),
        "metrics_aiusagedaily": table(
            "metrics_aiusagedaily",
            6,
            id=lambda i: i,
            team_id=lambda i: TEAM_OF_MEMBER[i],
            member_id=lambda i: i,
            source=lambda i: "copilot",
        ),
        "metrics_deployment": table(
            "metrics_deployment",
            4,
            id=lambda i: i,
            team_id=lambda i: 1 if i <= 2 else 2,
            github_deployment_id=lambda i: 700 + i,
            creator_id=lambda i: 1 if i <= 2 else 4,
            pull_request_id=lambda i: i if i <= 2 else i + 2,
            environment=lambda i: "production",
        ),
        "metrics_jiraissue": table(
            "metrics_jiraissue",
            4,
            id=lambda i: i,
            team_id=lambda i: 1 if i <= 2 else 2,
            jira_id=lambda i: str(20000 + i),
            assignee_id=lambda i: 2 if i <= 2 else 5,
        ),
    }
    tables["metrics_weeklymetrics"] = weekly(tables)
    return tables


def weekly(tables: dict[str, pa.Table]) -> pa.Table:
    """Six rows of earlier weeks (ids 1-6), then the last week as the aggregate stage computes it (ids 7-).

    The loader recomputes the load instant's week (the last week, after the
    shift) from what it loads; with every event of this dataset before that
    week, the recomputed rows equal these, so a load reproduces the snapshot.
    """
    from stages.aggregate import aggregate

    earlier = table(
        "metrics_weeklymetrics",
        6,
        id=lambda i: i,
        team_id=lambda i: TEAM_OF_MEMBER[i],
        member_id=lambda i: i,
        week_start=lambda i: LAST_WEEK - dt.timedelta(weeks=1 + i % 3),
    )
    last = aggregate(tables, week_starts=[LAST_WEEK])["metrics_weeklymetrics"]
    last = last.set_column(0, last.schema.field("id"), pa.array(range(7, 7 + last.num_rows), pa.int64()))
    return pa.concat_tables([earlier, last])


def write_test_snapshot(directory: Path, tables: dict[str, pa.Table] | None = None, *, name: str = "loadtest") -> Path:
    """Write the dataset (or ``tables``) as a snapshot; its last week is :data:`LAST_WEEK`."""
    write_snapshot(
        directory,
        tables if tables is not None else build_tables(),
        name=name,
        params={"anchor": LAST_WEEK.isoformat()},
        inputs={},
        notes=["load test dataset"],
    )
    return directory
