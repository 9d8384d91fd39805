"""The load plan: how the snapshot's columns meet an existing app schema, decided before anything is written.

An app keeps migrating after a snapshot is made: fields are added (Django's
``AddField`` with a Python default leaves a ``NOT NULL`` column with no
database default), removed, renamed, narrowed. :func:`plan_tables` compares
each existing target table with the snapshot's columns and decides, column by
column:

- **filled**: a target column the snapshot lacks gets a value: ``--fill``
  given by hand, or the app model's default (``--app``; ``timezone.now`` is the
  load instant); a column the database fills itself (a default, an identity, a
  generated column) or that may stay NULL needs nothing;
- **fits by its data**: a declared type narrower than the snapshot's
  (``varchar(100)`` for ``varchar(255)``, ``integer`` for ``bigint``, a
  smaller ``numeric``) or a ``NOT NULL`` the snapshot's type allows NULLs in
  is accepted when the rows about to be written fit (their longest string,
  smallest and largest number, decimals and NULL count, over exactly the rows
  the load would write: cut, remapped and rebased);
- **renamed** / **left out**: a snapshot column the target no longer has is
  written under its new name when the app's migrations renamed it, left out
  when the app's models confirm the field is gone (``--app``) or with
  ``--ignore-missing-columns``;
- **refused**: everything else, each with the column, the limit, the actual
  extreme and the way out. Any refusal stops the load before it writes.

``load`` and ``check`` both run this (see :mod:`stages.load.core`), so what
``check`` prints is what ``load`` does.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from pipeline.base.errors import UserError
from pipeline.base.manifest import migrations_text
from pipeline.base.schemas import TableSpec

from .ddl import quote
from .plan import sql_literal
from .schema_check import Column, fits, show, spec_type

NOW = "now"  # a model default of timezone.now: the load instant

FILLED, FITS, RENAMED, LEFT_OUT, REFUSED = "filled", "fits by its data", "renamed", "left out", "refused"
GROUPS = (FILLED, FITS, RENAMED, LEFT_OUT, REFUSED)


@dataclass(frozen=True)
class ModelField:
    """One field of the app's model, as the app's own Django reports it (see :mod:`stages.load.app`)."""

    column: str
    null: bool
    has_default: bool
    default: Any = None  # JSON value; NOW for timezone.now / date.today (the load instant, or its date)
    db_default: bool = False
    per_row: str | None = None  # "uuid": uuid.uuid4 / uuid1; "varies": another callable giving each row a new value
    callable: str | None = None  # the default's dotted name when it is a callable
    uuid: bool = False  # a UUIDField (stored as char(32) on SQLite)


@dataclass(frozen=True)
class AppModels:
    """What the app's models say about the loaded tables: table -> column -> field; renames old -> new column."""

    tables: Mapping[str, Mapping[str, ModelField]]
    renames: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    source: str = "the app's model"


@dataclass(frozen=True)
class Fill:
    column: str
    value: Any  # text from --fill, a JSON value from the app, or NOW
    source: str  # "--fill" | "the app's model default"
    canon: tuple[Any, ...]  # the target column's canonical type
    uuid: bool = False  # a UUID column (PostgreSQL/DuckDB uuid, or a Django UUIDField)
    per_row: bool = False  # a UUID per row, derived from the row (see fill_expr), not ``value``


@dataclass(frozen=True)
class Difference:
    group: str
    table: str
    column: str
    text: str

    def line(self) -> str:
        return f"{self.table}.{self.column}: {self.text}"


@dataclass
class TablePlan:
    """How one table's rows are written: which snapshot columns (some renamed), plus filled columns."""

    name: str
    source: TableSpec  # the snapshot columns read (left-out ones removed)
    renames: dict[str, str] = field(default_factory=dict)  # snapshot column -> target column
    fills: list[Fill] = field(default_factory=list)

    @property
    def target(self) -> TableSpec:
        """The written columns under their target names (the read-back compares these)."""
        if not self.renames:
            return self.source
        schema = pa.schema([f.with_name(self.renames.get(f.name, f.name)) for f in self.source.schema])
        return TableSpec(self.name, schema, order_by=(), stage=self.source.stage)

    @property
    def columns(self) -> list[str]:
        return [*self.target.column_names, *(f.column for f in self.fills)]

    @property
    def needs_row_id(self) -> bool:
        """A filled column derives its value from the row: ``base`` must carry the snapshot's id as ROW_ID."""
        return any(f.per_row for f in self.fills)

    def select(self, base: str, *, as_of: dt.datetime, dialect: str, salt: str = "") -> str:
        """Wrap ``base`` (select_sql over :attr:`source`) with the renames and the filled columns (``salt``: the
        snapshot's id, part of what a per-row UUID is derived from)."""
        if not self.renames and not self.fills:
            return base
        cols = [
            f"{quote(c)} AS {quote(self.renames[c])}" if c in self.renames else quote(c)
            for c in self.source.column_names
        ]
        cols += [f"{fill_expr(f, as_of, dialect, self.name, salt)} AS {quote(f.column)}" for f in self.fills]
        return f"SELECT {', '.join(cols)} FROM ({base})"


@dataclass
class LoadPlan:
    tables: dict[str, TablePlan]
    differences: list[Difference]

    @property
    def refused(self) -> list[Difference]:
        return [d for d in self.differences if d.group == REFUSED]

    def grouped(self) -> dict[str, list[Difference]]:
        return {g: [d for d in self.differences if d.group == g] for g in GROUPS}

    def summary_lines(self) -> list[str]:
        """One line per group that is not empty (refusals are an error, not a summary)."""
        out = []
        for group, items in self.grouped().items():
            if items and group != REFUSED:
                out.append(f"{group}: " + "; ".join(d.line() for d in items))
        return out

    def refusal(self) -> str:
        """The one-line error naming every refused column (with the ways out)."""
        items = self.refused
        unfilled = [d for d in items if d.text.startswith(_NO_VALUE)]
        other = [d for d in items if d not in unfilled]
        parts = []
        if unfilled:
            names = ", ".join(f"{d.table}.{d.column}" for d in unfilled)
            parts.append(
                f"no value for NOT NULL column(s) {names} (not in the snapshot, no database default): "
                "give --app DIR to use the app's model defaults, or --fill TABLE.COLUMN=VALUE"
            )
        parts += [d.line() for d in other]
        return "the app schema does not fit the snapshot: " + "; ".join(parts)


_NO_VALUE = "no value"


def parse_fills(items: Sequence[str]) -> dict[tuple[str, str], str]:
    """``--fill TABLE.COLUMN=VALUE`` items -> {(table, column): text}."""
    out: dict[tuple[str, str], str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        table, dot, column = name.strip().partition(".")
        if not eq or not dot or not table or not column:
            raise UserError(f"bad --fill {item!r}: write TABLE.COLUMN=VALUE (e.g. teams_team.timezone_name=UTC)")
        out[(table, column)] = value
    return out


Stats = Callable[[str, Mapping[str, str]], dict[str, Any]]


def plan_tables(
    specs: Mapping[str, TableSpec],
    existing: Mapping[str, list[Column]],
    stats: Stats,
    *,
    fills: Mapping[tuple[str, str], str] | None = None,
    app: AppModels | None = None,
    ignore_missing: bool = False,
    native_json: bool = True,
) -> LoadPlan:
    """The plan for ``specs`` (snapshot tables) against the ``existing`` target tables.

    ``stats(table, {name: sql})`` runs aggregate expressions over the rows
    the load would write to the table and returns name -> value; it is called
    at most once per table, only when a column needs its data looked at.
    ``native_json``: the target has a JSON type (not SQLite, where JSON is
    text by nature), so a JSON column made text is a difference worth a line.
    """
    fills = dict(fills or {})
    diffs: list[Difference] = []
    plans: dict[str, TablePlan] = {}
    for t, s in specs.items():
        if t not in existing:
            plans[t] = TablePlan(t, s)
            continue
        plans[t] = _plan_table(s, existing[t], stats, fills, app, ignore_missing, diffs, native_json)
    unknown = sorted(f"{t}.{c}" for t, c in fills if t not in specs or t not in existing)
    unknown += sorted(f"{t}.{c}" for t, c in fills if t in existing and c not in {col.name for col in existing[t]})
    if unknown:
        raise UserError(f"--fill names {', '.join(unknown)}, which the target does not have; check the name")
    return LoadPlan(plans, diffs)


@dataclass
class _Matching:
    """What matching one snapshot table's columns to its target table needs, and the lines it adds."""

    spec: TableSpec
    by_name: dict[str, Column]  # the target's columns
    models: Mapping[str, ModelField]  # the app's model fields of this table ({} without --app)
    renames_app: dict[str, str]  # old -> new column, as the app's migrations renamed them
    app_has_table: bool  # --app was given and its models have this table
    ignore_missing: bool
    diffs: list[Difference]


def _plan_table(
    s: TableSpec,
    columns: list[Column],
    stats: Stats,
    fills: dict[tuple[str, str], str],
    app: AppModels | None,
    ignore_missing: bool,
    diffs: list[Difference],
    native_json: bool = True,
) -> TablePlan:
    t = s.name
    m = _Matching(
        s,
        {c.name: c for c in columns},
        app.tables.get(t, {}) if app else {},
        dict(app.renames.get(t, {})) if app else {},
        app is not None and t in app.tables,
        ignore_missing,
        diffs,
    )
    keep, renames = _written_columns(m, stats, native_json)
    source = TableSpec(t, pa.schema(keep), order_by=(), stage=s.stage) if len(keep) != len(s.schema) else s
    plan = TablePlan(t, source, renames)
    written = {renames.get(n, n) for n in source.column_names}
    for c in columns:
        if c.name not in written:
            _fill_column(plan, c, fills.get((t, c.name)), m.models.get(c.name), diffs)
    return plan


def _written_columns(m: _Matching, stats: Stats, native_json: bool) -> tuple[list[pa.Field], dict[str, str]]:
    """The snapshot columns the load writes and their renames (snapshot -> target column), each judged against
    its target column by the data where its type alone does not fit (one ``stats`` call for the table)."""
    keep: list[pa.Field] = []
    renames: dict[str, str] = {}
    q = _Checks(m.spec.name, {}, [], m.diffs)
    for f in m.spec.schema:
        c = _target_column(m, f, renames)
        if c is None:
            continue
        keep.append(f)
        _judge_column(q, f, c, native_json)
    if q.checks:
        values = stats(m.spec.name, q.checks)
        for j in q.judge:
            j(values)
    return keep, renames


def _target_column(m: _Matching, f: pa.Field, renames: dict[str, str]) -> Column | None:
    """The target column snapshot column ``f`` is written to (a rename recorded in ``renames``), or None when it is
    left out or refused; either way with its line."""
    t = m.spec.name
    c = m.by_name.get(f.name)
    if c is not None:
        if c.generated:
            m.diffs.append(Difference(LEFT_OUT, t, f.name, "generated by the database in the target"))
            return None
        return c
    new = m.renames_app.get(f.name)
    if new and new in m.by_name and new not in m.spec.column_names:
        renames[f.name] = new
        m.diffs.append(Difference(RENAMED, t, f.name, f"written to {new} (the app's migrations renamed it)"))
        return m.by_name[new]
    m.diffs.append(_absent_column(m, f.name))
    return None


def _absent_column(m: _Matching, name: str) -> Difference:
    """The line for a snapshot column the target lacks (and no rename explains): left out, or refused."""
    t = m.spec.name
    if m.app_has_table and name not in m.models:
        return Difference(LEFT_OUT, t, name, "not in the target, and the app's models confirm it is gone")
    if m.ignore_missing:
        return Difference(LEFT_OUT, t, name, "not in the target (--ignore-missing-columns)")
    return Difference(
        REFUSED,
        t,
        name,
        "in the snapshot but not in the target; if the app removed the field, --app DIR "
        "(its models confirm it) or --ignore-missing-columns leaves it out",
    )


def _fill_column(
    plan: TablePlan, c: Column, given: str | None, model: ModelField | None, diffs: list[Difference]
) -> None:
    """Decide the value of target column ``c``, which the snapshot does not write: ``given`` by --fill, the app's
    model default, the database's, NULL, or refused."""
    t = plan.name
    is_uuid = c.type[0] == "uuid" or bool(model is not None and model.uuid)
    python_default = model is not None and model.has_default and not model.db_default
    if given is not None:
        fill = Fill(c.name, _check_fill(t, c, given, is_uuid), "--fill", c.type, uuid=is_uuid)
        plan.fills.append(fill)
        diffs.append(Difference(FILLED, t, c.name, f"{show_fill(fill)} (from --fill)"))
    elif c.generated:
        diffs.append(Difference(FILLED, t, c.name, "generated by the database"))
    elif model is not None and python_default and model.per_row == "varies":
        diffs.append(
            Difference(
                REFUSED,
                t,
                c.name,
                f"the app's default {model.callable} gives every row a new value, which demoseed cannot "
                f"reproduce; give --fill {t}.{c.name}=VALUE",
            )
        )
    elif model is not None and python_default:
        per_row = model.per_row == "uuid"
        fill = Fill(c.name, model.default, "the app's model default", c.type, uuid=is_uuid, per_row=per_row)
        plan.fills.append(fill)
        diffs.append(Difference(FILLED, t, c.name, f"{show_fill(fill, model.callable)} (the app's model default)"))
    elif c.has_default:
        what = "db_default" if model is not None and model.db_default else "default"
        diffs.append(Difference(FILLED, t, c.name, f"by the database ({what})"))
    elif c.nullable:
        diffs.append(Difference(FILLED, t, c.name, "NULL (nullable, not in the snapshot)"))
    else:
        why = "the app's model has no default" if model is not None else "not in the snapshot, no database default"
        diffs.append(Difference(REFUSED, t, c.name, f"{_NO_VALUE} ({why})"))


_INT_RANGE = {"int32": (-(2**31), 2**31 - 1), "int16": (-(2**15), 2**15 - 1)}


@dataclass
class _Checks:
    """The data checks of one table: stat name -> SQL (run once over the rows the load writes), then the judges
    that turn the stats into a line each."""

    table: str
    checks: dict[str, str]
    judge: list[Callable[[dict[str, Any]], None]]
    diffs: list[Difference]

    def line(self, group: str, column: str, text: str) -> None:
        self.diffs.append(Difference(group, self.table, column, text))


def _judge_column(q: _Checks, f: pa.Field, c: Column, native_json: bool = True) -> None:
    """Queue the data checks one snapshot column needs against its target column (none when it fits by type)."""
    want = spec_type(f)
    if f.nullable and not c.nullable and f.name != "id" and not c.has_default:
        _check_nulls(q, f, c)
    if want[0] == "json" and c.type == ("str", None) and native_json:
        q.line(FITS, c.name, f"{c.shown} (declared jsonb); the JSON is written as its text")
        return
    if fits(want, c.type):
        return
    got = c.type
    if want[0] == "str" and got[0] == "str" and got[1] is not None:
        _check_length(q, f, c, want, int(got[1]))
    elif want[0] in {"int64", "int32"} and got[0] in _INT_RANGE:
        _check_int_range(q, f, c, want, *_INT_RANGE[got[0]])
    elif want[0] == "dec" and got[0] == "dec" and got[1] is not None and got[2] is not None:
        _check_decimals(q, f, c, want, int(got[1]), int(got[2]))
    else:
        q.line(REFUSED, c.name, f"is {c.shown}, expected {show(want)}")


def _check_nulls(q: _Checks, f: pa.Field, c: Column) -> None:
    """A NOT NULL target column fits when no written row is NULL there."""
    key = f"{f.name}__nulls"
    q.checks[key] = f"count(*) - count({quote(f.name)})"

    def nulls(v: dict[str, Any]) -> None:
        n = int(v.get(key) or 0)
        if n:
            q.line(REFUSED, c.name, f"NOT NULL in the target, but {n:,} snapshot row(s) are NULL there")
        else:
            q.line(FITS, c.name, "NOT NULL in the target; no snapshot row is NULL there")

    q.judge.append(nulls)


def _check_length(q: _Checks, f: pa.Field, c: Column, want: tuple[Any, ...], limit: int) -> None:
    """A shorter varchar fits when the longest written value fits in ``limit`` characters."""
    key = f"{f.name}__len"
    q.checks[key] = f"max(length({quote(f.name)}))"

    def length(v: dict[str, Any]) -> None:
        n = int(v.get(key) or 0)
        if n <= limit:
            q.line(FITS, c.name, f"{c.shown} (declared {show(want)}); longest value {n}")
        else:
            q.line(REFUSED, c.name, f"{c.shown} is too short: the snapshot's longest value is {n} characters")

    q.judge.append(length)


def _check_int_range(q: _Checks, f: pa.Field, c: Column, want: tuple[Any, ...], lo: int, hi: int) -> None:
    """A narrower integer fits when the smallest and largest written values lie in ``lo..hi``."""
    kmin, kmax = f"{f.name}__min", f"{f.name}__max"
    q.checks[kmin], q.checks[kmax] = f"min({quote(f.name)})", f"max({quote(f.name)})"

    def ints(v: dict[str, Any]) -> None:
        a, b = v.get(kmin), v.get(kmax)
        if a is None or b is None or (lo <= int(a) and int(b) <= hi):
            q.line(FITS, c.name, f"{c.shown} (declared {show(want)}); values {a}..{b}")
        else:
            bad = a if int(a) < lo else b
            q.line(REFUSED, c.name, f"{c.shown} holds {lo}..{hi}, but the snapshot has {bad} (after id remapping)")

    q.judge.append(ints)


def _check_decimals(q: _Checks, f: pa.Field, c: Column, want: tuple[Any, ...], p: int, sc: int) -> None:
    """A smaller numeric(p, sc) fits when every written value is below 10^(p-sc) and has at most ``sc`` decimals."""
    col = quote(f.name)
    kabs, kround = f"{f.name}__abs", f"{f.name}__round"
    q.checks[kabs] = f"max(abs({col}))"
    q.checks[kround] = f"count(*) FILTER (WHERE round({col}, {sc}) <> {col})"

    def decs(v: dict[str, Any]) -> None:
        big = _dec(v.get(kabs))
        rounded = int(v.get(kround) or 0)
        if big is not None and big >= Decimal(10) ** (p - sc):
            q.line(REFUSED, c.name, f"{c.shown} holds less than {10 ** (p - sc)}, but the snapshot has {big}")
        elif rounded:
            q.line(REFUSED, c.name, f"{c.shown} keeps {sc} decimal(s); {rounded:,} snapshot value(s) have more")
        else:
            q.line(FITS, c.name, f"{c.shown} (declared {show(want)}); largest |value| {big}")

    q.judge.append(decs)


def _dec(v: Any) -> Decimal | None:
    if v is None:
        return None
    try:
        return Decimal(str(v))
    except InvalidOperation:
        return None


def show_fill(f: Fill, callable_name: str | None = None) -> str:
    """What a filled column gets, the same way for --fill text and the app's JSON value: ``false``, ``[]``,
    ``'UTC'``, ``the load instant``, ``a UUID per row ...``."""
    kind, v = f.canon[0], f.value
    name = (callable_name or "").rpartition(".")[2]
    if f.per_row:
        return f"a UUID per row, derived from the row (the app's default {callable_name or 'uuid.uuid4'})"
    if v == NOW and kind in {"date", "ts", "ts_naive"}:
        if kind == "date":
            what = "the load instant's date (UTC, as Django with TIME_ZONE=UTC)"
            return f"{what[:-1]}; {callable_name})" if callable_name else what
        return (
            f"the load instant ({'timezone.now' if name == 'now' else callable_name})"
            if callable_name
            else ("the load instant")
        )
    if f.source == "--fill" and isinstance(v, str):
        if kind == "bool":
            return "true" if v.lower() in _TRUE else "false"
        if kind == "json":
            return json.dumps(json.loads(v), ensure_ascii=False)
        if kind in {"int64", "int32", "int16", "int_any", "dec"}:
            return v
        return repr(v)
    return json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else repr(v)


_TRUE = {"true", "t", "1", "yes"}


def _check_fill(t: str, c: Column, text: str, is_uuid: bool = False) -> Any:
    """A --fill value as text, checked against the column's type (one line on a value it cannot hold)."""
    kind = c.type[0]
    try:
        if is_uuid:
            uuid.UUID(text)
        elif kind == "json":
            json.loads(text)
        elif kind in {"int64", "int32", "int16", "int_any"}:
            int(text)
        elif kind == "dec":
            Decimal(text)
        elif kind == "bool":
            if text.lower() not in {"true", "false", "t", "f", "1", "0", "yes", "no"}:
                raise ValueError(text)
        elif kind in {"ts", "ts_naive"} and text != NOW:
            dt.datetime.fromisoformat(text)
        elif kind == "date" and text != NOW:
            dt.date.fromisoformat(text)
        elif kind == "str" and c.type[1] is not None and len(text) > int(c.type[1]):
            raise ValueError(f"longer than {c.type[1]}")
    except (ValueError, InvalidOperation):
        raise UserError(f"--fill {t}.{c.name}={text!r}: not a value for {c.shown}") from None
    return text


_DUCK_TYPES = {
    "int64": "BIGINT",
    "int32": "INTEGER",
    "int16": "SMALLINT",
    "int_any": "BIGINT",
    "bool": "BOOLEAN",
    "ts": "TIMESTAMPTZ",
    "ts_naive": "TIMESTAMP",
    "date": "DATE",
    "json": "VARCHAR",
    "str": "VARCHAR",
}

ROW_ID = "__demoseed_row_id"  # the row's id in the snapshot, carried for a per-row fill (see TablePlan.needs_row_id)


def _uuid_text(table: str, column: str, salt: str) -> str:
    """A DuckDB expression: the row's UUID, from md5(snapshot id / table.column / the row's snapshot id), laid out
    as a version-4 UUID (version nibble 4, variant bits 10), as Python's ``uuid.UUID(bytes=md5, version=4)``."""
    h = f"md5({sql_literal(f'{salt}/{table}.{column}/')} || CAST({quote(ROW_ID)} AS VARCHAR))"
    variant = f"substr('89ab89ab89ab89ab', strpos('0123456789abcdef', substr({h}, 17, 1)), 1)"
    return (
        f"substr({h}, 1, 8) || '-' || substr({h}, 9, 4) || '-4' || substr({h}, 14, 3) || '-' || {variant} "
        f"|| substr({h}, 18, 3) || '-' || substr({h}, 21, 12)"
    )


def _uuid_expr(text: str, dialect: str) -> str:
    """A UUID as each target receives it: PostgreSQL's binary COPY its 16 bytes (pgpq has no uuid type and
    writes a binary column as raw bytes, uuid's binary form), Django's SQLite char(32) 32 hex digits, DuckDB a UUID."""
    u = f"CAST({text} AS UUID)"
    if dialect == "postgres":
        return f"unhex(replace(CAST({u} AS VARCHAR), '-', ''))"
    if dialect == "sqlite":
        return f"replace(CAST({u} AS VARCHAR), '-', '')"
    return u


def fill_expr(f: Fill, as_of: dt.datetime, dialect: str, table: str = "", salt: str = "") -> str:
    """The DuckDB expression of one filled column: a typed constant, or a UUID derived from each row."""
    kind = f.canon[0]
    value = f.value
    if f.per_row:
        return _uuid_expr(_uuid_text(table, f.column, salt), dialect)
    if f.uuid and value is not None:
        return _uuid_expr(sql_literal(str(value)), dialect)
    if value == NOW and kind == "date":
        value = as_of.astimezone(dt.UTC).date().isoformat()
    elif value == NOW and kind in {"ts", "ts_naive"}:
        value = as_of.astimezone(dt.UTC).isoformat()
    if kind == "json":
        text = value if f.source == "--fill" else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        return "NULL"
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    if kind == "dec":
        p, s = f.canon[1], f.canon[2]
        duck = f"DECIMAL({p}, {s})" if p is not None and dialect != "sqlite" else "DOUBLE"
    else:
        duck = _DUCK_TYPES.get(kind, "VARCHAR")
    expr = f"CAST({sql_literal(text)} AS {duck})"
    if dialect == "sqlite":
        if kind in {"ts", "ts_naive"}:
            expr = f"strftime({expr}, '%Y-%m-%d %H:%M:%S.%f')"
        elif kind == "date":
            expr = f"strftime({expr}, '%Y-%m-%d')"
    return expr


def schema_changes(plan: LoadPlan, specs: Mapping[str, TableSpec]) -> list[str]:
    """Where the target's tables differ from the snapshot's columns, from the plan's own differences:
    ``table.column (added | removed | renamed to X | changed)``, one per column."""
    out: dict[tuple[str, str], str] = {}
    for d in plan.differences:
        if (d.table, d.column) in out:
            continue
        if d.group == RENAMED:
            what = f"renamed to {plan.tables[d.table].renames.get(d.column, '?')}"
        elif d.column not in specs[d.table].column_names:
            what = "added"
        else:
            what = "removed" if "not in the target" in d.text else "changed"
        out[(d.table, d.column)] = f"{d.table}.{d.column} ({what})"
    return list(out.values())


def versions_note(
    recorded: Mapping[str, str] | None, applied: Mapping[str, Sequence[str]] | None, changes: Sequence[str]
) -> str:
    """Whether the target is newer or older than what the snapshot was made for, and in what.

    ``recorded``: the app's latest migration per app label when the snapshot
    was made (``snapshot --app``); ``applied``: the migrations the target's
    ``django_migrations`` holds per app label, in the order applied (None: no
    such table);
    ``changes``: :func:`schema_changes`, the comparison used without both.
    """
    if recorded and applied is not None:
        newer, older = [], []
        for label, made in sorted(recorded.items()):
            names = list(applied.get(label, ()))  # in the order applied: the graph's, not the names'
            after = names[names.index(made) + 1 :] if made in names else []
            if after:
                span = f"{after[0]} .. {after[-1]} ({len(after)})" if len(after) > 1 else after[0]
                newer.append(f"{label} {span}")
            elif made not in names:
                older.append(f"{label} is at {names[-1] if names else 'no migration'}, the snapshot at {made}")
        parts = []
        if newer:
            parts.append(f"target is newer: {'; '.join(newer)} applied after this snapshot was made")
        if older:
            parts.append(f"target is older: {'; '.join(older)}")
        made_for = migrations_text(recorded)
        return "; ".join(parts) or f"target is at the app migrations this snapshot was made for ({made_for})"
    lead = "the target records no Django migrations; " if recorded else ""
    if not changes:
        return f"{lead}target has the columns of the schema this snapshot was built against"
    shown = ", ".join(changes) if len(changes) <= 12 else f"{', '.join(changes[:10])}, ... ({len(changes)} in all)"
    return f"{lead}target differs from the schema this snapshot was built against in: {shown}"
