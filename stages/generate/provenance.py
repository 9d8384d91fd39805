"""The provenance vocabulary: which of a PR's fields are real and which simulated.

``demoseed_provenance.real_fields`` and ``simulated_fields`` (and a project
run's ``info.real_fields``) name fields in the app's own terms, the same in
every mode: a ``metrics_pullrequest`` column, or a whole table of the PR's
children (``metrics_prfile`` = its files). Lists are JSON arrays in
:data:`FIELDS` order. Columns that are bookkeeping (ids, sync times) or that
every mode leaves as the app's sync does (``llm_summary``, ...) are neither.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pipeline.base.schemas import spec

# metrics_pullrequest columns that are bookkeeping or left as the app's sync leaves them in every mode
NOT_PROVENANCE = (
    "id",
    "created_at",
    "updated_at",
    "team_id",
    "ai_detection_version",
    "llm_summary",
    "llm_summary_version",
    "synced_at",
)
PR_COLUMNS = tuple(c for c in spec("metrics_pullrequest").column_names if c not in NOT_PROVENANCE)
CHILD_TABLES = (
    "metrics_prreview",
    "metrics_commit",
    "metrics_prfile",
    "metrics_prsurvey",
    "metrics_prsurveyreview",
    "metrics_jiraissue",
    "metrics_prcheckrun",
    "metrics_deployment",
)
FIELDS = PR_COLUMNS + CHILD_TABLES


def split(real: Iterable[str], *, untouched: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """(real, simulated) fields in :data:`FIELDS` order: ``real`` as given, the others simulated
    except ``untouched`` (left as the app's sync leaves them)."""
    real_set, untouched_set = set(real), set(untouched)
    unknown = (real_set | untouched_set) - set(FIELDS)
    if unknown:
        raise ValueError(f"not provenance fields: {sorted(unknown)}")
    return (
        [f for f in FIELDS if f in real_set],
        [f for f in FIELDS if f not in real_set and f not in untouched_set],
    )


def fields_json(fields: list[str]) -> str:
    """A field list as the JSON text stored in ``demoseed_provenance``."""
    return json.dumps(fields, separators=(",", ":"))
