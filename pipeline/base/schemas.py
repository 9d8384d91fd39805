"""The schema of every table at every stage boundary, declared once.

Each table is a :class:`TableSpec`: a pyarrow schema plus the row order it is
written in and its natural keys. Columns are declared in a compact form::

    name  type[?]  [max_length]

where ``type`` is one of ``i64 i32 f64 str bool ts date json dec(p,s)`` or a
nested type built in Python, and a trailing ``?`` marks a nullable column.

The app tables are not declared here: their columns come from the app's DDL
(``pipeline/base/sql/app-schema.sql``, parsed by :mod:`pipeline.base.appddl`),
with this type mapping:
bigint -> int64, integer -> int32, varchar/text -> string, boolean -> bool,
timestamptz -> timestamp[us, UTC], date -> date32, numeric(p,s) ->
decimal128(p,s), jsonb -> string holding JSON text (field metadata
``logical=json``). ``varchar(n)`` lengths are kept as field metadata
``max_length`` and checked on every write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa

from pipeline.base.appddl import APP_SCHEMA_SQL, AppDDL, Column, app_ddl
from pipeline.base.tablenames import APP_LOAD_ORDER as APP_LOAD_ORDER
from pipeline.base.tablenames import SNAPSHOT_EXTRA
from pipeline.base.tablenames import SNAPSHOT_TABLES as SNAPSHOT_TABLES

TS = pa.timestamp("us", tz="UTC")

_SIMPLE: dict[str, pa.DataType] = {
    "i64": pa.int64(),
    "i32": pa.int32(),
    "f64": pa.float64(),
    "str": pa.string(),
    "bool": pa.bool_(),
    "ts": TS,
    "date": pa.date32(),
    "json": pa.string(),
}
_DEC = re.compile(r"dec\((\d+),(\d+)\)")


@dataclass(frozen=True)
class TableSpec:
    """A table's contract: schema, write order, natural keys and stage."""

    name: str
    schema: pa.Schema
    order_by: tuple[str, ...]
    stage: str
    natural_keys: tuple[tuple[str, ...], ...] = ()
    doc: str = ""
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(self.schema.names))
        for col in self.order_by:
            if col not in self.column_names:
                raise ValueError(f"{self.name}: order_by column {col!r} not in schema")

    def json_columns(self) -> list[str]:
        return [f.name for f in self.schema if _meta(f, "logical") == "json"]

    def max_lengths(self) -> dict[str, int]:
        return {f.name: int(n) for f in self.schema if (n := _meta(f, "max_length"))}


def _meta(f: pa.Field, key: str) -> str | None:
    if not f.metadata:
        return None
    v = f.metadata.get(key.encode())
    return v.decode() if v is not None else None


def _field(line: str, nested: dict[str, pa.DataType]) -> pa.Field:
    parts = line.split()
    name, typ = parts[0], parts[1]
    nullable = typ.endswith("?")
    typ = typ.rstrip("?")
    meta: dict[str, str] = {}
    if typ in _SIMPLE:
        dtype = _SIMPLE[typ]
        if typ == "json":
            meta["logical"] = "json"
    elif m := _DEC.fullmatch(typ):
        dtype = pa.decimal128(int(m.group(1)), int(m.group(2)))
    elif typ in nested:
        dtype = nested[typ]
    else:
        raise ValueError(f"unknown column type {typ!r} in {line!r}")
    if len(parts) > 2:
        meta["max_length"] = parts[2]
    return pa.field(name, dtype, nullable=nullable, metadata=meta or None)


def _spec(
    name: str,
    columns: str,
    *,
    stage: str,
    order_by: tuple[str, ...] = ("id",),
    natural_keys: tuple[tuple[str, ...], ...] = (),
    nested: dict[str, pa.DataType] | None = None,
    doc: str = "",
) -> TableSpec:
    lines = [ln.split("#")[0].strip() for ln in columns.strip().splitlines()]
    fields = [_field(ln, nested or {}) for ln in lines if ln]
    return TableSpec(name, pa.schema(fields), order_by, stage, natural_keys, doc)


# ---------------------------------------------------------------------------
# App tables: columns, types, nullability and load order from the app's DDL
# (pipeline/base/sql/app-schema.sql, parsed by pipeline.base.appddl); here
# only what SQL does not say: the stage that writes each table and the
# natural keys demoseed keeps unique (beyond the DDL's UNIQUE constraints).
# ---------------------------------------------------------------------------
APP = "app"

_SQL_TYPES: dict[str, pa.DataType] = {
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "text": pa.string(),
    "boolean": pa.bool_(),
    "timestamp with time zone": TS,
    "date": pa.date32(),
    "jsonb": pa.string(),
}
_NUMERIC = re.compile(r"numeric\((\d+), (\d+)\)")

_APP_RULES: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {  # table -> (stage, natural keys)
    "teams_team": (APP, (("slug",),)),
    "metrics_teammember": (APP, (("team_id", "github_id"), ("team_id", "email"))),
    "metrics_aiusagedaily": (APP, (("team_id", "member_id", "date", "source"),)),
    "metrics_weeklymetrics": ("aggregate", (("team_id", "member_id", "week_start"),)),
    "metrics_pullrequest": (APP, (("team_id", "github_pr_id", "github_repo"),)),
    "metrics_deployment": (APP, (("team_id", "github_deployment_id"),)),
    "metrics_prreview": (APP, (("team_id", "github_review_id"),)),
    "metrics_prcheckrun": (APP, (("team_id", "github_check_run_id"),)),
    "metrics_prfile": (APP, (("team_id", "pull_request_id", "filename"),)),
    "metrics_commit": (APP, (("team_id", "github_sha"),)),
    "metrics_jiraissue": (APP, (("team_id", "jira_id"),)),
    "metrics_prsurvey": (APP, (("pull_request_id",), ("token",))),
    "metrics_prsurveyreview": (APP, (("survey_id", "reviewer_id"),)),
}


def _app_field(col: Column) -> pa.Field:
    """A DDL column as an Arrow field (the type mapping in the module docstring)."""
    meta: dict[str, str] = {}
    if m := _NUMERIC.fullmatch(col.sql_type):
        dtype: pa.DataType = pa.decimal128(int(m.group(1)), int(m.group(2)))
    elif col.max_length is not None:
        dtype = pa.string()
        meta["max_length"] = str(col.max_length)
    else:
        dtype = _SQL_TYPES[col.sql_type]
        if col.sql_type == "jsonb":
            meta["logical"] = "json"
    return pa.field(col.name, dtype, nullable=col.nullable, metadata=meta or None)


def _app_spec(ddl: AppDDL, name: str) -> TableSpec:
    stage, natural_keys = _APP_RULES[name]
    return TableSpec(name, pa.schema([_app_field(c) for c in ddl.columns(name)]), ("id",), stage, natural_keys)


def _app_tables() -> tuple[TableSpec, ...]:
    ddl = app_ddl()
    if set(ddl.creates) != set(_APP_RULES):
        raise ValueError(f"{APP_SCHEMA_SQL}: tables {sorted(ddl.creates)}, expected {sorted(_APP_RULES)}")
    return tuple(_app_spec(ddl, name) for name in ddl.creates)


# In the order the app's DDL declares them.
APP_TABLES: tuple[TableSpec, ...] = _app_tables()
_APP = {t.name: t for t in APP_TABLES}
TEAMS_TEAM = _APP["teams_team"]
METRICS_TEAMMEMBER = _APP["metrics_teammember"]
METRICS_AIUSAGEDAILY = _APP["metrics_aiusagedaily"]
METRICS_WEEKLYMETRICS = _APP["metrics_weeklymetrics"]
METRICS_PULLREQUEST = _APP["metrics_pullrequest"]
METRICS_DEPLOYMENT = _APP["metrics_deployment"]
METRICS_PRREVIEW = _APP["metrics_prreview"]
METRICS_PRCHECKRUN = _APP["metrics_prcheckrun"]
METRICS_PRFILE = _APP["metrics_prfile"]
METRICS_COMMIT = _APP["metrics_commit"]
METRICS_JIRAISSUE = _APP["metrics_jiraissue"]
METRICS_PRSURVEY = _APP["metrics_prsurvey"]
METRICS_PRSURVEYREVIEW = _APP["metrics_prsurveyreview"]

# The app table the aggregate stage writes; the generate stage produces all the others.
WEEKLY = METRICS_WEEKLYMETRICS.name
GENERATED_TABLES: tuple[str, ...] = tuple(t for t in APP_LOAD_ORDER if t != WEEKLY)

# ---------------------------------------------------------------------------
# demoseed's own snapshot tables (kept in the snapshot, not loaded by default)
# ---------------------------------------------------------------------------
DEMOSEED_PROVENANCE = _spec(
    "demoseed_provenance",
    """
    team_id i64
    pull_request_id i64
    source str
    real_repo str?
    real_number i64?
    real_fields json
    simulated_fields json
    """,
    stage="generate",
    order_by=("team_id", "pull_request_id"),
    natural_keys=(("pull_request_id",),),
    doc="Per PR: 'synthetic', 'real_blend' (real metadata blended into a synthetic PR) or "
    "'real_project' (observed PR); which real PR it came from; which fields are real / simulated "
    "(JSON lists of metrics_pullrequest column names and child table names, the same in every mode).",
)

DEMOSEED_TEAM_WEEKLY = _spec(
    "demoseed_team_weekly",
    """
    team_id i64
    week_start date
    active_members i32
    prs_opened i32
    prs_merged i32
    prs_closed i32
    merge_rate f64?
    open_prs_at_week_end i32
    cycle_time_median_hours f64?
    cycle_time_p90_hours f64?
    time_to_first_review_median_hours f64?
    review_time_median_hours f64?
    pr_size_median f64?
    surveys_completed i32
    ai_assisted_share f64?
    avg_quality_rating f64?
    guesses i32
    guess_accuracy f64?
    revert_rate f64?
    hotfix_rate f64?
    reviews i32
    reviewers i32
    reviews_per_reviewer f64?
    top_reviewer_share f64?
    active_ai_users i32
    """,
    stage="aggregate",
    order_by=("team_id", "week_start"),
    natural_keys=(("team_id", "week_start"),),
    doc="Team-level weekly summary (demoseed's own; not an app table); fractions are 0..1 floats, times hours. "
    "surveys_completed / guesses are the denominators of ai_assisted_share / guess_accuracy (to pool weeks). "
    "Definitions: stages/aggregate/team.py.",
)

SNAPSHOT_EXTRA_TABLES: tuple[TableSpec, ...] = (DEMOSEED_PROVENANCE, DEMOSEED_TEAM_WEEKLY)
assert tuple(t.name for t in SNAPSHOT_EXTRA_TABLES) == SNAPSHOT_EXTRA, "tablenames.SNAPSHOT_EXTRA"

# ---------------------------------------------------------------------------
# Raw GitHub PR nodes (fetch output: nested, GitHub's own field names and
# ISO-8601 strings, as GraphQL returns them; REST answers are mapped into it)
# ---------------------------------------------------------------------------
_USER = pa.struct([pa.field("login", pa.string()), pa.field("databaseId", pa.int64())])
_RAW_NESTED: dict[str, pa.DataType] = {
    "user": _USER,
    "strlist": pa.list_(pa.string()),
    "labels": pa.list_(pa.struct([pa.field("name", pa.string()), pa.field("color", pa.string())])),
    "milestone": pa.struct(
        [pa.field("title", pa.string()), pa.field("number", pa.int64()), pa.field("dueOn", pa.string())]
    ),
    "assignees": pa.list_(_USER),
    "issues": pa.list_(pa.struct([pa.field("number", pa.int64()), pa.field("title", pa.string())])),
    "reviews": pa.list_(
        pa.struct(
            [
                pa.field("databaseId", pa.int64()),
                pa.field("author", _USER),
                pa.field("state", pa.string()),
                pa.field("submittedAt", pa.string()),
                pa.field("body", pa.string()),
            ]
        )
    ),
    "commits": pa.list_(
        pa.struct(
            [
                pa.field("oid", pa.string()),
                pa.field("message", pa.string()),
                pa.field("authoredDate", pa.string()),
                pa.field("committedDate", pa.string()),
                pa.field("additions", pa.int64()),
                pa.field("deletions", pa.int64()),
                pa.field("author", _USER),  # commit.author.user (null when not a GitHub user)
            ]
        )
    ),
    "files": pa.list_(
        pa.struct(
            [
                pa.field("path", pa.string()),
                pa.field("additions", pa.int64()),
                pa.field("deletions", pa.int64()),
                pa.field("changeType", pa.string()),
            ]
        )
    ),
}

GH_RAW_PULL_REQUESTS = _spec(
    "gh_raw_pull_requests",
    """
    repo str
    number i64
    id str
    title str?
    body str?
    state str
    isDraft bool?
    createdAt str
    updatedAt str
    mergedAt str?
    closedAt str?
    additions i64?
    deletions i64?
    changedFiles i64?
    author user?
    mergedBy user?
    headRefName str?
    baseRefName str?
    labels labels?
    milestone milestone?
    assignees assignees?
    closingIssuesReferences issues?
    reviews reviews?
    reviewsTotalCount i64?
    commits commits?
    commitsTotalCount i64?
    files files?
    filesTotalCount i64?
    commentsTotalCount i64?
    withheld_fields strlist?  # what GitHub withheld from the token inside this PR (FORBIDDEN/NOT_FOUND); null: nothing
    """,
    stage="fetch",
    order_by=("repo", "number"),
    natural_keys=(("repo", "number"),),
    nested=_RAW_NESTED,
    doc="One row per PR node; nested lists complete (paged to totalCount).",
)

# ---------------------------------------------------------------------------
# Normalized GitHub tables (normalize output: flat, typed, UTC)
# ---------------------------------------------------------------------------
_STRLIST = pa.list_(pa.string())
_I64LIST = pa.list_(pa.int64())
_NORM_NESTED = {"strlist": _STRLIST, "i64list": _I64LIST}

GH_PULL_REQUESTS = _spec(
    "gh_pull_requests",
    """
    repo str
    number i64
    node_id str
    title str
    body str
    state str
    is_draft bool
    created_at ts
    updated_at ts
    merged_at ts?
    closed_at ts?
    additions i64
    deletions i64
    changed_files i64
    author_login str?
    author_id i64?
    author_is_bot bool
    merged_by_login str?
    head_ref str
    base_ref str
    labels strlist
    milestone_title str
    assignees strlist
    linked_issues i64list
    review_count i64
    commit_count i64
    comment_count i64
    """,
    stage="normalize",
    order_by=("repo", "number"),
    natural_keys=(("repo", "number"),),
    nested=_NORM_NESTED,
)

GH_REVIEWS = _spec(
    "gh_reviews",
    """
    repo str
    number i64
    review_id i64?
    reviewer_login str?
    reviewer_id i64?
    reviewer_is_bot bool
    reviewer_is_ai_bot bool
    state str
    submitted_at ts?
    body str
    """,
    stage="normalize",
    order_by=("repo", "number", "submitted_at", "review_id"),
    nested=_NORM_NESTED,
    doc="Submitted reviews; reviewer_is_ai_bot: an AI code-review bot (its review marks the PR has_ai_review).",
)

GH_COMMITS = _spec(
    "gh_commits",
    """
    repo str
    number i64
    sha str
    message str
    author_login str?
    author_id i64?
    author_is_bot bool
    authored_at ts?
    committed_at ts?
    additions i64
    deletions i64
    co_authors strlist
    ai_tools strlist
    ai_co_authors strlist
    """,
    stage="normalize",
    order_by=("repo", "number", "committed_at", "sha"),
    natural_keys=(("repo", "number", "sha"),),
    nested=_NORM_NESTED,
    doc="Commits of PRs; ai_tools: AI tools named by co-authors or an AI agent author (sorted); "
    "ai_co_authors: the co-authors that are AI tools, names without e-mail.",
)

GH_FILES = _spec(
    "gh_files",
    """
    repo str
    number i64
    path str
    status str
    additions i64
    deletions i64
    file_category str
    is_ai_config bool
    """,
    stage="normalize",
    order_by=("repo", "number", "path"),
    natural_keys=(("repo", "number", "path"),),
    doc="Changed files; file_category: the app's category of the path (pipeline.base.filecategory); "
    "is_ai_config: an AI assistant's instruction file (CLAUDE.md, .cursorrules, ...).",
)

GH_USERS = _spec(
    "gh_users",
    """
    login str
    github_id i64?
    is_bot bool
    first_seen_at ts?
    prs_authored i64
    reviews_given i64
    """,
    stage="normalize",
    order_by=("login",),
    natural_keys=(("login",),),
)

NORMALIZED_TABLES: tuple[TableSpec, ...] = (GH_PULL_REQUESTS, GH_REVIEWS, GH_COMMITS, GH_FILES, GH_USERS)

ALL_TABLES: dict[str, TableSpec] = {
    t.name: t for t in (*APP_TABLES, *SNAPSHOT_EXTRA_TABLES, GH_RAW_PULL_REQUESTS, *NORMALIZED_TABLES)
}


def spec(name: str) -> TableSpec:
    """The spec of a table by name (KeyError names the table)."""
    try:
        return ALL_TABLES[name]
    except KeyError:
        raise KeyError(f"no schema declared for table {name!r}") from None


def empty(name: str) -> pa.Table:
    """An empty table with the declared schema."""
    return spec(name).schema.empty_table()
