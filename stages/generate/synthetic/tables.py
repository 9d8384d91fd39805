"""Scenario generation: from a validated scenario to the 12 app tables + provenance.

Order of work in :func:`generate_tables` (every step whole-column
numpy/pyarrow, all teams of the run, or of a :class:`TeamSlice` of it, at once): teams and members -> PR skeleton (volume,
times, states, sizes, flags; plus the warm-up backlog created before week 1,
``pr_skeleton.py``) -> reviews by archetype quota (``reviews.py``) -> survey selection
and AI truth (quota per week) -> the real-share plan (``blend.py``) -> the PR
fields, synthetic then overlaid with real ones (``pr_table.py``) -> commits and
files (``commits_files.py``) -> the PR table -> simulated tables (surveys, checks,
deployments, Jira, AI usage, :mod:`stages.generate.simulated`) -> provenance and run info.

Randomness: ``k = (seed, scenario)`` and every step gets its own extension
(``(*k, "pr")``, ``(*k, "review")``, ...), see :mod:`pipeline.base.rng`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.base.parquet import conform
from pipeline.base.rng import Key
from pipeline.base.schemas import spec
from stages.generate import provenance, simulated
from stages.generate.draws import US_PER_DAY, US_PER_HOUR, pick
from stages.generate.scenario import Scenario
from stages.generate.simulated.base import window_us
from stages.generate.synthetic import blend, commits_files, pr_table, reviews
from stages.generate.synthetic.pr_skeleton import PRFrame, PRState, count_prs, skeleton, warmup_weeks
from stages.generate.synthetic.team import (
    build_members,
    build_teams,
    roster,
    team_slugs,
    week_starts_for,
    with_copilot_activity,
)


@dataclass(frozen=True)
class Params:
    """A resolved generate run (see :func:`stages.generate.resolve`)."""

    scenario: Scenario
    seed: int
    anchor: dt.date
    weeks: int
    teams: int
    members: int
    fixed_prs: int | None
    team_slug: str
    real_share: float


@dataclass(frozen=True)
class TeamSlice:
    """Teams ``first .. first + count - 1`` (0-based) of a run; their PR ids start after ``pr_offset``
    (the PRs of the teams before them, :func:`count_slice_prs`). A slice's rows are exactly those
    teams' rows of the whole run: every draw is keyed by team, member, PR key or PR id."""

    first: int
    count: int
    pr_offset: int = 0

    @property
    def teams(self) -> range:
        return range(self.first, self.first + self.count)


@dataclass(frozen=True)
class RunFacts:
    """What :func:`stages.generate.run_info` needs from the tables of one slice; slices' facts add up (:meth:`plus`)."""

    prs: int
    warmup_prs: int
    blended: int
    used_sources: frozenset[int]  # pool indexes of the real PRs taken
    pool_size: int | None  # None: no real pool
    reason: str

    def plus(self, other: RunFacts) -> RunFacts:
        return RunFacts(
            self.prs + other.prs,
            self.warmup_prs + other.warmup_prs,
            self.blended + other.blended,
            self.used_sources | other.used_sources,
            self.pool_size,
            self.reason,
        )


def warmup_of(p: Params) -> int:
    # warm-up: PRs created in the weeks before the window that are still unresolved at its start, so
    # week 1 has a backlog and its merges the cycle times of a running team; a fixed PR count (--prs)
    # means exactly that many PRs, all created in the window: no warm-up
    return 0 if p.fixed_prs is not None else warmup_weeks(p.scenario, p.weeks)


def count_slice_prs(p: Params, teams: range) -> int:
    """The PRs of ``teams`` (cheap: the PR skeleton's first half), to give the next slice its id offset."""
    return count_prs(
        p.scenario,
        roster(p.scenario, p.members),
        teams=teams,
        week_starts=week_starts_for(p.anchor, p.weeks),
        k=(p.seed, p.scenario.name, "pr"),
        fixed_prs=p.fixed_prs,
        warmup=warmup_of(p),
    )


def generate_tables(
    p: Params, real: dict[str, pa.Table] | None, part: TeamSlice | None = None
) -> tuple[dict[str, pa.Table], RunFacts]:
    """The 12 app tables + demoseed_provenance of a run (or of a slice of its teams), and its facts."""
    sc = p.scenario
    part = part or TeamSlice(0, p.teams)
    k: Key = (p.seed, sc.name)
    week_starts = week_starts_for(p.anchor, p.weeks)
    start, end = window_us(week_starts)
    ros = roster(sc, p.members)
    slugs = team_slugs(p.team_slug, part.teams)
    warmup = warmup_of(p)
    teams = build_teams(sc, slugs, start - warmup * 7 * US_PER_DAY, (*k, "team"), part.first)  # members join before
    members, company = build_members(teams, ros.size, (*k, "member"))

    frame = skeleton(
        sc,
        ros,
        teams=part.teams,
        week_starts=week_starts,
        k=(*k, "pr"),
        fixed_prs=p.fixed_prs,
        warmup=warmup,
        pr_offset=part.pr_offset,
    )
    pr_row, reviewer = reviews.allocate(frame, ros, sc, (*k, "review"))
    review_table, changes = reviews.build_reviews(frame, pr_row, reviewer, sc, ros, week_starts, (*k, "review"))

    base = pr_table.base_pr_table(frame)
    surveyed, ai = _ai_truth(p, frame, base, week_starts, (*k, "sim"))
    mix = blend.plan(real, p.real_share, frame.team, frame.key, (*k, "real"))
    fields = pr_table.overlay_real(pr_table.synthetic_fields(frame, members, company, k), frame, mix)
    commit_table, after = _commits(frame, fields, ai, end, (*k, "commit"))
    files = _files(frame, fields, mix, (*k, "file"))

    jira_base = base.append_column("is_hotfix", pa.array(frame.is_hotfix)).append_column("title", fields.title)
    jira_keys = simulated.assign_jira_keys(jira_base, k=(*k, "sim"), prefix=sc.jira_prefix)
    prs = pr_table.pr_table(
        frame, fields, ai=ai, changes=changes, commits_after=after, jira_keys=jira_keys, k=(*k, "pr-extra")
    )
    sim_tables = _simulated_tables(
        p, frame, prs, review_table, (teams, members), surveyed, ai, week_starts, (*k, "sim")
    )
    members = with_copilot_activity(members, sim_tables["metrics_aiusagedaily"], (*k, "member"))

    tables = {
        "teams_team": teams,
        "metrics_teammember": members,
        "metrics_pullrequest": prs,
        "metrics_prreview": review_table,
        "metrics_commit": commit_table,
        "metrics_prfile": files,
        **sim_tables,
        "demoseed_provenance": _provenance(frame, mix),
    }
    return tables, _run_facts(frame, mix)


def _run_facts(frame: PRFrame, mix: blend.Blend) -> RunFacts:
    """What run_info sums over slices: PRs, warm-up PRs and how the real share was met."""
    blended = mix.blended
    return RunFacts(
        prs=frame.n,
        warmup_prs=int((frame.week < 0).sum()),
        blended=int(blended.sum()),
        used_sources=frozenset(int(i) for i in np.unique(mix.src[blended])) if mix.pool is not None else frozenset(),
        pool_size=mix.pool.size if mix.pool is not None else None,
        reason=mix.reason,
    )


def _ai_truth(
    p: Params, frame: PRFrame, base: pa.Table, week_starts: list[dt.date], k: Key
) -> tuple[np.ndarray, np.ndarray]:
    """(surveyed, AI-assisted) per PR: quotas per team x merge week, separately for surveyed PRs."""
    sc = p.scenario
    surveyed = simulated.choose_surveyed(base, k=k, response_rate=sc.survey_rate, week_starts=week_starts)
    ai = simulated.assign_ai_assisted(
        base,
        k=k,
        ai_probability=frame.ai_probability,
        week_starts=week_starts,
        surveyed=surveyed,
        target_share=sc.curve("ai_share", p.weeks),
    )
    return surveyed, ai


def _commits(
    frame: PRFrame, fields: pr_table.PRFields, ai: np.ndarray, end: int, k: Key
) -> tuple[pa.Table, np.ndarray]:
    """metrics_commit, and per PR the commits after its first review."""
    open_ = frame.state == PRState.OPEN
    last = np.where(open_, np.minimum(frame.created + 48 * US_PER_HOUR, end - 2_000_000), frame.closed)
    return commits_files.build_commits(
        pr_id=frame.id,
        team_id=frame.team + 1,
        author_id=frame.author_id,
        repo=fields.repo,
        title=fields.title,
        created=frame.created,
        last=last,
        first_review=frame.first_review,
        additions=fields.additions,
        deletions=fields.deletions,
        ai=ai,
        counts=fields.n_commits,
        k=k,
    )


def _files(frame: PRFrame, fields: pr_table.PRFields, mix: blend.Blend, k: Key) -> pa.Table:
    """metrics_prfile: synthetic catalog paths, then the real paths of the blended PRs."""
    cols = commits_files.synthetic_files(frame.id, frame.key, fields.n_files, fields.additions, fields.deletions, k)
    parts = [commits_files.files_table(cols, frame.team + 1, frame.created)]
    if mix.pool is not None and mix.blended.any():
        rows = np.flatnonzero(mix.blended)
        real_cols = blend.real_file_columns(mix.pool, mix.src[rows], rows, frame.id)
        parts.append(commits_files.files_table(real_cols, frame.team + 1, frame.created))
    return pa.concat_tables(parts)


def _simulated_tables(
    p: Params,
    frame: PRFrame,
    prs: pa.Table,
    review_table: pa.Table,
    people: tuple[pa.Table, pa.Table],  # teams_team, metrics_teammember
    surveyed: np.ndarray,
    ai: np.ndarray,
    week_starts: list[dt.date],
    k: Key,
) -> dict[str, pa.Table]:
    """Surveys, check runs, deployments, Jira issues and AI usage, in the app tables' order."""
    sc = p.scenario
    teams, members = people
    surveys, survey_reviews = simulated.simulate_surveys(
        prs,
        review_table,
        k=k,
        teams=teams,
        surveyed=surveyed,
        week_starts=week_starts,
        quality=sc.curve("quality_rating", p.weeks),
        guess_accuracy=frame.guess_accuracy,
        ai_assisted=ai,
    )
    return {
        "metrics_prcheckrun": simulated.simulate_check_runs(
            prs, k=k, week_starts=week_starts, ci_pass_rate=sc.curve("ci_pass_rate", p.weeks)
        ),
        "metrics_prsurvey": surveys,
        "metrics_prsurveyreview": survey_reviews,
        "metrics_aiusagedaily": simulated.simulate_ai_usage(members, prs, k=k, week_starts=week_starts),
        "metrics_deployment": simulated.simulate_deployments(prs, k=k, week_starts=week_starts),
        "metrics_jiraissue": simulated.simulate_jira_issues(prs, k=k, week_starts=week_starts),
    }


def _provenance(frame: PRFrame, mix: blend.Blend) -> pa.Table:
    """demoseed_provenance: per PR synthetic, or real_blend with its real PR and the fields taken from it."""
    n = frame.n
    blended = mix.blended
    real_number = np.zeros(n, np.int64)
    real_repo = pa.nulls(n, pa.string())
    if mix.pool is not None and blended.any():
        picked = mix.pool.repo.take(pa.array(np.maximum(mix.src, 0)))
        real_repo = pc.if_else(pa.array(blended), picked, pa.scalar(None, pa.string()))
        real_number = np.where(blended, mix.pool.number[np.maximum(mix.src, 0)], 0)
    real, simulated_fields = provenance.split(blend.REAL_FIELDS, untouched=blend.UNTOUCHED_FIELDS)
    _, everything = provenance.split((), untouched=blend.UNTOUCHED_FIELDS)
    real_json, sim_json, all_json = (provenance.fields_json(f) for f in (real, simulated_fields, everything))
    return conform(
        pa.table(
            {
                "team_id": frame.team + 1,
                "pull_request_id": frame.id,
                "source": pick(("synthetic", "real_blend"), blended),
                "real_repo": real_repo,
                "real_number": pa.array(real_number, mask=~blended),
                "real_fields": pick(("[]", real_json), blended),
                "simulated_fields": pick((all_json, sim_json), blended),
            }
        ),
        spec("demoseed_provenance"),
    )
