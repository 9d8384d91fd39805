"""The aggregate stage: weekly metrics per member (the app's table) and per team (ours).

``aggregate(tables, week_starts=None)`` takes the app tables (generate output or
a real project's) and returns two tables, each exactly in its schema from
``pipeline.base.schemas``:

* ``metrics_weeklymetrics``: one row per active member per Monday-week, zeros
  included, every column computed from the data as the app defines it (see
  :mod:`stages.aggregate.member`);
* ``demoseed_team_weekly``: one row per team per week, the numbers a scenario's
  story is read from (see :mod:`stages.aggregate.team`).

Weeks run Monday 00:00 to Sunday 24:00 UTC. ``week_starts`` (Mondays) fixes the
weeks; when it is None the weeks run from the earliest to the latest event week
in the data (PR opened or merged, review, commit, Jira resolution, AI usage).
Pure: tables in, tables out, no I/O and no clock; same input, same rows.
:mod:`stages.aggregate.story` turns the team table into a headline for people.
"""

from __future__ import annotations

import datetime as dt
import logging

import pyarrow as pa

from .frames import Weeks, load_frames, resolve_weeks
from .member import member_weekly
from .team import team_weekly

log = logging.getLogger(__name__)

OUTPUT_TABLES = ("metrics_weeklymetrics", "demoseed_team_weekly")
INPUT_TABLES = (
    "teams_team",
    "metrics_teammember",
    "metrics_pullrequest",
    "metrics_prreview",
    "metrics_commit",
    "metrics_prsurvey",
    "metrics_prsurveyreview",
    "metrics_jiraissue",
    "metrics_aiusagedaily",
)

__all__ = ["INPUT_TABLES", "OUTPUT_TABLES", "Weeks", "aggregate", "aggregate_with_weeks", "restamp"]


def aggregate(tables: dict[str, pa.Table], *, week_starts: list[dt.date] | None = None) -> dict[str, pa.Table]:
    """Weekly member metrics and the team-level weekly summary for the given app tables.

    Absent input tables count as empty. Returns ``{"metrics_weeklymetrics": ...,
    "demoseed_team_weekly": ...}``, rows in their schema's write order.
    """
    return aggregate_with_weeks(tables, week_starts=week_starts)[0]


def aggregate_with_weeks(
    tables: dict[str, pa.Table], *, week_starts: list[dt.date] | None = None
) -> tuple[dict[str, pa.Table], Weeks]:
    """:func:`aggregate`, and the weeks it used with the data's last event (which stamps the rows)."""
    frames = load_frames(tables)
    weeks = resolve_weeks(frames, week_starts)
    members = member_weekly(frames, weeks)
    teams = team_weekly(frames, weeks)
    log.info(
        "aggregated %d week(s): %d member-week row(s), %d team-week row(s)",
        len(weeks.starts),
        members.num_rows,
        teams.num_rows,
    )
    return {"metrics_weeklymetrics": members, "demoseed_team_weekly": teams}, weeks


def restamp(member_weeks: pa.Table, weeks: Weeks, id_offset: int = 0) -> pa.Table:
    """``metrics_weeklymetrics`` rows aggregated from some teams, as in an aggregate of all of them:
    ids moved by ``id_offset`` (the rows of the teams before) and created_at/updated_at from
    ``weeks`` (whose last event is that of all the data)."""
    import numpy as np

    days = member_weeks.column("week_start").cast(pa.int32()).to_numpy()
    starts = np.array([(w - dt.date(1970, 1, 1)).days for w in weeks.starts], np.int64)
    at = member_weeks.schema.get_field_index("created_at")
    stamp_type = member_weeks.schema.field(at).type
    stamps = pa.array(weeks.stamps(), stamp_type).take(pa.array(np.searchsorted(starts, days)))
    ids = pa.array(member_weeks.column("id").to_numpy() + id_offset, pa.int64())
    out = member_weeks.set_column(member_weeks.schema.get_field_index("id"), "id", ids)
    out = out.set_column(at, "created_at", stamps)
    return out.set_column(out.schema.get_field_index("updated_at"), "updated_at", stamps)
