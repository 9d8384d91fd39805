"""demoseed_team_weekly: one row per team per week, the numbers a story is told with.

Every team in teams_team (and every team an active member belongs to) gets a
row for every week, zeros included. Fractions are 0..1 floats; times are
hours. For team t and week w (Monday 00:00 to Sunday 24:00 UTC):

* ``active_members``: t's members with ``is_active`` (the roster the member rows cover).
* ``prs_opened``: PRs with ``pr_created_at`` in w. ``prs_merged``: PRs with
  ``state = 'merged'`` and ``merged_at`` in w (as the member rows count them).
  ``prs_closed``: PRs with ``state = 'closed'`` (closed unmerged) whose
  ``updated_at`` is in w: the app keeps no ``closed_at``, and a closed PR's
  last update is its closing. ``merge_rate`` = merged / (merged + closed).
* ``open_prs_at_week_end``: PRs created before the week's end and not yet
  merged (``merged_at``) or closed (``updated_at``, for closed PRs) by then.
* Over the PRs merged in w: ``cycle_time_median_hours`` / ``cycle_time_p90_hours``
  (``cycle_time_hours``; linear interpolation between ranks),
  ``time_to_first_review_median_hours`` (``first_review_at - pr_created_at``),
  ``review_time_median_hours`` (``review_time_hours``), ``pr_size_median``
  (additions + deletions), ``revert_rate`` / ``hotfix_rate`` (share with
  ``is_revert`` / ``is_hotfix``).
* Surveys of the PRs merged in w: ``surveys_completed`` (author responded:
  ``author_responded_at`` set, as the app counts them), ``ai_assisted_share`` =
  author said yes / author responded; reviewer answers
  on them: ``avg_quality_rating`` (1..3), ``guesses`` (``ai_guess`` set) and
  ``guess_accuracy`` = correct / guesses (0..1, not a percentage). The two
  counts let a reader pool weeks (sum of share x count / sum of counts).
* Reviews submitted in w by a member (``reviewer_id`` set, not ``is_ai_review``):
  ``reviews``, ``reviewers`` (distinct), ``reviews_per_reviewer``,
  ``top_reviewer_share`` = the busiest reviewer's reviews / reviews.
* ``active_ai_users``: distinct members with a metrics_aiusagedaily row in w.

NULL where there is nothing to measure (no merges, no surveys, no reviews).
Means and shares come from integer sums and medians from integer units, so the
floats do not depend on summation order.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from pipeline.base.schemas import DEMOSEED_TEAM_WEEKLY

from .frames import Weeks

KEY = ["team_id", "week_start"]
_US_PER_HOUR = 3_600_000_000


def _ratio(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num).cast(pl.Float64) / pl.col(den).cast(pl.Float64))


def _teams(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    members = frames["metrics_teammember"]
    ids = pl.concat([frames["teams_team"].get_column("id"), members.get_column("team_id")]).unique()
    roster = (
        members.filter(pl.col("is_active").fill_null(False)).group_by("team_id").agg(pl.len().alias("active_members"))
    )
    return pl.DataFrame({"team_id": ids}).join(roster, on="team_id", how="left")


def _pr_flow(prs: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    opened = prs.filter(pl.col("pr_created_at").is_not_null()).group_by(
        "team_id", pl.col("pr_created_at_week").alias("week_start")
    )
    closed = prs.filter(pl.col("state") == "closed").group_by("team_id", pl.col("updated_at_week").alias("week_start"))
    # Open at the end of week w: opened in a week <= w and not resolved (merge, or close for closed PRs)
    # in a week <= w. A running count of +1 per opening and -1 per resolution, read at each grid week
    # (as-of join), keeps this linear in PRs + weeks. A resolution stamped before the opening counts at
    # the opening.
    resolved_at = (
        pl.when(pl.col("state") == "merged")
        .then(pl.coalesce("merged_at", "updated_at"))
        .when(pl.col("state") == "closed")
        .then(pl.col("updated_at"))
    )
    spans = prs.filter(pl.col("pr_created_at").is_not_null()).select(
        "team_id",
        pl.col("pr_created_at_week").alias("opened"),
        pl.when(resolved_at.is_not_null())
        .then(pl.max_horizontal(resolved_at.dt.truncate("1w").dt.date(), pl.col("pr_created_at_week")))
        .alias("resolved"),
    )
    running = (
        pl.concat(
            [
                spans.select("team_id", pl.col("opened").alias("week_start"), pl.lit(1, pl.Int64).alias("delta")),
                spans.filter(pl.col("resolved").is_not_null()).select(
                    "team_id", pl.col("resolved").alias("week_start"), pl.lit(-1, pl.Int64).alias("delta")
                ),
            ]
        )
        .group_by(KEY)
        .agg(pl.col("delta").sum())
        .sort(KEY)
        .with_columns(pl.col("delta").cum_sum().over("team_id").alias("open_prs_at_week_end"))
        .drop("delta")
    )
    open_at_end = (
        grid.select(KEY)
        .sort(KEY)
        .join_asof(running.sort(KEY), on="week_start", by="team_id", strategy="backward", check_sortedness=False)
    )
    return (
        grid.join(opened.agg(pl.len().alias("prs_opened")), on=KEY, how="left")
        .join(closed.agg(pl.len().alias("prs_closed")), on=KEY, how="left")
        .join(open_at_end, on=KEY, how="left")
    )


def _merged(frames: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per (team, week) stats of the PRs merged in the week, and their surveys' stats."""
    merged = frames["metrics_pullrequest"].filter((pl.col("state") == "merged") & pl.col("merged_at").is_not_null())
    ttfr_us = (pl.col("first_review_at") - pl.col("pr_created_at")).dt.total_microseconds()
    stats = merged.group_by("team_id", pl.col("merged_at_week").alias("week_start")).agg(
        pl.len().alias("prs_merged"),
        (pl.col("cycle_time_c").median() / 100).alias("cycle_time_median_hours"),
        (pl.col("cycle_time_c").quantile(0.9, "linear") / 100).alias("cycle_time_p90_hours"),
        (ttfr_us.median() / _US_PER_HOUR).alias("time_to_first_review_median_hours"),
        (pl.col("review_time_c").median() / 100).alias("review_time_median_hours"),
        (pl.col("additions").cast(pl.Int64) + pl.col("deletions").cast(pl.Int64)).median().alias("pr_size_median"),
        pl.col("is_revert").cast(pl.Int64).sum().alias("reverts"),
        pl.col("is_hotfix").cast(pl.Int64).sum().alias("hotfixes"),
    )
    keyed = merged.select(
        pl.col("id").alias("pull_request_id"), "team_id", pl.col("merged_at_week").alias("week_start")
    )
    # counted for the PR's team, like its merges
    surveys = frames["metrics_prsurvey"].drop("team_id").join(keyed, on="pull_request_id", how="inner")
    answers = (
        frames["metrics_prsurveyreview"]
        .drop("team_id")
        .join(surveys.select(pl.col("id").alias("survey_id"), *KEY), on="survey_id", how="inner")
    )
    guessed = pl.col("ai_guess").is_not_null()
    survey_stats = (
        surveys.group_by(KEY)
        .agg(
            pl.col("author_responded_at").is_not_null().sum().alias("surveys_completed"),
            (pl.col("author_ai_assisted") == True).sum().alias("ai_assisted_prs"),  # noqa: E712 - null-safe count
        )
        .join(
            answers.group_by(KEY).agg(
                pl.col("quality_rating").cast(pl.Int64).sum().alias("quality_sum"),
                pl.col("quality_rating").count().alias("quality_n"),
                guessed.sum().alias("guesses"),
                (guessed & pl.col("guess_correct").fill_null(False)).sum().alias("guesses_correct"),
            ),
            on=KEY,
            how="full",
            coalesce=True,
        )
    )
    return stats, survey_stats


def _reviews(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    per_reviewer = (
        frames["metrics_prreview"]
        .filter(
            pl.col("reviewer_id").is_not_null()
            & pl.col("submitted_at").is_not_null()
            & ~pl.col("is_ai_review").fill_null(False)
        )
        .group_by("team_id", pl.col("submitted_at_week").alias("week_start"), "reviewer_id")
        .agg(pl.len().alias("n"))
    )
    return per_reviewer.group_by(KEY).agg(
        pl.col("n").sum().alias("reviews"), pl.len().alias("reviewers"), pl.col("n").max().alias("top_reviews")
    )


def team_weekly(frames: dict[str, pl.DataFrame], weeks: Weeks) -> pa.Table:
    """The demoseed_team_weekly rows (schema-exact pyarrow table), ordered by (team_id, week_start)."""
    grid = _teams(frames).join(weeks.frame(), how="cross")
    stats, survey_stats = _merged(frames)
    ai_users = (
        frames["metrics_aiusagedaily"]
        .group_by("team_id", pl.col("date_week").alias("week_start"))
        .agg(pl.col("member_id").n_unique().alias("active_ai_users"))
    )
    df = _pr_flow(frames["metrics_pullrequest"], grid)
    for part in (stats, survey_stats, _reviews(frames), ai_users):
        df = df.join(part, on=KEY, how="left")
    zero = [
        "active_members",
        "prs_opened",
        "prs_merged",
        "prs_closed",
        "open_prs_at_week_end",
        "reverts",
        "hotfixes",
        "surveys_completed",
        "ai_assisted_prs",
        "quality_sum",
        "quality_n",
        "guesses",
        "guesses_correct",
        "reviews",
        "reviewers",
        "top_reviews",
        "active_ai_users",
    ]
    df = (
        df.with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in zero])
        .with_columns(
            (pl.col("prs_merged") + pl.col("prs_closed")).alias("resolved"),
        )
        .with_columns(
            _ratio("prs_merged", "resolved").alias("merge_rate"),
            _ratio("ai_assisted_prs", "surveys_completed").alias("ai_assisted_share"),
            _ratio("quality_sum", "quality_n").alias("avg_quality_rating"),
            _ratio("guesses_correct", "guesses").alias("guess_accuracy"),
            _ratio("reverts", "prs_merged").alias("revert_rate"),
            _ratio("hotfixes", "prs_merged").alias("hotfix_rate"),
            _ratio("reviews", "reviewers").alias("reviews_per_reviewer"),
            _ratio("top_reviews", "reviews").alias("top_reviewer_share"),
        )
        .sort(KEY)
    )
    out = df.select(DEMOSEED_TEAM_WEEKLY.column_names).to_arrow()
    cols = [out.column(f.name).cast(f.type) for f in DEMOSEED_TEAM_WEEKLY.schema]
    return pa.Table.from_arrays(cols, schema=DEMOSEED_TEAM_WEEKLY.schema)
