"""The aggregate stage on a tiny hand-built dataset, every column checked by hand.

Team 1: A (10), B (11), C (12, no activity at all) active; D (13) inactive but
author of a merged PR and a reviewer. Team 2: E (5), one commit. Weeks W1 =
2025-12-15, W2 = 2025-12-22, W3 = 2025-12-29 (A merges nothing in W3). P2 is
created in W1 and merged in W2; P8 is merged before W1 (outside the weeks).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from pipeline.base.hashing import content_hash
from pipeline.base.parquet import conform
from pipeline.base.schemas import DEMOSEED_TEAM_WEEKLY, METRICS_WEEKLYMETRICS, spec
from stages.aggregate import aggregate
from stages.aggregate.frames import decimal_array, div_half_up

W1, W2, W3 = dt.date(2025, 12, 15), dt.date(2025, 12, 22), dt.date(2025, 12, 29)
WEEKS = [W1, W2, W3]
A, B, C, D, E = 10, 11, 12, 13, 5


def t(day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0) -> dt.datetime:
    return dt.datetime(2025, 12, day, hour, minute, second, us, tzinfo=dt.UTC)


def make_table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    """A schema-exact app table; unspecified columns get neutral defaults."""
    schema = spec(name).schema
    cols: dict[str, list[Any]] = {f.name: [] for f in schema}
    for row in rows:
        unknown = set(row) - set(cols)
        assert not unknown, unknown
        for f in schema:
            if f.name in row:
                cols[f.name].append(row[f.name])
            elif f.nullable:
                cols[f.name].append(None)
            elif f.metadata and f.metadata.get(b"logical") == b"json":
                cols[f.name].append("[]")
            elif pa.types.is_string(f.type):
                cols[f.name].append("")
            elif pa.types.is_boolean(f.type):
                cols[f.name].append(False)
            elif pa.types.is_timestamp(f.type):
                cols[f.name].append(t(1))
            elif pa.types.is_decimal(f.type):
                cols[f.name].append(Decimal(0))
            else:
                cols[f.name].append(0)
    return pa.table({k: pa.array(v, schema.field(k).type) for k, v in cols.items()}, schema=schema)


def dec(s: str | None) -> Decimal | None:
    return None if s is None else Decimal(s)


def pr(id_: int, author: int, state: str, created: dt.datetime, *, team: int = 1, **kw: Any) -> dict[str, Any]:
    row = {"id": id_, "team_id": team, "github_pr_id": id_, "author_id": author, "state": state}
    row["pr_created_at"] = created
    for k in ("cycle_time_hours", "review_time_hours"):
        if k in kw:
            kw[k] = dec(kw[k])
    row.update(kw)
    return row


def tiny_tables() -> dict[str, pa.Table]:
    members = [
        {"id": A, "team_id": 1, "github_id": "1", "is_active": True},
        {"id": B, "team_id": 1, "github_id": "2", "is_active": True},
        {"id": C, "team_id": 1, "github_id": "3", "is_active": True},
        {"id": D, "team_id": 1, "github_id": "4", "is_active": False},
        {"id": E, "team_id": 2, "github_id": "5", "is_active": True},
    ]
    prs = [
        pr(1, A, "merged", t(15, 10), merged_at=t(17, 10), first_review_at=t(15, 14, 30),
           cycle_time_hours="48.00", review_time_hours="4.50", additions=100, deletions=10),
        pr(2, A, "merged", t(19, 12), merged_at=t(23, 12, 15), cycle_time_hours="96.25",
           additions=7, deletions=3, is_hotfix=True),
        pr(3, A, "merged", t(22, 9), merged_at=t(22, 19), first_review_at=t(22, 12, 19, 48),
           cycle_time_hours="10.00", review_time_hours="3.33", additions=20, deletions=40, is_revert=True),
        pr(4, B, "open", t(23, 8), additions=5),
        pr(5, B, "closed", t(16, 8), updated_at=t(24, 8)),
        pr(6, D, "merged", t(29, 9), merged_at=t(31, 12), first_review_at=t(29, 10),
           cycle_time_hours="51.00", review_time_hours="1.00", additions=1, deletions=1),
        pr(7, B, "merged", t(29, 10), merged_at=t(30, 10), first_review_at=t(29, 12),
           cycle_time_hours="24.00", review_time_hours="2.00", additions=10, deletions=10),
        pr(9, B, "merged", t(29, 11), merged_at=t(30, 11), cycle_time_hours="24.00", additions=30),
        pr(8, A, "merged", t(8, 9), merged_at=t(9, 9), first_review_at=t(8, 10),
           cycle_time_hours="24.00", review_time_hours="1.00", additions=1, deletions=1),
    ]  # fmt: skip
    surveys = [
        {
            "id": 101,
            "team_id": 1,
            "pull_request_id": 1,
            "author_id": A,
            "author_ai_assisted": True,
            "author_responded_at": t(18, 13),
        },
        {"id": 102, "team_id": 1, "pull_request_id": 2, "author_id": A},  # never answered
        {
            "id": 103,
            "team_id": 1,
            "pull_request_id": 3,
            "author_id": A,
            "author_ai_assisted": False,
            "author_responded_at": t(23, 13),
        },
        {
            "id": 106,
            "team_id": 1,
            "pull_request_id": 6,
            "author_id": D,
            "author_ai_assisted": True,
            "author_responded_at": t(31, 13),
        },
        {
            "id": 107,
            "team_id": 1,
            "pull_request_id": 7,
            "author_id": B,
            "author_ai_assisted": True,
            "author_responded_at": t(30, 13),
        },
        {
            "id": 109,
            "team_id": 1,
            "pull_request_id": 9,
            "author_id": B,
            "author_ai_assisted": True,
            "author_responded_at": t(30, 13),
        },
    ]

    def sr(id_: int, survey: int, reviewer: int, q: int | None, guess: bool | None, ok: bool | None) -> dict[str, Any]:
        return {"id": id_, "team_id": 1, "survey_id": survey, "reviewer_id": reviewer, "quality_rating": q,
                "ai_guess": guess, "guess_correct": ok}  # fmt: skip

    answers = [
        sr(1, 101, B, 3, True, True),
        sr(2, 101, C, 2, False, False),
        sr(3, 102, B, None, None, None),  # NULL rating, no guess
        sr(4, 103, B, 2, False, True),
        sr(5, 103, C, 3, True, False),
        sr(6, 103, D, 3, True, True),
        sr(7, 106, B, 1, True, True),
        sr(8, 107, A, 3, True, True),
        sr(9, 107, C, 3, True, True),
        sr(10, 107, D, 3, False, False),
        sr(11, 107, E, 3, None, None),
        sr(12, 109, A, 3, False, False),
        sr(13, 109, C, 2, None, None),
        sr(14, 109, D, 2, None, None),
        sr(15, 109, E, 2, None, None),
    ]
    reviews = [
        {"id": 1, "team_id": 1, "pull_request_id": 1, "reviewer_id": B, "state": "approved", "submitted_at": t(15, 14, 30)},
        {"id": 2, "team_id": 1, "pull_request_id": 1, "reviewer_id": C, "state": "commented", "submitted_at": t(16, 9)},
        {"id": 3, "team_id": 1, "pull_request_id": 3, "reviewer_id": B, "state": "changes_requested", "submitted_at": t(22, 12, 19, 48)},
        {"id": 4, "team_id": 1, "pull_request_id": 3, "reviewer_id": B, "state": "approved", "submitted_at": t(22, 15)},
        {"id": 5, "team_id": 1, "pull_request_id": 3, "reviewer_id": C, "state": "approved", "submitted_at": t(22, 16)},
        {"id": 6, "team_id": 1, "pull_request_id": 3, "state": "commented", "submitted_at": t(22, 13), "is_ai_review": True},
        {"id": 7, "team_id": 1, "pull_request_id": 7, "reviewer_id": A, "state": "approved", "submitted_at": t(29, 12)},
    ]  # fmt: skip
    commits = [
        {"id": 1, "team_id": 1, "github_sha": "a1", "author_id": A, "committed_at": t(15, 10)},
        {"id": 2, "team_id": 1, "github_sha": "a2", "author_id": A, "committed_at": t(21, 23, 59, 59, 999999)},
        {"id": 3, "team_id": 1, "github_sha": "a3", "author_id": A, "committed_at": t(22, 0)},
        {"id": 4, "team_id": 1, "github_sha": "a4", "author_id": A, "committed_at": t(30, 8)},
        {"id": 5, "team_id": 2, "github_sha": "e1", "author_id": E, "committed_at": t(24, 10)},
        {"id": 6, "team_id": 1, "github_sha": "x1", "author_id": None, "committed_at": t(24, 10)},
    ]
    jira = [
        {"id": 1, "team_id": 1, "jira_id": "1", "assignee_id": A, "story_points": dec("3.5"), "resolved_at": t(16)},
        {"id": 2, "team_id": 1, "jira_id": "2", "assignee_id": A, "resolved_at": t(18)},
        {"id": 3, "team_id": 1, "jira_id": "3", "assignee_id": A, "story_points": dec("2.0"), "resolved_at": t(26)},
        {"id": 4, "team_id": 1, "jira_id": "4", "assignee_id": A, "story_points": dec("8.0")},  # unresolved
        {"id": 5, "team_id": 1, "jira_id": "5", "story_points": dec("5.0"), "resolved_at": t(16)},  # no assignee
    ]
    usage = [
        {"id": 1, "team_id": 1, "member_id": A, "date": dt.date(2025, 12, 15), "source": "copilot"},
        {"id": 2, "team_id": 1, "member_id": A, "date": dt.date(2025, 12, 16), "source": "copilot"},
        {"id": 3, "team_id": 1, "member_id": B, "date": dt.date(2025, 12, 17), "source": "cursor"},
        {"id": 4, "team_id": 1, "member_id": A, "date": dt.date(2025, 12, 22), "source": "copilot"},
    ]
    return {
        "teams_team": make_table("teams_team", [{"id": 1, "slug": "one"}, {"id": 2, "slug": "two"}]),
        "metrics_teammember": make_table("metrics_teammember", members),
        "metrics_pullrequest": make_table("metrics_pullrequest", prs),
        "metrics_prsurvey": make_table("metrics_prsurvey", surveys),
        "metrics_prsurveyreview": make_table("metrics_prsurveyreview", answers),
        "metrics_prreview": make_table("metrics_prreview", reviews),
        "metrics_commit": make_table("metrics_commit", commits),
        "metrics_jiraissue": make_table("metrics_jiraissue", jira),
        "metrics_aiusagedaily": make_table("metrics_aiusagedaily", usage),
    }


def _week_end(w: dt.date) -> dt.datetime:
    return dt.datetime(w.year, w.month, w.day, 23, 59, 59, tzinfo=dt.UTC) + dt.timedelta(days=6)


LAST_EVENT = t(31, 12)  # P6 merged
STAMP = {W1: _week_end(W1), W2: _week_end(W2), W3: LAST_EVENT}

MEMBER_COLS = [
    *("team_id", "member_id", "week_start", "prs_merged", "avg_cycle_time_hours", "avg_review_time_hours"),
    *("commits_count", "lines_added", "lines_removed", "revert_count", "hotfix_count", "story_points_completed"),
    *("issues_resolved", "ai_assisted_prs", "avg_quality_rating", "surveys_completed", "guess_accuracy"),
]
ZERO = (0, None, None, 0, 0, 0, 0, 0, "0.0", 0, 0, None, 0, None)
# fmt: off
EXPECTED_MEMBER_ROWS = [
    # team member week  prs cycle    review  commits +    -   rev hot sp    iss ai  qual   surv guess
    (1, A, W1, 1, "48.00", "4.50", 2, 100, 10, 0, 0, "0.0", 0, 1, "2.50", 1, "50.00"),  # no Jira figures: the app
    (1, A, W2, 2, "53.13", "3.33", 1, 27, 43, 1, 1, "0.0", 0, 0, "2.67", 1, "66.67"),  # 53.125 rounds up
    (1, A, W3, 0, None, None, 1, 0, 0, 0, 0, "0.0", 0, 0, None, 0, None),
    (1, B, W1, *ZERO),
    (1, B, W2, *ZERO),
    (1, B, W3, 2, "24.00", "2.00", 0, 40, 10, 0, 0, "0.0", 0, 2, "2.62", 2, "50.00"),  # 21/8 = 2.625: half-even
    (1, C, W1, *ZERO),
    (1, C, W2, *ZERO),
    (1, C, W3, *ZERO),
    (2, E, W1, *ZERO),
    (2, E, W2, 0, None, None, 1, 0, 0, 0, 0, "0.0", 0, 0, None, 0, None),
    (2, E, W3, *ZERO),
]
# fmt: on


def _as_expected(row: tuple[Any, ...]) -> dict[str, Any]:
    out = dict(zip(MEMBER_COLS, row, strict=True))
    for c in ("avg_cycle_time_hours", "avg_review_time_hours", "story_points_completed"):
        out[c] = dec(out[c])
    out["avg_quality_rating"] = dec(out["avg_quality_rating"])
    out["guess_accuracy"] = dec(out["guess_accuracy"])
    return out


def test_member_rows_every_column_by_hand() -> None:
    out = aggregate(tiny_tables(), week_starts=WEEKS)["metrics_weeklymetrics"]
    assert out.schema == METRICS_WEEKLYMETRICS.schema
    conform(out, METRICS_WEEKLYMETRICS)
    rows = out.to_pylist()
    assert len(rows) == len(EXPECTED_MEMBER_ROWS)
    for i, (got, want_row) in enumerate(zip(rows, EXPECTED_MEMBER_ROWS, strict=True), start=1):
        want = _as_expected(want_row)
        assert got["id"] == i
        assert got["created_at"] == got["updated_at"] == STAMP[want["week_start"]]
        for col in MEMBER_COLS:
            assert got[col] == want[col], (i, col, got[col], want[col])
            if isinstance(want[col], Decimal):  # same scale as the column, not just equal value
                assert str(got[col]) == str(want[col]), (i, col)
    # inactive D is absent although D merged P6 in W3
    assert D not in {r["member_id"] for r in rows}


def test_team_rows_every_column_by_hand() -> None:
    out = aggregate(tiny_tables(), week_starts=WEEKS)["demoseed_team_weekly"]
    assert out.schema == DEMOSEED_TEAM_WEEKLY.schema
    rows = out.to_pylist()
    assert [(r["team_id"], r["week_start"]) for r in rows] == [(1, W1), (1, W2), (1, W3), (2, W1), (2, W2), (2, W3)]
    w1, w2, w3 = rows[:3]
    assert w1 == pytest.approx(
        dict(team_id=1, week_start=W1, active_members=3, prs_opened=3, prs_merged=1, prs_closed=0, merge_rate=1.0,
             open_prs_at_week_end=2, cycle_time_median_hours=48.0, cycle_time_p90_hours=48.0,
             time_to_first_review_median_hours=4.5, review_time_median_hours=4.5, pr_size_median=110.0, surveys_completed=1,
             ai_assisted_share=1.0, avg_quality_rating=2.5, guesses=2, guess_accuracy=0.5, revert_rate=0.0, hotfix_rate=0.0,
             reviews=2, reviewers=2, reviews_per_reviewer=1.0, top_reviewer_share=0.5, active_ai_users=2)
    )  # fmt: skip
    assert w2 == pytest.approx(
        dict(team_id=1, week_start=W2, active_members=3, prs_opened=2, prs_merged=2, prs_closed=1, merge_rate=2 / 3,
             open_prs_at_week_end=1, cycle_time_median_hours=53.125, cycle_time_p90_hours=87.625,
             time_to_first_review_median_hours=3.33, review_time_median_hours=3.33, pr_size_median=35.0, surveys_completed=1,
             ai_assisted_share=0.0, avg_quality_rating=8 / 3, guesses=3, guess_accuracy=2 / 3, revert_rate=0.5, hotfix_rate=0.5,
             reviews=3, reviewers=2, reviews_per_reviewer=1.5, top_reviewer_share=2 / 3, active_ai_users=1)
    )  # fmt: skip
    assert w3 == pytest.approx(
        dict(team_id=1, week_start=W3, active_members=3, prs_opened=3, prs_merged=3, prs_closed=0, merge_rate=1.0,
             open_prs_at_week_end=1, cycle_time_median_hours=24.0, cycle_time_p90_hours=45.6,
             time_to_first_review_median_hours=1.5, review_time_median_hours=1.5, pr_size_median=20.0, surveys_completed=3,
             ai_assisted_share=1.0, avg_quality_rating=22 / 9, guesses=5, guess_accuracy=0.6, revert_rate=0.0, hotfix_rate=0.0,
             reviews=1, reviewers=1, reviews_per_reviewer=1.0, top_reviewer_share=1.0, active_ai_users=0)
    )  # fmt: skip
    empty = dict(active_members=1, prs_opened=0, prs_merged=0, prs_closed=0, merge_rate=None, open_prs_at_week_end=0,
                 cycle_time_median_hours=None, cycle_time_p90_hours=None, time_to_first_review_median_hours=None,
                 review_time_median_hours=None, pr_size_median=None, surveys_completed=0, ai_assisted_share=None,
                 avg_quality_rating=None, guesses=0, guess_accuracy=None, revert_rate=None, hotfix_rate=None, reviews=0, reviewers=0,
                 reviews_per_reviewer=None, top_reviewer_share=None, active_ai_users=0)  # fmt: skip
    for r, w in zip(rows[3:], WEEKS, strict=True):
        assert r == {"team_id": 2, "week_start": w, **empty}


def test_team_merges_match_member_rows_for_active_authors() -> None:
    res = aggregate(tiny_tables(), week_starts=WEEKS)
    members = pl.from_arrow(res["metrics_weeklymetrics"])
    teams = pl.from_arrow(res["demoseed_team_weekly"])
    per_week = members.group_by("team_id", "week_start").agg(pl.col("prs_merged").sum()).sort("team_id", "week_start")
    # D (inactive) merged P6 in W3: the team counts it, the member rows do not
    expected = teams.select("team_id", "week_start", "prs_merged").with_columns(
        pl.when((pl.col("team_id") == 1) & (pl.col("week_start") == W3))
        .then(pl.col("prs_merged") - 1)
        .otherwise(pl.col("prs_merged"))
    )
    assert (
        per_week.select("prs_merged").to_series().to_list()
        == expected.cast({"prs_merged": pl.UInt32})["prs_merged"].to_list()
    )


def test_weeks_derived_from_data_when_not_given() -> None:
    res = aggregate(tiny_tables())
    weeks = sorted({r["week_start"] for r in res["metrics_weeklymetrics"].to_pylist()})
    assert weeks == [dt.date(2025, 12, 8), W1, W2, W3]  # P8 opened and merged in the week of 12-08
    a0 = next(
        r for r in res["metrics_weeklymetrics"].to_pylist() if r["member_id"] == A and r["week_start"] == weeks[0]
    )
    assert (a0["prs_merged"], a0["avg_cycle_time_hours"], a0["avg_review_time_hours"]) == (
        1,
        Decimal("24.00"),
        Decimal("1.00"),
    )
    assert a0["id"] == 1
    assert res["demoseed_team_weekly"].num_rows == 8


def test_output_does_not_depend_on_input_row_order() -> None:
    tables = tiny_tables()
    shuffled = {}
    for name, tab in tables.items():
        idx = list(range(tab.num_rows))
        random.Random(7).shuffle(idx)
        shuffled[name] = tab.take(idx)
    a = aggregate(tables, week_starts=WEEKS)
    b = aggregate(shuffled, week_starts=list(reversed(WEEKS)))
    for name in a:
        assert content_hash(a[name]) == content_hash(b[name]), name


def test_week_starts_must_be_mondays() -> None:
    from pipeline.base.errors import UserError

    with pytest.raises(UserError, match="Mondays"):
        aggregate(tiny_tables(), week_starts=[dt.date(2025, 12, 16)])


def test_missing_tables_are_empty_and_missing_columns_are_named() -> None:
    from pipeline.base.errors import SchemaError

    res = aggregate({"metrics_teammember": tiny_tables()["metrics_teammember"]}, week_starts=[W1])
    assert res["metrics_weeklymetrics"].num_rows == 4  # A, B, C, E
    assert res["metrics_weeklymetrics"].column("prs_merged").to_pylist() == [0, 0, 0, 0]
    bad = tiny_tables()
    bad["metrics_pullrequest"] = bad["metrics_pullrequest"].drop(["merged_at"])
    with pytest.raises(SchemaError, match=r"metrics_pullrequest.*merged_at"):
        aggregate(bad)


def test_div_half_up_and_decimal_array_are_exact() -> None:
    df = pl.DataFrame({"n": [5, -5, 25, 1, 2, 0, 7], "d": [10, 10, 10, 3, 3, 0, 2]})
    got = df.select(div_half_up(pl.col("n"), pl.col("d"))).to_series().to_list()
    assert got == [1, -1, 3, 0, 1, None, 4]  # 0.5 -> 1, -0.5 -> -1, 2.5 -> 3 (not banker's 2)
    arr = decimal_array(pl.Series([12345, None, -1, 0, 999999]), pa.decimal128(10, 2))
    assert arr.to_pylist() == [Decimal("123.45"), None, Decimal("-0.01"), Decimal("0.00"), Decimal("9999.99")]
    with pytest.raises(ValueError, match="out of range"):
        decimal_array(pl.Series([1000]), pa.decimal128(3, 2))
