"""Real-project mode: a whole team built from a real project's pull requests.

``build_project(preset, normalized, seed=, anchor=)`` takes the normalized
``gh_*`` tables of a preset's repos (see ``pipeline.base.projects``) and returns
the app tables plus ``demoseed_provenance``:

* observed (``observed``): the team's members (real authors and
  reviewers, bots and deleted users excluded, capped at the preset's
  ``max_members`` by activity, ids in order of first appearance), their PRs,
  reviews, commits and files, and the PR metrics computed from the real
  timestamps;
* simulated (``stages.generate.simulated``), deterministic
  for the seed: AI assistance (the preset's AI base rate, higher for larger
  PRs; a PR with AI co-authored commits is AI-assisted by observation),
  author surveys and reviewer answers (the preset's survey response rate),
  daily AI usage, Jira issues (one per PR, story points by size, two-week
  sprints), deployments and check runs.

``demoseed_provenance`` says, per PR, which fields are real and which are
simulated. The anchor (the last week's Monday) defaults to the Monday of the
week of the newest real event; the weeks cover the preset's ``days_back``.
PRs are keyed by (repo, number) throughout, so same-numbered PRs of a
multi-repo preset never mix.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from decimal import Decimal

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.base.errors import UserError
from pipeline.base.parquet import conform, sort_rows
from pipeline.base.projects import Preset
from pipeline.base.rng import Key
from pipeline.base.runrecord import ProjectInfo
from pipeline.base.schemas import spec
from stages.generate import ProjectResult, provenance, simulated
from stages.generate.real_project import observed as real
from stages.generate.real_project import rows

log = logging.getLogger(__name__)
TEAM_ID = 1

# What a real-project PR takes from GitHub (provenance vocabulary); is_ai_assisted too when observed.
REAL_PR_FIELDS = (
    *(c for c in provenance.PR_COLUMNS if c not in ("is_ai_assisted", "jira_key")),
    "metrics_prreview",
    "metrics_commit",
    "metrics_prfile",
)
SIMULATED_TABLES = (
    "metrics_prsurvey",
    "metrics_prsurveyreview",
    "metrics_aiusagedaily",
    "metrics_jiraissue",
    "metrics_deployment",
    "metrics_prcheckrun",
)


def _frames(normalized: dict[str, pa.Table]) -> dict[str, pl.DataFrame]:
    out = {}
    for name in ("gh_pull_requests", "gh_reviews", "gh_commits", "gh_files"):
        table = normalized.get(name)
        table = spec(name).schema.empty_table() if table is None else conform(table, spec(name))
        df = pl.from_arrow(table)
        assert isinstance(df, pl.DataFrame)
        out[name] = df
    return out


def resolve_anchor(anchor: dt.date | None, newest: dt.datetime | None) -> dt.date:
    """The last week's Monday: the given one, or the Monday of the newest real event's week."""
    if anchor is not None:
        if anchor.weekday() != 0:
            raise UserError(f"anchor {anchor.isoformat()} is a {anchor:%A}; give a Monday")
        return anchor
    if newest is None:
        raise UserError("no real PRs to build the project from; fetch the preset's repos first")
    day = newest.date()
    return day - dt.timedelta(days=day.weekday())


def _week_starts(start: dt.datetime, anchor: dt.date) -> list[dt.date]:
    first = start.date() - dt.timedelta(days=start.date().weekday())
    n = (anchor - first).days // 7 + 1
    return [first + dt.timedelta(weeks=i) for i in range(n)]


def _arrow(df: pl.DataFrame, name: str) -> pa.Table:
    s = spec(name)
    return sort_rows(conform(df.select(list(s.column_names)).to_arrow(), s), s)


def provenance_frame(pr_df: pl.DataFrame) -> pl.DataFrame:
    """One row per PR: real_project, its real repo/number, real vs simulated fields."""
    real_ai, sim_ai = (provenance.fields_json(f) for f in provenance.split((*REAL_PR_FIELDS, "is_ai_assisted")))
    real_plain, sim_plain = (provenance.fields_json(f) for f in provenance.split(REAL_PR_FIELDS))
    observed = pl.col("_ai_observed")
    return pr_df.select(
        "team_id",
        pull_request_id="id",
        source=pl.lit("real_project"),
        real_repo="_real_repo",
        real_number="_real_number",
        real_fields=pl.when(observed).then(pl.lit(real_ai)).otherwise(pl.lit(real_plain)),
        simulated_fields=pl.when(observed).then(pl.lit(sim_ai)).otherwise(pl.lit(sim_plain)),
    )


def _story_points(issues: pa.Table, prs: pa.Table) -> pa.Table:
    """Story points by the PR's size (lines changed): 1, 2, 3, 5, 8 (Jira issue id = PR id)."""
    size = pc.add(prs.column("additions"), prs.column("deletions")).to_numpy().astype(np.int64)
    by_id = np.zeros(int(pc.max(prs.column("id")).as_py() or 0) + 1, np.int64)
    by_id[prs.column("id").to_numpy()] = size
    lines = by_id[issues.column("id").to_numpy()]
    points = np.select([lines <= 10, lines <= 50, lines <= 200, lines <= 500], [1, 2, 3, 5], 8)
    col = pa.array([Decimal(int(p)) for p in points], type=pa.decimal128(5, 1))
    return issues.set_column(issues.schema.get_field_index("story_points"), issues.schema.field("story_points"), col)


def simulate_children(
    tables: dict[str, pa.Table],
    p_ai: np.ndarray,
    observed_ai: np.ndarray,
    preset: Preset,
    *,
    seed: int,
    weeks: list[dt.date],
) -> dict[str, pa.Table]:
    """What GitHub cannot give, via ``stages.generate.simulated`` (deterministic for the seed).

    Sets the PRs' ``is_ai_assisted`` (observed AI commits win) and ``jira_key``
    (one Jira issue per PR) and adds surveys (merged PRs of members, the
    preset's response rate), survey reviews, AI usage, Jira issues (story
    points by PR size, two-week sprints), deployments and check runs.
    """
    k: Key = (seed, "project", preset.key)
    prs = tables["metrics_pullrequest"]
    has_author = pc.is_valid(prs.column("author_id")).to_numpy(zero_copy_only=False)
    surveyed = (
        simulated.choose_surveyed(prs, k=k, response_rate=preset.survey_response_rate, week_starts=weeks) & has_author
    )
    ai = simulated.assign_ai_assisted(prs, k=k, ai_probability=p_ai, week_starts=weeks, surveyed=surveyed) | observed_ai
    jira = simulated.assign_jira_keys(prs, k=k, prefix=preset.jira_key, share=1.0)
    schema = prs.schema
    prs = prs.set_column(schema.get_field_index("is_ai_assisted"), schema.field("is_ai_assisted"), pa.array(ai))
    prs = prs.set_column(schema.get_field_index("jira_key"), schema.field("jira_key"), jira)
    out = {"metrics_pullrequest": conform(prs, spec("metrics_pullrequest"))}
    surveys, survey_reviews = simulated.simulate_surveys(
        prs,
        tables["metrics_prreview"],
        k=k,
        teams=tables["teams_team"],
        surveyed=surveyed,
        week_starts=weeks,
        ai_assisted=ai,
    )
    out["metrics_prsurvey"] = surveys
    out["metrics_prsurveyreview"] = survey_reviews
    out["metrics_aiusagedaily"] = simulated.simulate_ai_usage(tables["metrics_teammember"], prs, k=k, week_starts=weeks)
    issues = simulated.simulate_jira_issues(prs, k=k, week_starts=weeks)
    out["metrics_jiraissue"] = _story_points(issues, prs)
    out["metrics_deployment"] = simulated.simulate_deployments(prs, k=k, week_starts=weeks)
    out["metrics_prcheckrun"] = simulated.simulate_check_runs(prs, k=k, week_starts=weeks)
    return {name: sort_rows(t, spec(name)) for name, t in out.items()}


def _window(
    preset: Preset, f: dict[str, pl.DataFrame], anchor: dt.date | None
) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """(anchor, start, end) of the run: the anchor given or the newest event of the preset's human PRs,
    and the ``days_back`` days up to the end of the anchor's week."""
    wanted = [r.lower() for r in preset.repos]
    prs_all = f["gh_pull_requests"]
    scoped = prs_all.filter(pl.col("repo").str.to_lowercase().is_in(wanted) & ~pl.col("author_is_bot"))
    scoped_reviews = f["gh_reviews"].join(scoped.select("repo", "number"), on=["repo", "number"], how="semi")
    anchor = resolve_anchor(anchor, real.newest_event(scoped, scoped_reviews))
    end = dt.datetime.combine(anchor + dt.timedelta(days=7), dt.time(), tzinfo=dt.UTC)
    return anchor, end - dt.timedelta(days=preset.days_back), end


def _commits_once(commits: pl.DataFrame, prs: pl.DataFrame, report: Counter[str]) -> pl.DataFrame:
    """The selected PRs' commits, a commit shared by several PRs kept once, on the earliest PR."""
    commits = commits.join(prs.select("repo", "number", "pr_id", "created_at"), on=["repo", "number"])
    before = commits.height
    commits = commits.sort(["pr_id", "committed_at", "sha"], nulls_last=True).unique(
        subset=["sha"], keep="first", maintain_order=True
    )
    if before - commits.height:
        report["commits shared by several PRs kept once, on the earliest PR"] += before - commits.height
    return commits


def build_project(
    preset: Preset, normalized: dict[str, pa.Table], *, seed: int, anchor: dt.date | None = None
) -> ProjectResult:
    """The preset's team from its real PRs; simulated only what GitHub cannot give."""
    report: Counter[str] = Counter()
    f = _frames(normalized)
    anchor_given = anchor is not None
    anchor, start, end = _window(preset, f, anchor)
    prs = real.select_prs(f["gh_pull_requests"], preset.repos, start, end, preset.max_prs_per_repo, report)
    if prs.height == 0:
        raise UserError(
            f"project {preset.key}: no human-authored PRs of {', '.join(preset.repos)} in the "
            f"{preset.days_back} days before {end.date().isoformat()}; fetch them or give another --anchor"
        )
    reviews, ai_review = real.select_reviews(prs, f["gh_reviews"], report)
    reviews = reviews.join(prs.select("pr_id", pr_created_at="created_at"), on="pr_id")
    people = real.members(prs, reviews, preset.max_members, report)
    member_of = people.select(login="login", member_id="member_id")

    commits = _commits_once(f["gh_commits"], prs, report)
    files = f["gh_files"].join(prs.select("repo", "number", "pr_id", "created_at"), on=["repo", "number"])

    metrics = real.pr_metrics(prs, reviews, commits)
    evidence = real.ai_evidence(prs, commits, files, ai_review)
    synced = end

    tables: dict[str, pa.Table] = {}
    tables["teams_team"] = rows.team_table(preset, TEAM_ID, start)
    member_df = rows.member_frame(people, TEAM_ID)
    pr_df = rows.pull_request_frame(prs, metrics, evidence, member_of, TEAM_ID, synced)
    tables["metrics_teammember"] = _arrow(member_df, "metrics_teammember")
    tables["metrics_pullrequest"] = _arrow(pr_df, "metrics_pullrequest")
    tables["metrics_prreview"] = _arrow(rows.review_frame(reviews, member_of, TEAM_ID, report), "metrics_prreview")
    tables["metrics_commit"] = _arrow(rows.commit_frame(commits, member_of, TEAM_ID), "metrics_commit")
    tables["metrics_prfile"] = _arrow(rows.file_frame(files, TEAM_ID, report), "metrics_prfile")
    weeks = _week_starts(start, anchor)
    p_ai = rows.ai_probability(pr_df.rename({"id": "pr_id"}), preset.ai_base_rate)
    observed_ai = pr_df["_ai_observed"].to_numpy()
    tables.update(simulate_children(tables, p_ai, observed_ai, preset, seed=seed, weeks=weeks))
    tables["demoseed_provenance"] = _arrow(provenance_frame(pr_df), "demoseed_provenance")

    real_fields, simulated_fields = provenance.split(REAL_PR_FIELDS)
    info = ProjectInfo(
        project=preset.key,
        team_slugs=(preset.team_slug,),
        seed=seed,
        anchor=anchor,
        anchor_source="given" if anchor_given else "newest real event",
        window=(start, end),
        week_starts=tuple(weeks),
        repos=tuple(preset.repos),
        members=people.height,
        real_prs=prs.height,
        real_fields=tuple(real_fields),
        simulated_fields=tuple(simulated_fields),
        simulated_tables=tuple(SIMULATED_TABLES),
        dropped=dict(sorted(report.items())),
    )
    log.info("project %s: %d members, %d PRs; %s", preset.key, people.height, prs.height, info.dropped)
    return ProjectResult(tables=tables, info=info)
