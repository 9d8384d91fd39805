"""The names of a snapshot's tables, without their schemas (:mod:`pipeline.base.schemas` declares those).

Commands that check a snapshot's files but read no rows (``verify``,
``pack``, ``unpack``) need only these names; this module imports nothing, so
they start without pyarrow and numpy.
"""

from __future__ import annotations

# Parents before children: the order to insert in (delete in reverse).
APP_LOAD_ORDER: tuple[str, ...] = (
    "teams_team",
    "metrics_teammember",
    "metrics_pullrequest",
    "metrics_prreview",
    "metrics_commit",
    "metrics_prfile",
    "metrics_prcheckrun",
    "metrics_prsurvey",
    "metrics_prsurveyreview",
    "metrics_aiusagedaily",
    "metrics_deployment",
    "metrics_jiraissue",
    "metrics_weeklymetrics",
)

# demoseed's own tables a snapshot holds besides the app's (schemas.SNAPSHOT_EXTRA_TABLES, in this order)
SNAPSHOT_EXTRA: tuple[str, ...] = ("demoseed_provenance", "demoseed_team_weekly")

# The tables a snapshot holds, in the order the manifest lists them.
SNAPSHOT_TABLES: tuple[str, ...] = (*APP_LOAD_ORDER, *SNAPSHOT_EXTRA)
