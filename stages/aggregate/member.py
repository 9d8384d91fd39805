"""metrics_weeklymetrics: one row per active member per week, as the app computes it.

For member m of team t and week w (Monday 00:00 to Sunday 23:59:59.999999 UTC),
as the app's task (``aggregate_team_weekly_metrics``) selects them, every query
filtered by t as well as by m:

* merged PRs = t's PRs authored by m (``author_id``) with ``state = 'merged'``
  and ``merged_at`` in w. From them: ``prs_merged``; ``avg_cycle_time_hours`` /
  ``avg_review_time_hours`` = mean of the PR columns over the PRs where the
  column is not NULL (NULL when there is none); ``lines_added`` /
  ``lines_removed`` = sums of ``additions`` / ``deletions``; ``revert_count`` /
  ``hotfix_count`` = PRs with ``is_revert`` / ``is_hotfix``.
* surveys = t's surveys whose own ``author_id`` is m and whose PR's
  ``merged_at`` is in w, whatever the PR's state: ``surveys_completed`` = those
  with ``author_responded_at`` set (answered or not), ``ai_assisted_prs`` =
  those with ``author_ai_assisted`` true (responded or not).
* t's reviewer answers on those surveys: ``avg_quality_rating`` = mean of
  non-NULL ``quality_rating``; ``guess_accuracy`` = answers with
  ``guess_correct`` true (with or without ``ai_guess``) / answers with
  ``ai_guess`` set x 100, NULL without a guess.
* ``commits_count`` = t's commits by m with ``committed_at`` in w.
* ``story_points_completed`` / ``issues_resolved``: 0. The app's task never
  writes them: a row it creates keeps the model's defaults (0), a row it
  updates keeps what it had, so 0 is what it shows either way.

Decimals are rounded as the app stores them (``pipeline.base.appdecimal``):
``avg_cycle_time_hours`` / ``avg_review_time_hours`` are PostgreSQL's exact numeric
mean cast to ``numeric(10,2)``, half away from zero; ``avg_quality_rating`` is
``avg(integer)`` read as a float, cut to 3 significant digits half-even by Django,
then cast to ``numeric(3,2)``; ``guess_accuracy`` is the float
``correct / guesses * 100`` quantized half-even on its binary value. Rows are
ordered by (team_id, member_id, week_start) and get ids 1..N in that order; created_at = updated_at = the week's last second,
clamped to the data's last event.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pyarrow as pa

from pipeline.base.appdecimal import avg_int_units, guess_accuracy_units
from pipeline.base.schemas import METRICS_WEEKLYMETRICS

from .frames import Weeks, decimal_array, div_half_up

KEY = ["team_id", "member_id", "week_start"]


def _merged_prs(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Merged PRs with an author, keyed by (team, author, merge week)."""
    return (
        frames["metrics_pullrequest"]
        .filter((pl.col("state") == "merged") & pl.col("merged_at").is_not_null() & pl.col("author_id").is_not_null())
        .select(
            "team_id",
            pl.col("author_id").alias("member_id"),
            pl.col("merged_at_week").alias("week_start"),
            "cycle_time_c",
            "review_time_c",
            "additions",
            "deletions",
            "is_revert",
            "is_hotfix",
        )
    )


def _surveys(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Surveys with an author, keyed by (survey team, survey author, the week their PR's merged_at is in)."""
    merge_weeks = (
        frames["metrics_pullrequest"]
        .filter(pl.col("merged_at").is_not_null())
        .select(pl.col("id").alias("pull_request_id"), pl.col("merged_at_week").alias("week_start"))
    )
    return (
        frames["metrics_prsurvey"]
        .filter(pl.col("author_id").is_not_null())
        .join(merge_weeks, on="pull_request_id", how="inner")
        .select(
            "id",
            "team_id",
            pl.col("author_id").alias("member_id"),
            "week_start",
            "author_ai_assisted",
            "author_responded_at",
        )
    )


def _per_pair(df: pl.DataFrame, num: str, den: str, units: Callable[[int, int], int], out: str) -> pl.DataFrame:
    """``df`` with ``out`` = ``units(num, den)`` (null where ``den`` is 0), computed once per distinct pair."""
    pairs = df.select(num, den).unique().filter(pl.col(den) > 0).rows()
    lookup = pl.DataFrame(
        [(a, b, units(a, b)) for a, b in pairs], schema={num: pl.Int64, den: pl.Int64, out: pl.Int64}, orient="row"
    )
    return df.join(lookup, on=[num, den], how="left")


COUNTS = [
    "prs_merged",
    "commits_count",
    "lines_added",
    "lines_removed",
    "revert_count",
    "hotfix_count",
    "issues_resolved",
    "ai_assisted_prs",
    "surveys_completed",
]
SUMS = ["cycle_sum", "cycle_n", "review_sum", "review_n", "quality_sum", "quality_n", "guesses", "guesses_correct"]
# column -> (integer units column, its decimal type)
DECIMALS = {
    "avg_cycle_time_hours": ("cycle_c", pa.decimal128(10, 2)),
    "avg_review_time_hours": ("review_c", pa.decimal128(10, 2)),
    "story_points_completed": ("story_points_t", pa.decimal128(10, 1)),
    "avg_quality_rating": ("quality_c", pa.decimal128(3, 2)),
    "guess_accuracy": ("accuracy_c", pa.decimal128(5, 2)),
}


def _grid(frames: dict[str, pl.DataFrame], weeks: Weeks) -> pl.DataFrame:
    """Every active member x every week."""
    members = (
        frames["metrics_teammember"]
        .filter(pl.col("is_active").fill_null(False))
        .select(pl.col("id").alias("member_id"), "team_id")
    )
    return members.join(weeks.frame(), how="cross").sort(["team_id", "member_id", "week_start"])


def _pr_parts(frames: dict[str, pl.DataFrame]) -> list[pl.DataFrame]:
    """Per (team, member, week): the merged PRs' sums, the surveys' counts, the reviewers' answers' sums."""
    pr_agg = (
        _merged_prs(frames)
        .group_by(KEY)
        .agg(
            pl.len().alias("prs_merged"),
            pl.col("cycle_time_c").sum().alias("cycle_sum"),
            pl.col("cycle_time_c").count().alias("cycle_n"),
            pl.col("review_time_c").sum().alias("review_sum"),
            pl.col("review_time_c").count().alias("review_n"),
            pl.col("additions").cast(pl.Int64).sum().alias("lines_added"),
            pl.col("deletions").cast(pl.Int64).sum().alias("lines_removed"),
            pl.col("is_revert").cast(pl.Int64).sum().alias("revert_count"),
            pl.col("is_hotfix").cast(pl.Int64).sum().alias("hotfix_count"),
        )
    )
    surveys = _surveys(frames)
    survey_agg = surveys.group_by(KEY).agg(
        pl.col("author_responded_at").is_not_null().sum().alias("surveys_completed"),
        (pl.col("author_ai_assisted") == True).sum().alias("ai_assisted_prs"),  # noqa: E712 - null-safe count
    )
    # an answer counts for its own team (the app filters every query by team) and its survey's author
    answers = frames["metrics_prsurveyreview"].join(
        surveys.select(pl.col("id").alias("survey_id"), "member_id", "week_start"), on="survey_id", how="inner"
    )
    answer_agg = answers.group_by(KEY).agg(
        pl.col("quality_rating").cast(pl.Int64).sum().alias("quality_sum"),
        pl.col("quality_rating").count().alias("quality_n"),
        pl.col("ai_guess").is_not_null().sum().alias("guesses"),
        pl.col("guess_correct").fill_null(False).sum().alias("guesses_correct"),
    )
    return [pr_agg, survey_agg, answer_agg]


def _commits(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per (team, member, week): commits by ``committed_at``."""
    return (
        frames["metrics_commit"]
        .filter(pl.col("author_id").is_not_null() & pl.col("committed_at").is_not_null())
        .group_by("team_id", pl.col("author_id").alias("member_id"), pl.col("committed_at_week").alias("week_start"))
        .agg(pl.len().alias("commits_count"))
    )


def _rounded(df: pl.DataFrame) -> pl.DataFrame:
    """Zeros where nothing happened; the means and the accuracy in the units the app stores."""
    return (
        df.with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in [*COUNTS, *SUMS, "story_points_t"]])
        .with_columns(
            div_half_up(pl.col("cycle_sum"), pl.col("cycle_n")).alias("cycle_c"),
            div_half_up(pl.col("review_sum"), pl.col("review_n")).alias("review_c"),
        )
        .pipe(_per_pair, "quality_sum", "quality_n", lambda s, n: avg_int_units(s, n, 3, 2), "quality_c")
        .pipe(_per_pair, "guesses_correct", "guesses", guess_accuracy_units, "accuracy_c")
    )


def _as_table(df: pl.DataFrame) -> pa.Table:
    """The rows in the table's schema: counts cast, decimals built exactly from their units."""
    plain = df.select(
        pl.col("id").cast(pl.Int64),
        pl.col("stamp").alias("created_at"),
        pl.col("stamp").alias("updated_at"),
        "team_id",
        "member_id",
        "week_start",
        *COUNTS,
    ).to_arrow()
    cols = []
    for f in METRICS_WEEKLYMETRICS.schema:
        if f.name in DECIMALS:
            src, typ = DECIMALS[f.name]
            cols.append(decimal_array(df.get_column(src), typ))
        else:
            cols.append(plain.column(f.name).cast(f.type))
    return pa.Table.from_arrays(cols, schema=METRICS_WEEKLYMETRICS.schema)


def member_weekly(frames: dict[str, pl.DataFrame], weeks: Weeks) -> pa.Table:
    """The metrics_weeklymetrics rows (schema-exact pyarrow table)."""
    stamps = pl.DataFrame({"week_start": weeks.starts, "stamp": weeks.stamps()}).with_columns(
        pl.col("week_start").cast(pl.Date), pl.col("stamp").cast(pl.Datetime("us", "UTC"))
    )
    df = _grid(frames, weeks)
    for part in (*_pr_parts(frames), _commits(frames)):
        df = df.join(part, on=KEY, how="left")
    # the app's task never writes these two: a row it creates keeps the defaults
    df = df.with_columns(pl.lit(0, pl.Int64).alias("issues_resolved"), pl.lit(0, pl.Int64).alias("story_points_t"))
    df = (
        _rounded(df)
        .join(stamps, on="week_start", how="left")
        .sort(["team_id", "member_id", "week_start"])
        .with_row_index("id", offset=1)
    )
    return _as_table(df)
