"""metrics_weeklymetrics follows the app's weekly aggregation rule by rule, on hand-built edge cases.

The app's task (``aggregate_team_weekly_metrics``) selects, for an active member m of team t
and the week [Monday 00:00, Sunday 23:59:59.999999]:

* PRs of t authored by m, ``state = 'merged'``, ``merged_at`` in the week;
* surveys of t whose *survey* author is m and whose PR's ``merged_at`` is in the week
  (whatever the PR's state): ``surveys_completed`` counts ``author_responded_at`` set,
  ``ai_assisted_prs`` counts ``author_ai_assisted`` true;
* reviewer answers of t on those surveys: guesses are answers with ``ai_guess`` set,
  correct ones are answers with ``guess_correct`` true (``ai_guess`` or not);
* commits of t by m with ``committed_at`` in the week;
* ``story_points_completed`` and ``issues_resolved``: never written (their defaults, 0).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from stages.aggregate import aggregate
from tests.test_aggregate import make_table

WEEK = dt.date(2025, 12, 15)
NEXT = dt.date(2025, 12, 22)
A, B, X = 10, 11, 20  # A and B in team 1, X in team 2


def at(day: int, hour: int = 0, us: int = 0) -> dt.datetime:
    return dt.datetime(2025, 12, day, hour, 0, 0, us, tzinfo=dt.UTC)


def _tables(**rows: list[dict[str, Any]]) -> dict[str, pa.Table]:
    members = [
        {"id": A, "team_id": 1, "github_id": "a", "is_active": True},
        {"id": B, "team_id": 1, "github_id": "b", "is_active": True},
        {"id": X, "team_id": 2, "github_id": "x", "is_active": True},
    ]
    out = {
        "teams_team": make_table("teams_team", [{"id": 1, "slug": "one"}, {"id": 2, "slug": "two"}]),
        "metrics_teammember": make_table("metrics_teammember", members),
    }
    out.update({f"metrics_{name}": make_table(f"metrics_{name}", r) for name, r in rows.items()})
    return out


def _rows(tables: dict[str, pa.Table], weeks: list[dt.date] | None = None) -> dict[tuple[int, dt.date], dict[str, Any]]:
    got = aggregate(tables, week_starts=weeks or [WEEK])["metrics_weeklymetrics"].to_pylist()
    return {(r["member_id"], r["week_start"]): r for r in got}


def _pr(id_: int, author: int | None, merged: dt.datetime | None, state: str = "merged", team: int = 1) -> dict:
    return {"id": id_, "team_id": team, "github_pr_id": id_, "author_id": author, "state": state,
            "pr_created_at": at(15), "merged_at": merged}  # fmt: skip


def test_surveys_completed_counts_responses_not_answers() -> None:
    """A response without an answer counts; an answer without a response time does not (but is AI-assisted)."""
    prs = [_pr(i, A, at(16)) for i in (1, 2, 3, 4, 5)]
    surveys = [
        {"id": 1, "team_id": 1, "pull_request_id": 1, "author_id": A, "author_responded_at": at(17)},
        {"id": 2, "team_id": 1, "pull_request_id": 2, "author_id": A, "author_ai_assisted": True},
        {"id": 3, "team_id": 1, "pull_request_id": 3, "author_id": A, "author_ai_assisted": False,
         "author_responded_at": at(17)},
        {"id": 4, "team_id": 1, "pull_request_id": 4, "author_id": A},  # sent, never answered
        {"id": 5, "team_id": 1, "pull_request_id": 5, "author_id": A, "author_responded_at": at(18)},
    ]  # fmt: skip
    row = _rows(_tables(pullrequest=prs, prsurvey=surveys))[(A, WEEK)]
    assert (row["surveys_completed"], row["ai_assisted_prs"], row["prs_merged"]) == (3, 1, 5)


def test_correct_guesses_count_without_a_guess() -> None:
    """guesses: ``ai_guess`` set; correct: ``guess_correct`` true, ``ai_guess`` or not."""
    prs = [_pr(1, A, at(16)), _pr(2, B, at(16))]
    surveys = [
        {"id": 1, "team_id": 1, "pull_request_id": 1, "author_id": A},
        {"id": 2, "team_id": 1, "pull_request_id": 2, "author_id": B},
    ]

    def answer(id_: int, survey: int, guess: bool | None, correct: bool | None) -> dict[str, Any]:
        return {"id": id_, "team_id": 1, "survey_id": survey, "reviewer_id": B, "ai_guess": guess,
                "guess_correct": correct}  # fmt: skip

    answers = [
        answer(1, 1, True, True),
        answer(2, 1, None, True),  # correct without a guess: counted correct, not a guess
        answer(3, 1, False, False),
        answer(4, 1, True, None),  # a guess not marked: a guess, not correct
        answer(5, 2, None, True),  # only a correct without a guess: no guesses, no accuracy
    ]
    rows = _rows(_tables(pullrequest=prs, prsurvey=surveys, prsurveyreview=answers))
    assert rows[(A, WEEK)]["guess_accuracy"] == Decimal("66.67")  # 2 correct / 3 guesses
    assert rows[(B, WEEK)]["guess_accuracy"] is None


def test_story_points_and_issues_resolved_stay_at_the_default() -> None:
    jira = [
        {"id": 1, "team_id": 1, "jira_id": "1", "assignee_id": A, "story_points": Decimal("3.5"), "resolved_at": at(16)},
        {"id": 2, "team_id": 1, "jira_id": "2", "assignee_id": A, "resolved_at": at(17)},
    ]  # fmt: skip
    row = _rows(_tables(jiraissue=jira))[(A, WEEK)]
    assert (row["story_points_completed"], row["issues_resolved"]) == (Decimal("0.0"), 0)


def test_surveys_and_answers_follow_the_survey_author_and_the_merge_time_only() -> None:
    """The survey's own author (not the PR's) and its PR's merged_at, whatever the PR's state."""
    prs = [_pr(1, A, at(16)), _pr(2, A, at(16), state="closed"), _pr(3, None, at(16))]
    surveys = [
        {"id": 1, "team_id": 1, "pull_request_id": 1, "author_id": B, "author_ai_assisted": True,
         "author_responded_at": at(17)},
        {"id": 2, "team_id": 1, "pull_request_id": 2, "author_id": A, "author_ai_assisted": True,
         "author_responded_at": at(17)},
        {"id": 3, "team_id": 1, "pull_request_id": 3, "author_id": A, "author_ai_assisted": False,
         "author_responded_at": at(17)},
    ]  # fmt: skip
    answers = [
        {"id": 1, "team_id": 1, "survey_id": 1, "reviewer_id": A, "quality_rating": 3},
        {"id": 2, "team_id": 1, "survey_id": 2, "reviewer_id": B, "quality_rating": 1},
        {"id": 3, "team_id": 1, "survey_id": 3, "reviewer_id": B, "quality_rating": 2},
    ]
    rows = _rows(_tables(pullrequest=prs, prsurvey=surveys, prsurveyreview=answers))
    a, b = rows[(A, WEEK)], rows[(B, WEEK)]
    assert (a["prs_merged"], a["surveys_completed"], a["ai_assisted_prs"], a["avg_quality_rating"]) == (
        1,
        2,
        1,
        Decimal("1.50"),
    )
    assert (b["prs_merged"], b["surveys_completed"], b["ai_assisted_prs"], b["avg_quality_rating"]) == (
        0,
        1,
        1,
        Decimal("3.00"),
    )


def test_only_rows_of_the_members_team_count() -> None:
    """Each of the app's queries filters by the team as well as by the member."""
    prs = [_pr(1, A, at(16)), _pr(2, A, at(16), team=2)]
    surveys = [
        {"id": 1, "team_id": 1, "pull_request_id": 1, "author_id": A, "author_responded_at": at(17)},
        {"id": 2, "team_id": 2, "pull_request_id": 2, "author_id": A, "author_responded_at": at(17)},
    ]
    answers = [
        {"id": 1, "team_id": 1, "survey_id": 1, "reviewer_id": B, "quality_rating": 3},
        {"id": 2, "team_id": 2, "survey_id": 1, "reviewer_id": X, "quality_rating": 1},
    ]
    commits = [
        {"id": 1, "team_id": 1, "github_sha": "a", "author_id": A, "committed_at": at(16)},
        {"id": 2, "team_id": 2, "github_sha": "b", "author_id": A, "committed_at": at(16)},
    ]
    rows = _rows(_tables(pullrequest=prs, prsurvey=surveys, prsurveyreview=answers, commit=commits))
    row = rows[(A, WEEK)]
    assert (row["prs_merged"], row["surveys_completed"], row["avg_quality_rating"], row["commits_count"]) == (
        1,
        1,
        Decimal("3.00"),
        1,
    )


def test_the_week_ends_at_the_last_microsecond_of_sunday() -> None:
    """Sunday 23:59:59.999999 is in the week; Monday 00:00 is in the next."""
    last, first = at(21, 23, 0) + dt.timedelta(minutes=59, seconds=59, microseconds=999_999), at(22)
    prs = [_pr(1, A, last), _pr(2, A, first)]
    surveys = [
        {"id": 1, "team_id": 1, "pull_request_id": 1, "author_id": A, "author_responded_at": at(23)},
        {"id": 2, "team_id": 1, "pull_request_id": 2, "author_id": A, "author_responded_at": at(23)},
    ]
    commits = [
        {"id": 1, "team_id": 1, "github_sha": "a", "author_id": A, "committed_at": last},
        {"id": 2, "team_id": 1, "github_sha": "b", "author_id": A, "committed_at": first},
    ]
    rows = _rows(_tables(pullrequest=prs, prsurvey=surveys, commit=commits), [WEEK, NEXT])
    for week in (WEEK, NEXT):
        row = rows[(A, week)]
        assert (row["prs_merged"], row["surveys_completed"], row["commits_count"]) == (1, 1, 1)


def test_a_load_as_of_an_instant_recomputes_its_week_by_the_same_rules(tmp_path: Path) -> None:
    """The instant's week as the app's task would compute it at that instant: responses and answers given by
    then, correct answers without a guess counted, no Jira figures."""
    from pipeline.runners.load import recompute_week
    from stages.aggregate.frames import COLUMNS
    from stages.load.asof import AsOf, plan_cut

    instant = at(17, 12)
    prs = [_pr(1, A, at(16)), _pr(2, A, at(16))]
    surveys = [
        # answered yes after the instant: not yet responded then
        {"id": 1, "team_id": 1, "pull_request_id": 1, "author_id": A, "created_at": at(16, 1),
         "author_ai_assisted": True, "author_responded_at": at(18)},
        # responded before it without saying whether AI helped
        {"id": 2, "team_id": 1, "pull_request_id": 2, "author_id": A, "created_at": at(16, 1),
         "author_responded_at": at(17, 10)},
    ]  # fmt: skip

    def answer(id_: int, guess: bool | None, correct: bool, responded: dt.datetime) -> dict[str, Any]:
        return {"id": id_, "team_id": 1, "survey_id": 2, "reviewer_id": B, "ai_guess": guess,
                "guess_correct": correct, "responded_at": responded, "created_at": responded}  # fmt: skip

    answers = [answer(1, None, True, at(17, 11)), answer(2, True, False, at(17, 11)), answer(3, True, True, at(17, 13))]
    jira = [{"id": 1, "team_id": 1, "jira_id": "1", "assignee_id": A, "story_points": Decimal("5.0"),
             "issue_created_at": at(15), "resolved_at": at(16)}]  # fmt: skip
    tables = _tables(pullrequest=prs, prsurvey=surveys, prsurveyreview=answers, jiraissue=jira)
    tables["metrics_weeklymetrics"] = aggregate(tables, week_starts=[WEEK])["metrics_weeklymetrics"]
    files = {}
    for name, table in tables.items():
        pq.write_table(table, tmp_path / f"{name}.parquet")
        files[name] = (tmp_path / f"{name}.parquet",)
    plan = plan_cut(files, AsOf(instant), recompute_week, COLUMNS)
    rows = {r["member_id"]: r for r in plan.recomputed.to_pylist()}
    a = rows[A]
    assert (a["prs_merged"], a["surveys_completed"], a["ai_assisted_prs"]) == (2, 1, 0)
    assert (a["guess_accuracy"], a["story_points_completed"], a["issues_resolved"]) == (Decimal("100.00"), 0, 0)
