"""The as-of cut: each table as the team stood at the load instant, in DuckDB SQL over the snapshot.

A load shows the team as it stood at one instant (the load instant moved
back by the whole-week shift, so everything here is in the snapshot's own
time). Per table, :func:`cut_sources` gives a ``SELECT *`` over the Parquet
file that the loader reads instead of the file itself:

- a PR created after the instant is absent, and so is everything of it
  (reviews, commits, files, check runs, survey, reviewer answers, its
  deployments);
- a PR merged (or closed) after it is open: ``state = 'open'``, no
  ``merged_at``, no ``cycle_time_hours``; a first review after it is not there
  either (``first_review_at``, ``review_time_hours``, ``review_rounds``,
  ``avg_fix_response_hours``, ``commits_after_first_review`` NULL, as for a
  PR nobody reviewed). The app sets ``first_review_at`` / ``review_time_hours``
  at the first review, merged or not, so a review before the instant keeps them;
  a PR open at the instant whose reviews or commits go on after it gets its
  counts as they stood (as the app's sync computes them from the rows then):
  ``commits_after_first_review`` counts the commits up to the instant,
  ``review_rounds`` is at most 1 + the changes requested so far,
  ``avg_fix_response_hours`` is the mean time from a change request to the
  next commit, both up to the instant (NULL without one), and
  ``total_comments`` is the share of the PR's life so far (rounded down);
- reviews, commits, reviewer answers, deployments, Jira issues submitted /
  committed / answered / deployed / created after it are absent; a survey
  answered after it is unanswered (answer fields NULL), a check run still
  running is ``in_progress`` (no conclusion, completion, duration), a Jira
  issue resolved after it is ``In Progress`` (no resolution, cycle time);
- AI-usage days after the instant's day and weekly rows of weeks after its
  week are absent; the rows of its own week are replaced by ``RECOMPUTED``, a
  relation the caller registers (the aggregate stage's rows for that week,
  computed from :func:`week_inputs`), keeping the snapshot's ids;
- bookkeeping stamps (``created_at``, ``updated_at``, ``synced_at``, the team's
  sync stamps) later than the instant are moved back to it. A survey's
  ``token_expires_at`` is a deadline, not an event, and is kept.

Everything is set-based SQL (semi-joins on ids), so a snapshot of a million
PRs is cut without a Python loop; the snapshot files are only read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from pipeline.base.schemas import WEEKLY, spec

from .ddl import quote
from .extensions import connect

# (cut input tables of one week, its Monday) -> that week's metrics_weeklymetrics rows (the aggregate stage's)
WeekRecompute = Callable[[dict[str, pa.Table], dt.date], pa.Table]

RECOMPUTED = "demoseed_recomputed_week"
_WEEK_PRS = "demoseed_week_prs"  # the instant's week's PRs, as cut, while plan_cut recomputes that week
# bookkeeping timestamps moved back to the instant when later (not events: rows are not dropped for them)
_STAMPS = ("created_at", "updated_at", "synced_at")
_TEAM_STAMPS = (
    "billing_details_last_changed",
    "last_synced_with_stripe",
    "onboarding_pipeline_started_at",
    "onboarding_pipeline_completed_at",
    "copilot_last_sync_at",
)


@dataclass(frozen=True)
class AsOf:
    """The load instant in snapshot time (UTC) and the Monday of its week."""

    instant: dt.datetime

    @property
    def week(self) -> dt.date:
        day = self.instant.date()
        return day - dt.timedelta(days=day.weekday())

    @property
    def ts(self) -> str:
        return f"TIMESTAMPTZ '{self.instant.astimezone(dt.UTC).isoformat(sep=' ')}'"

    @property
    def day(self) -> str:
        return f"DATE '{self.instant.astimezone(dt.UTC).date().isoformat()}'"


def _parquet(paths: tuple[Path, ...]) -> str:
    """DuckDB's reader over a table's files (one, or its parts in order)."""
    quoted = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    return f"read_parquet([{quoted}])"


class _Cut:
    """Builds the per-table SQL for one instant over one snapshot's files."""

    def __init__(self, files: dict[str, tuple[Path, ...]], asof: AsOf, *, prs_where: str | None = None) -> None:
        self.files = files
        self.t = asof.ts
        self.asof = asof
        self.prs_where = prs_where  # only these snapshot PRs (a cut of some PRs, e.g. one week's)

    def src(self, table: str) -> str:
        if table == "metrics_pullrequest" and self.prs_where:
            return f"(SELECT * FROM {_parquet(self.files[table])} WHERE {self.prs_where})"
        return _parquet(self.files[table])

    def pr_opened(self) -> str:
        """A PR row's condition: it was opened by the instant (the cut keeps it)."""
        return f"coalesce(pr_created_at, created_at) <= {self.t}"

    def pr_closed_later(self) -> str:
        """A PR row's condition: merged, or closed, after the instant (the cut shows it open)."""
        return f"{self.later('merged_at')} OR (state = 'closed' AND updated_at > {self.t})"

    def kept_prs(self) -> str:
        return f"SELECT id FROM {self.src('metrics_pullrequest')} WHERE {self.pr_opened()}"

    def kept_surveys(self) -> str:
        return (
            f"SELECT id FROM {self.src('metrics_prsurvey')} WHERE created_at <= {self.t} "
            f"AND pull_request_id IN ({self.kept_prs()})"
        )

    def stamps(self, table: str, extra: tuple[str, ...] = ()) -> list[str]:
        names = set(spec(table).column_names)
        # not least(): it skips NULLs, and a NULL stamp must stay NULL
        return [
            f"CASE WHEN {quote(c)} > {self.t} THEN {self.t} ELSE {quote(c)} END AS {quote(c)}"
            for c in (*_STAMPS, *extra)
            if c in names
        ]

    def select(self, table: str, replace: list[str], where: list[str]) -> str:
        rep = f" REPLACE ({', '.join(replace)})" if replace else ""
        cond = f" WHERE {' AND '.join(f'({w})' for w in where)}" if where else ""
        return f"SELECT *{rep} FROM {self.src(table)}{cond}"

    def later(self, col: str) -> str:
        return f"{quote(col)} > {self.t}"

    def null_if(self, cond: str, cols: tuple[str, ...]) -> list[str]:
        return [f"CASE WHEN {cond} THEN NULL ELSE {quote(c)} END AS {quote(c)}" for c in cols]

    def table(self, table: str) -> str:
        t = self.t
        in_prs = f"pull_request_id IN ({self.kept_prs()})"
        stamps = self.stamps(table)
        if table == "teams_team":
            return self.select(table, self.stamps(table, _TEAM_STAMPS), [])
        if table == "metrics_teammember":
            return self.select(table, self.stamps(table, ("copilot_last_activity_at",)), [])
        if table == "metrics_pullrequest":
            return self.pull_requests(stamps)
        if table == "metrics_prreview":
            return self.select(table, stamps, [in_prs, f"coalesce(submitted_at, created_at) <= {t}"])
        if table == "metrics_commit":
            where = [f"pull_request_id IS NULL OR {in_prs}", f"coalesce(committed_at, created_at) <= {t}"]
            return self.select(table, stamps, where)
        if table == "metrics_prfile":
            return self.select(table, stamps, [in_prs, f"created_at <= {t}"])
        if table == "metrics_prcheckrun":
            running = self.later("completed_at")
            replace = [
                f"CASE WHEN {running} THEN 'in_progress' ELSE status END AS status",
                *self.null_if(running, ("conclusion", "completed_at", "duration_seconds")),
                *stamps,
            ]
            return self.select(table, replace, [in_prs, f"coalesce(started_at, created_at) <= {t}"])
        if table == "metrics_prsurvey":
            unanswered = self.later("author_responded_at")
            replace = [
                *self.null_if(
                    unanswered,
                    ("author_ai_assisted", "author_responded_at", "author_response_source", "ai_modification_effort"),
                ),
                *stamps,
            ]
            return self.select(table, replace, [in_prs, f"created_at <= {t}"])
        if table == "metrics_prsurveyreview":
            where = [f"survey_id IN ({self.kept_surveys()})", f"coalesce(responded_at, created_at) <= {t}"]
            return self.select(table, stamps, where)
        if table == "metrics_aiusagedaily":
            return self.select(table, stamps, [f"date <= {self.asof.day}"])
        if table == "metrics_deployment":
            where = [f"pull_request_id IS NULL OR {in_prs}", f"deployed_at <= {t}", f"created_at <= {t}"]
            return self.select(table, stamps, where)
        if table == "metrics_jiraissue":
            open_ = self.later("resolved_at")
            replace = [
                f"CASE WHEN {open_} THEN 'In Progress' ELSE status END AS status",
                *self.null_if(open_, ("resolved_at", "cycle_time_hours")),
                *stamps,
            ]
            return self.select(table, replace, [f"coalesce(issue_created_at, created_at) <= {t}"])
        if table == WEEKLY:
            return self.weekly()
        raise ValueError(f"no as-of rule for {table}")

    def pull_requests(self, stamps: list[str]) -> str:
        """PRs created by the instant; merged/closed later: open; review fields as of the instant (see module doc)."""
        t = self.t
        merged_late = self.later("merged_at")
        reopened = self.pr_closed_later()
        review_late = self.later("first_review_at")
        src, where = self.src("metrics_pullrequest"), self.pr_opened()
        # a PR still open at the instant whose reviews or commits go on after it: its counts as they stood
        held = f"(state = 'open' OR {reopened}) AND _x.last_event > {t}"
        counted = f"{held} AND NOT {review_late} AND first_review_at IS NOT NULL"
        recount = {
            "review_rounds": "least(review_rounds, 1 + _x.changes)",
            "avg_fix_response_hours": "CAST(round(_x.fix_hours, 2) AS DECIMAL(10, 2))",
            "commits_after_first_review": "CAST(_x.after_first AS INTEGER)",
        }
        elapsed = f"(epoch({t}) - epoch(pr_created_at)) / (epoch(_x.last_event) - epoch(pr_created_at))"
        comments = (
            f"WHEN {held} AND _x.last_event > pr_created_at THEN CAST(floor(total_comments * {elapsed}) AS INTEGER)"
        )
        joined = {"metrics_prreview", "metrics_commit"} <= set(self.files)
        if joined:
            src = f"{src} p LEFT JOIN ({self.review_facts()}) _x ON _x.pr_id = p.id"
        when = {c: f" WHEN {counted} THEN {e}" for c, e in recount.items()} if joined else {}
        replace = [
            f"CASE WHEN {reopened} THEN 'open' ELSE state END AS state",
            *self.null_if(merged_late, ("merged_at", "cycle_time_hours")),
            *(
                f"CASE WHEN {review_late} THEN NULL{when.get(c, '')} ELSE {quote(c)} END AS {quote(c)}"
                for c in ("first_review_at", "review_time_hours", *recount)
            ),
            *([f"CASE {comments} ELSE total_comments END AS total_comments"] if joined else []),
            *stamps,
        ]
        star = "p.*" if joined else "*"
        return f"SELECT {star} REPLACE ({', '.join(replace)}) FROM {src} WHERE {where}"

    def review_facts(self) -> str:
        """Per PR: its last review or commit, and as of the instant: changes requested, the mean time from a
        change request to the next commit (the app's avg_fix_response_hours), commits after the first review."""
        t = self.t
        # Only PRs open at the instant use these facts (pull_requests' ``held``): the others' reviews and
        # commits are not read, so the joins stay small however many PRs were merged before it.
        open_then = f"state = 'open' OR {self.pr_closed_later()}"
        prs = f"(SELECT * FROM {self.src('metrics_pullrequest')} WHERE {open_then})"
        only = f"pull_request_id IN (SELECT id FROM {prs})"
        reviews = f"(SELECT * FROM {self.src('metrics_prreview')} WHERE {only})"
        commits = f"(SELECT * FROM {self.src('metrics_commit')} WHERE {only})"
        return (
            "SELECT p.id AS pr_id, greatest(r.last_review, c.last_commit) AS last_event, "
            "coalesce(r.changes, 0) AS changes, f.fix_hours, coalesce(c.after_first, 0) AS after_first "
            f"FROM {prs} p LEFT JOIN (SELECT pull_request_id, max(submitted_at) AS last_review, "
            f"count(*) FILTER (WHERE state = 'changes_requested' AND submitted_at <= {t}) AS changes "
            f"FROM {reviews} GROUP BY pull_request_id) r ON r.pull_request_id = p.id "
            "LEFT JOIN (SELECT c.pull_request_id, max(c.committed_at) AS last_commit, "
            f"count(*) FILTER (WHERE c.committed_at > q.first_review_at AND c.committed_at <= {t}) AS after_first "
            f"FROM {commits} c JOIN {prs} q ON q.id = c.pull_request_id GROUP BY c.pull_request_id) c "
            "ON c.pull_request_id = p.id "
            "LEFT JOIN (SELECT pull_request_id, avg(epoch(next_commit) - epoch(submitted_at)) / 3600 AS fix_hours "
            "FROM (SELECT r.pull_request_id, r.submitted_at, min(c.committed_at) AS next_commit "
            f"FROM {reviews} r JOIN {commits} c ON c.pull_request_id = r.pull_request_id "
            f"AND c.committed_at > r.submitted_at AND c.committed_at <= {t} "
            f"WHERE r.state = 'changes_requested' AND r.submitted_at <= {t} "
            "GROUP BY r.pull_request_id, r.id, r.submitted_at) GROUP BY pull_request_id) f ON f.pull_request_id = p.id"
        )

    def weekly(self) -> str:
        """Weeks before the instant's as in the snapshot, its own week as recomputed (snapshot ids kept)."""
        cols = spec(WEEKLY).column_names
        week = f"DATE '{self.asof.week.isoformat()}'"
        src = self.src(WEEKLY)
        before = f"SELECT {', '.join(quote(c) for c in cols)} FROM {src} WHERE week_start < {week}"
        new_id = "coalesce(s.id, m.top + row_number() OVER (PARTITION BY s.id IS NULL ORDER BY r.team_id, r.member_id))"
        body = ", ".join(f"{new_id} AS id" if c == "id" else f"r.{quote(c)}" for c in cols)
        current = (
            f"SELECT {body} FROM {RECOMPUTED} r "
            f"LEFT JOIN (SELECT id, team_id, member_id FROM {src} WHERE week_start = {week}) s "
            "ON s.team_id = r.team_id AND s.member_id = r.member_id "
            f"CROSS JOIN (SELECT coalesce(max(id), 0) AS top FROM {src}) m"
        )
        stamps = ", ".join(self.stamps(WEEKLY))
        return f"SELECT * REPLACE ({stamps}) FROM ({before} UNION ALL {current})"


def cut_sources(files: dict[str, tuple[Path, ...]], asof: AsOf | None) -> dict[str, str]:
    """Per table, the SELECT the loader reads: the file as is (``asof`` None) or cut at the instant."""
    if asof is None:
        return {t: f"SELECT * FROM {_parquet(p)}" for t, p in files.items()}
    cut = _Cut(files, asof)
    return {t: cut.table(t) for t in files}


def needs_recompute(files: dict[str, tuple[Path, ...]], asof: AsOf | None, weeks: list[dt.date]) -> bool:
    """Whether the instant's week is one of the snapshot's weeks (its weekly rows must be recomputed)."""
    return asof is not None and WEEKLY in files and bool(weeks) and min(weeks) <= asof.week <= max(weeks)


# What the aggregate stage reads for one week: rows of that week's events (and every team and member).
_WEEK_EVENTS = {
    "metrics_pullrequest": ("merged_at", "pr_created_at"),
    "metrics_prreview": ("submitted_at",),
    "metrics_commit": ("committed_at",),
    "metrics_jiraissue": ("resolved_at",),
    "metrics_aiusagedaily": ("date",),
}


def _week_prs_sql(files: dict[str, tuple[Path, ...]], asof: AsOf) -> str:
    """The PRs merged or opened in the instant's week, and the latest merged and latest opened, as cut.

    The cut keeps a PR's ``pr_created_at`` and keeps ``merged_at`` up to the
    instant (NULL after it), so both maxima over the cut PRs are maxima over
    the snapshot's rows, and the cut (with its per-PR review facts) runs over
    those few PRs only, not over all of them.
    """
    raw, t = _parquet(files["metrics_pullrequest"]), asof.ts
    week = f"DATE '{asof.week.isoformat()}'"
    kept = _Cut(files, asof).pr_opened()
    latest_merge = f"(SELECT max(merged_at) FROM {raw} WHERE merged_at <= {t} AND {kept})"
    latest_open = f"(SELECT max(pr_created_at) FROM {raw} WHERE {kept})"
    wanted = (
        f"merged_at >= {week} OR pr_created_at >= {week} OR merged_at = {latest_merge} OR pr_created_at = {latest_open}"
    )
    cut = _Cut(files, asof, prs_where=wanted)
    return f"SELECT * FROM ({cut.table('metrics_pullrequest')}) WHERE {wanted}"


def week_inputs_sql(files: dict[str, tuple[Path, ...]], asof: AsOf, *, week_prs: str) -> dict[str, str]:
    """The cut rows the aggregate stage needs to recompute the instant's week (SQL per input table).

    Events of that week (a PR merged or opened in it, a review, commit, Jira
    resolution, AI-usage day in it) plus the latest event of each kind, the
    surveys and reviewer answers of those PRs, and all teams and members:
    enough for that week's ``metrics_weeklymetrics`` rows and for the data's
    last event (their created_at / updated_at), as over the whole cut data.
    ``week_prs`` names a relation already holding that week's PRs
    (:func:`_week_prs_sql`, fetched once by :func:`plan_cut`; read only when
    the snapshot has PRs): the survey rows are read through it too.
    """
    sources = cut_sources(files, asof)
    week = f"DATE '{asof.week.isoformat()}'"
    out: dict[str, str] = {t: sources[t] for t in ("teams_team", "metrics_teammember") if t in sources}
    if "metrics_pullrequest" in sources:
        out["metrics_pullrequest"] = f"SELECT * FROM {week_prs}"
    for t, cols in _WEEK_EVENTS.items():
        if t in sources and t != "metrics_pullrequest":
            # the week's events, and the latest event of each kind (the rows' stamp is the data's last event)
            cond = " OR ".join(
                f"{quote(c)} >= {week} OR {quote(c)} = (SELECT max({quote(c)}) FROM ({sources[t]}))" for c in cols
            )
            out[t] = f"SELECT * FROM ({sources[t]}) WHERE {cond}"
    if "metrics_prsurvey" in sources and "metrics_pullrequest" in out:
        out["metrics_prsurvey"] = (
            f"SELECT * FROM ({sources['metrics_prsurvey']}) "
            f"WHERE pull_request_id IN (SELECT id FROM ({out['metrics_pullrequest']}))"
        )
        if "metrics_prsurveyreview" in sources:
            out["metrics_prsurveyreview"] = (
                f"SELECT * FROM ({sources['metrics_prsurveyreview']}) "
                f"WHERE survey_id IN (SELECT id FROM ({out['metrics_prsurvey']}))"
            )
    return out


def held_back_sql(files: dict[str, tuple[Path, ...]], asof: AsOf) -> str:
    """One row: weekly rows of weeks after the instant's, and PRs shown open that were merged or closed later."""
    cut = _Cut(files, asof)
    weekly = f"(SELECT count(*) FROM {cut.src(WEEKLY)} WHERE week_start > {asof.day})" if WEEKLY in files else "0"
    reopened = "0"
    if "metrics_pullrequest" in files:
        # PRs the cut shows open (pull_requests' ``reopened``) that were not open in the snapshot
        reopened = (
            f"(SELECT count(*) FROM {cut.src('metrics_pullrequest')} WHERE ({cut.pr_opened()}) "
            f"AND state <> 'open' AND ({cut.pr_closed_later()}))"
        )
    return f"SELECT {weekly}, {reopened}"


@dataclass(frozen=True)
class CutPlan:
    """What a load reads: per table its source SELECT, the recomputed week, and what the cut held back."""

    asof: AsOf | None
    sources: dict[str, str]
    recomputed: pa.Table  # register as RECOMPUTED on the connection that runs ``sources``
    weekly_held_back: int = 0  # weekly rows of weeks after the instant's
    reopened: int = 0  # PRs merged or closed after the instant, loaded as open
    recomputed_week: dt.date | None = None


def plan_cut(
    files: dict[str, tuple[Path, ...]],
    asof: AsOf | None,
    recompute_week: WeekRecompute | None,
    columns: Mapping[str, Sequence[str]] | None = None,
) -> CutPlan:
    """Cut the snapshot at ``asof`` (None: load it as it is); recompute the instant's week with ``recompute_week``.

    ``columns``: per table, the columns ``recompute_week`` reads (None: all); only those
    are materialized for it, which keeps a large snapshot's cut small in memory.
    """
    empty = spec(WEEKLY).schema.empty_table()
    sources = cut_sources(files, asof)
    if asof is None:
        return CutPlan(None, sources, empty)
    con = connect(bounded=True)
    try:
        weeks: list[dt.date] = []
        if WEEKLY in files:
            low, high = con.execute(
                f"SELECT min(week_start), max(week_start) FROM {_parquet(files[WEEKLY])}"
            ).fetchone() or (
                None,
                None,
            )
            weeks = [w for w in (low, high) if w is not None]
        recomputed, week = empty, None
        if needs_recompute(files, asof, weeks):
            if recompute_week is None:
                raise ValueError("plan_cut: the instant falls in the snapshot's weeks; pass recompute_week")

            def fetch(table: str, sql: str) -> pa.Table:
                schema = spec(table).schema
                if columns is not None and table in columns:
                    schema = pa.schema([schema.field(c) for c in columns[table]])
                names = ", ".join(quote(c) for c in schema.names)
                return con.execute(f"SELECT {names} FROM ({sql})").to_arrow_table().cast(schema)

            inputs: dict[str, pa.Table] = {}
            if "metrics_pullrequest" in files:
                con.register(_WEEK_PRS, fetch("metrics_pullrequest", _week_prs_sql(files, asof)))
            for t, sql in week_inputs_sql(files, asof, week_prs=_WEEK_PRS).items():
                inputs[t] = fetch(t, sql)
            week = asof.week
            recomputed = recompute_week(inputs, week).cast(spec(WEEKLY).schema)
        row = con.execute(held_back_sql(files, asof)).fetchone() or (0, 0)
    finally:
        con.close()
    return CutPlan(asof, sources, recomputed, int(row[0]), int(row[1]), week)
