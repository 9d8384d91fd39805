"""The names of a snapshot's tables, without their schemas (:mod:`pipeline.base.schemas` declares those).

Commands that check a snapshot's files but read no rows (``verify``,
``pack``, ``unpack``) need only these names; this module imports only
:mod:`pipeline.base.appddl` (which reads the app's DDL as text), so they start
without pyarrow and numpy.
"""

from __future__ import annotations

from pipeline.base.appddl import app_ddl

# Parents before children (the foreign keys of the app's DDL, ties in the DDL's order): the order to
# insert in (delete in reverse).
APP_LOAD_ORDER: tuple[str, ...] = app_ddl().load_order()

# demoseed's own tables a snapshot holds besides the app's (schemas.SNAPSHOT_EXTRA_TABLES, in this order)
SNAPSHOT_EXTRA: tuple[str, ...] = ("demoseed_provenance", "demoseed_team_weekly")

# The tables a snapshot holds, in the order the manifest lists them.
SNAPSHOT_TABLES: tuple[str, ...] = (*APP_LOAD_ORDER, *SNAPSHOT_EXTRA)
