"""Every stored decimal rounded as the app (Django 5.2 on PostgreSQL) stores it, on exact half-way values.

* ``avg_quality_rating``: PostgreSQL's ``avg(integer)`` read as a float, cut to 3 significant
  digits half-even (Django's ``DecimalField.to_python``), then cast to ``numeric(3,2)``.
* ``guess_accuracy``: ``Decimal((correct / guesses) * 100).quantize(Decimal("0.01"))``, half-even
  on the float's binary value (which may sit just below or above the decimal half).
* ``avg_cycle_time_hours`` / ``avg_review_time_hours``: PostgreSQL's exact numeric mean cast to
  ``numeric(10,2)``, half away from zero.
* PR / Jira ``cycle_time_hours`` / ``review_time_hours``: ``round(td.total_seconds() / 3600, 2)``.

The PostgreSQL steps are checked against a real server.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Context, Decimal
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.base.appdecimal import (
    avg_int_units,
    django_float_units,
    guess_accuracy_units,
    hours_units,
    pg_int_avg,
    round_float_units,
)
from stages.aggregate import aggregate
from stages.aggregate.frames import div_half_up
from tests.test_aggregate import make_table

WEEK = dt.date(2025, 12, 15)
T0 = dt.datetime(2025, 12, 15, 9, tzinfo=dt.UTC)


def _weekly(members: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """One merged PR per member in WEEK with the given PR hours, survey ratings and guesses; the member rows."""
    team = [{"id": m, "team_id": 1, "github_id": str(m), "is_active": True} for m in members]
    prs: list[dict[str, Any]] = []
    surveys: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    for m, spec in members.items():
        for hours in spec.get("cycle", [None]):
            pid = len(prs) + 1
            prs.append(
                {
                    "id": pid,
                    "team_id": 1,
                    "github_pr_id": pid,
                    "author_id": m,
                    "state": "merged",
                    "pr_created_at": T0,
                    "merged_at": T0 + dt.timedelta(hours=1),
                    "cycle_time_hours": None if hours is None else Decimal(hours),
                }
            )
        sid = len(surveys) + 1
        surveys.append({"id": sid, "team_id": 1, "pull_request_id": len(prs), "author_id": m})
        ratings = spec.get("ratings", [])
        correct, guesses = spec.get("guesses", (0, 0))
        for i in range(max(len(ratings), guesses)):
            answers.append(
                {"id": len(answers) + 1, "team_id": 1, "survey_id": sid, "reviewer_id": m,
                 "quality_rating": ratings[i] if i < len(ratings) else None,
                 "ai_guess": True if i < guesses else None, "guess_correct": i < correct if i < guesses else None}
            )  # fmt: skip
    tables = {
        "teams_team": make_table("teams_team", [{"id": 1, "slug": "one"}]),
        "metrics_teammember": make_table("metrics_teammember", team),
        "metrics_pullrequest": make_table("metrics_pullrequest", prs),
        "metrics_prsurvey": make_table("metrics_prsurvey", surveys),
        "metrics_prsurveyreview": make_table("metrics_prsurveyreview", answers),
    }
    rows = aggregate(tables, week_starts=[WEEK])["metrics_weeklymetrics"].to_pylist()
    return {r["member_id"]: r for r in rows}


def test_quality_rating_average_on_a_tie_is_stored_half_even() -> None:
    rows = _weekly(
        {
            1: {"ratings": [3, 3, 3, 3, 3, 2, 2, 2]},  # 21 / 8 = 2.625 -> 2.62 (half away from zero gave 2.63)
            2: {"ratings": [3, 3, 3, 2, 2, 2, 2, 2]},  # 19 / 8 = 2.375 -> 2.38
            3: {"ratings": [1, 2, 2]},  # 1.666... -> 1.67
            4: {"ratings": [1, 1, 1, 2, 2, 2, 2, 2]},  # 13 / 8 = 1.625 -> 1.62
            5: {"ratings": [3]},
            6: {},
        }
    )
    got = {m: r["avg_quality_rating"] for m, r in rows.items()}
    assert got == {
        1: Decimal("2.62"),
        2: Decimal("2.38"),
        3: Decimal("1.67"),
        4: Decimal("1.62"),
        5: Decimal("3.00"),
        6: None,
    }


def test_guess_accuracy_is_the_floats_binary_value_quantized_half_even() -> None:
    # 1/20000, 3/20000, 5/20000 of 100 are 0.005, 0.015, 0.025 in decimal; as floats the first and the
    # last lie just above the half and the middle one just below it.
    assert Decimal(1 / 20000 * 100) > Decimal("0.005")
    assert Decimal(3 / 20000 * 100) < Decimal("0.015")
    assert Decimal(5 / 20000 * 100) > Decimal("0.025")
    rows = _weekly(
        {
            1: {"guesses": (5, 32)},  # 15.625 exactly in binary -> 15.62 (half away from zero gave 15.63)
            2: {"guesses": (3, 32)},  # 9.375 -> 9.38
            3: {"guesses": (2, 3)},  # 66.666... -> 66.67
            4: {"guesses": (1, 20000)},  # above the half -> 0.01
            5: {"guesses": (3, 20000)},  # below the half -> 0.01 (gave 0.02)
            6: {"guesses": (5, 20000)},  # above the half -> 0.03 (half-even on the decimal would say 0.02)
            7: {"guesses": (0, 4)},
        }
    )
    got = {m: r["guess_accuracy"] for m, r in rows.items()}
    assert got == {
        1: Decimal("15.62"),
        2: Decimal("9.38"),
        3: Decimal("66.67"),
        4: Decimal("0.01"),
        5: Decimal("0.01"),
        6: Decimal("0.03"),
        7: Decimal("0.00"),
    }


def test_average_pr_hours_is_the_exact_mean_rounded_half_away_from_zero() -> None:
    rows = _weekly(
        {
            1: {"cycle": ["12.34", "12.35"]},  # 12.345 -> 12.35 (PostgreSQL numeric cast)
            2: {"cycle": ["0.01", "0.02", "0.02", "0.02", "0.01", "0.02", "0.02", "0.02"]},  # 0.0175 -> 0.02
            3: {"cycle": ["1.00", "1.00", "1.01"]},  # 1.00333 -> 1.00
            4: {"cycle": ["99999999.99", "99999999.98"]},  # 99999999.985 -> 99999999.99
        }
    )
    got = {m: r["avg_cycle_time_hours"] for m, r in rows.items()}
    assert got == {1: Decimal("12.35"), 2: Decimal("0.02"), 3: Decimal("1.00"), 4: Decimal("99999999.99")}


def test_a_float_into_a_decimal_field_is_cut_to_max_digits_first() -> None:
    # decimal(10, 2): 12345678.125 has 11 significant digits; Django's context of 10 rounds it
    # half-even to 12345678.12 before PostgreSQL sees it. 1234.125 fits 10 digits as it is, and
    # PostgreSQL's cast rounds the third place half away from zero.
    assert django_float_units(12345678.125, 10, 2) == 1234567812
    assert django_float_units(1234.125, 10, 2) == 123413
    assert django_float_units(2.625, 3, 2) == 262
    assert django_float_units(0.125, 3, 2) == 13  # 3 significant digits keep the 5; the cast rounds it up
    assert django_float_units(2.675, 3, 2) == 267  # 2.675 is 2.67499999... in binary


def test_pr_hours_are_round_of_total_seconds_over_3600() -> None:
    s = 1_000_000
    us = np.array([18 * s, 54 * s, 450 * s, 1350 * s, 90 * s, 0, 3600 * s, 9 * s, 27 * s], np.int64)
    # 0.005 h and 0.025 h are above the half as floats, 0.015 h below it; 0.125 and 0.375 are exact ties (to even)
    assert hours_units(us).tolist() == [1, 1, 12, 38, 3, 0, 100, 0, 1]
    rng = random.Random(7)
    spans = [rng.randrange(0, 400 * 3600 * s) for _ in range(20000)]
    spans += [k * 18 * s for k in range(1, 5000)]  # every multiple of 0.005 h
    spans += [k * 18 * s + d for k in range(1, 2000) for d in (-1, 1)]
    app = [int(Decimal(str(round(dt.timedelta(microseconds=u).total_seconds() / 3600, 2))).scaleb(2)) for u in spans]
    assert hours_units(np.array(spans, np.int64)).tolist() == app


def test_round_float_units_is_pythons_round() -> None:
    rng = random.Random(3)
    xs = [k / 1000 for k in range(-20000, 20000)] + [rng.uniform(-1e6, 1e6) for _ in range(20000)]
    xs += [k + 0.005 for k in range(0, 10000, 7)]
    want = [int(Decimal(str(round(x, 2))).scaleb(2)) for x in xs]
    assert round_float_units(np.array(xs)).tolist() == want


def test_generated_prs_store_hours_as_the_app_computes_them() -> None:
    from stages.generate.draws import hours_decimal

    us = np.array([54_000_000, 18_000_000, 0, 7_200_000_000], np.int64)
    got = hours_decimal(us, np.array([True, True, False, True])).to_pylist()
    assert got == [Decimal("0.01"), Decimal("0.01"), None, Decimal("2.00")]
    assert hours_decimal(us).type == pa.decimal128(10, 2)


def test_postgres_average_and_cast_are_as_modelled(pg_database: str) -> None:
    """pg_int_avg is PostgreSQL's avg(integer) digit for digit; the field's Decimal cast to numeric(p,s) as modelled."""
    import psycopg

    rng = random.Random(11)
    sets = [[3, 3, 3, 3, 3, 2, 2, 2], [1, 2, 2], [5], [1] * 7 + [2], [0, 0, 1]]
    sets += [[rng.randint(0, 5) for _ in range(rng.randint(1, 40))] for _ in range(200)]
    sets += [[rng.randint(-(10**9), 10**9) for _ in range(rng.randint(1, 30))] for _ in range(100)]
    with psycopg.connect(pg_database) as conn:
        for values in sets:
            row = conn.execute("SELECT avg(v)::text FROM unnest(%s::int[]) v", (values,)).fetchone()
            assert row is not None
            assert str(pg_int_avg(sum(values), len(values))) == row[0], values
        for value, digits, places in [(2.625, 3, 2), (0.125, 3, 2), (1234.125, 10, 2), (12345678.125, 10, 2)]:
            field_value = Context(prec=digits).create_decimal_from_float(value)  # DecimalField.to_python
            stored = conn.execute(f"SELECT %s::numeric({digits},{places})::text", (field_value,)).fetchone()
            assert stored is not None
            assert Decimal(stored[0]).scaleb(places) == django_float_units(value, digits, places)
        # Avg() over numeric(10,2) is a Decimal; the column's cast rounds the exact mean half away from zero
        for hours in (
            ["12.34", "12.35"],
            ["0.01", "0.02", "0.02", "0.02"],
            ["-1.01", "-1.02"],
            ["1.00", "1.00", "1.01"],
        ):
            row = conn.execute(
                "SELECT avg(v)::numeric(10,2)::text FROM unnest(%s::numeric(10,2)[]) v", ([Decimal(h) for h in hours],)
            ).fetchone()
            assert row is not None
            units = pl.DataFrame({"s": [sum(int(Decimal(h).scaleb(2)) for h in hours)], "n": [len(hours)]})
            mean = units.select(div_half_up(pl.col("s"), pl.col("n"))).item()  # what member_weekly stores
            assert int(Decimal(row[0]).scaleb(2)) == mean, hours
        for values in sets[:205]:
            if min(values) < 0:
                continue
            avg = conn.execute("SELECT avg(v) FROM unnest(%s::int[]) v", (values,)).fetchone()
            assert avg is not None
            as_float = float(avg[0])  # Django's FloatField converter
            stored = conn.execute(
                "SELECT %s::numeric(3,2)::text", (Context(prec=3).create_decimal_from_float(as_float),)
            ).fetchone()
            assert stored is not None
            assert int(Decimal(stored[0]).scaleb(2)) == avg_int_units(sum(values), len(values), 3, 2), values


def test_guess_accuracy_units_match_the_apps_expression() -> None:
    for guesses in (1, 3, 7, 8, 32, 200, 20000):
        for correct in range(0, guesses + 1, max(1, guesses // 300)):
            want = Decimal((correct / guesses) * 100).quantize(Decimal("0.01"))
            assert guess_accuracy_units(correct, guesses) == int(want.scaleb(2))


def _ts(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _project_pr_metrics(merged: list[int], requests: list[tuple[int, int]], commits: list[tuple[int, int]]) -> dict:
    """Real-project PR metrics per PR id: PRs 1.. created at T0 and merged ``merged`` seconds later, change
    requests and commits as (PR id, seconds after T0)."""
    from stages.generate.real_project.observed import pr_metrics

    n = len(merged)
    prs = pl.DataFrame({"pr_id": range(1, n + 1), "created_at": [T0] * n, "merged_at": [_ts(s) for s in merged]})
    reviews = pl.DataFrame(
        {
            "pr_id": [p for p, _ in requests],
            "pr_author_login": ["a"] * len(requests),
            "reviewer_login": ["b"] * len(requests),
            "state": ["changes_requested"] * len(requests),
            "submitted_at": [_ts(s) for _, s in requests],
        }
    )
    made = pl.DataFrame({"pr_id": [p for p, _ in commits], "committed_at": [_ts(s) for _, s in commits]})
    return {r["pr_id"]: r for r in pr_metrics(prs, reviews, made).iter_rows(named=True)}


def test_real_project_prs_store_hours_as_the_app_computes_them() -> None:
    row = _project_pr_metrics([54], [(1, 18), (1, 3600)], [(1, 72), (1, 3654)])[1]
    # 54 s = 0.015 h, just below the half as a float: 0.01; both fixes took 54 s, mean 0.015 h: 0.01
    assert (row["cycle_time_hours"], row["review_time_hours"]) == (Decimal("0.01"), Decimal("0.01"))
    assert row["avg_fix_response_hours"] == Decimal("0.01")


def test_real_project_fix_response_takes_the_first_commit_strictly_after_the_request() -> None:
    """The app's sync pairs a change request with the first commit *after* it (``commit_time > review_time``)."""
    # PR 1: a commit at the request's instant, the next two hours later; PR 2: only one at the instant
    rows = _project_pr_metrics([36000, 36000], [(1, 3600), (2, 3600)], [(1, 3600), (1, 3 * 3600), (2, 3600)])
    assert rows[1]["avg_fix_response_hours"] == Decimal("2.00")
    assert rows[2]["avg_fix_response_hours"] is None
