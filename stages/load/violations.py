"""A row the target refused for one of its constraints, in one line: which rule, where, a value from the snapshot.

PostgreSQL names the constraint, table and column of a ``CHECK``, ``UNIQUE``,
``NOT NULL`` or foreign-key violation in its diagnostics, and the offending key
or row in DETAIL, with the values as they went in: ids moved by the load's
offsets (and the kept team rows of ``--clear``). The line maps those back to
the snapshot's own ids, or finds a row that breaks the rule in the snapshot
itself (a DuckDB query over the cut snapshot, the rows as the load read them),
so the value it names is one ``demoseed describe`` and the Parquet files show.
The database's own text is logged at INFO (``demoseed -v load ...``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

import duckdb

from .backend import CHECK, FOREIGN_KEY, NOT_NULL, UNIQUE, Backend, ConstraintViolation
from .ddl import app_ddl, quote

DONE = "rolled back, nothing written"
_KEY = re.compile(
    r'Key \((?P<cols>.*?)\)=\((?P<vals>.*)\) (?:is duplicated|already exists|is not present in table "(?P<ref>[^"]+)")',
    re.S,
)
_ROW = re.compile(r"Failing row contains \((?P<vals>.*)\)", re.S)


def explain_violation(
    v: ConstraintViolation,
    backend: Backend,
    sources: dict[str, str],
    offsets: dict[str, int],
    team_map: dict[int, int],
) -> str:
    """The one line for ``v`` (the load's transaction is already rolled back)."""
    table = v.table or ""
    explain = _EXPLAIN.get(v.sqlstate)
    if table in sources and explain is not None:
        try:
            line = explain(v, backend, _Snapshot(backend.duck, table, sources[table], offsets, team_map))
        except duckdb.Error:  # the snapshot side is a courtesy: the database's own words still say what failed
            line = None
        if line:
            return line
    first = str(v).splitlines()[0].split(":", 1)[-1].strip()
    return f"load into {backend.target.display} refused by the database ({first}); {DONE}"


class _Snapshot:
    """One app table's rows as the load read them (snapshot ids), and the load's id remapping undone."""

    def __init__(
        self,
        duck: duckdb.DuckDBPyConnection,
        table: str,
        source: str,
        offsets: dict[str, int],
        team_map: dict[int, int],
    ) -> None:
        self.duck, self.table, self.source = duck, table, source
        self.offsets, self.team_map = offsets, team_map
        self.columns = [str(r[0]) for r in duck.execute(f"DESCRIBE SELECT * FROM ({source})").fetchall()]

    def first(self, select: str, where: str, order: str = "") -> tuple[object, ...] | None:
        sql = f"SELECT {select} FROM ({self.source}) WHERE {where} {order} LIMIT 1"
        try:
            return self.duck.execute(sql).fetchone()
        except duckdb.Error:
            return None

    def unmap(self, column: str, loaded: str) -> str:
        """A value as the load wrote it, as the snapshot holds it (ids and foreign keys moved back)."""
        ref = self.table if column == "id" else app_ddl().references(self.table).get(column)
        if ref is None or not loaded.lstrip("-").isdigit():
            return loaded
        n = int(loaded)
        if ref == "teams_team":
            kept = {new: old for old, new in self.team_map.items()}
            if n in kept:
                return str(kept[n])
        return str(n - self.offsets.get(ref, 0))


def _not_null(v: ConstraintViolation, backend: Backend, snap: _Snapshot) -> str | None:
    col, t = v.column, snap.table
    if not col:
        return None
    fix = f"allow NULLs (ALTER TABLE {t} ALTER COLUMN {col} DROP NOT NULL)"
    if col not in snap.columns:
        return (
            f"{t}.{col} is NOT NULL without a default in {backend.target.display} and the snapshot has no such "
            f"column; {DONE}; give the column a default or {fix}"
        )
    row = snap.first("id", f"{quote(col)} IS NULL", "ORDER BY id")
    if row is not None:
        return (
            f"{t}.{col} is NOT NULL in {backend.target.display} but snapshot row id {row[0]} has no value there "
            f"(NULL); {DONE}; {fix} or load a snapshot that fills it"
        )
    sid = _failing_id(v, backend, snap)
    held = snap.first(quote(col), f"id = {int(sid)}") if sid else None
    was = f" (its {col} is {_show(held[0])} in the snapshot)" if held is not None else ""
    return (
        f"{t}.{col} is NOT NULL in {backend.target.display} but {_row(sid)} went in without a value{was}: the "
        f"load instant's cut or a trigger in the database emptied it; {DONE}; {fix}, or load with a later --as-of"
    )


def _check(v: ConstraintViolation, backend: Backend, snap: _Snapshot) -> str | None:
    name, t = v.constraint, snap.table
    if not name:
        return None
    info = backend.check_constraint(t, name)
    sid = _failing_id(v, backend, snap)
    cols = [c for c in info.columns if c in snap.columns] if info is not None else []
    values = snap.first(", ".join(quote(c) for c in cols), f"id = {int(sid)}") if sid and cols else None
    found = _row(sid)
    if values is not None:
        found += " has " + ", ".join(f"{c} = {_show(x)}" for c, x in zip(cols, values))
    what = f" ({info.definition})" if info is not None else ""
    return (
        f'{t}: {found}, which breaks CHECK constraint "{name}"{what}; {DONE}; relax or drop the '
        f'constraint (ALTER TABLE {t} DROP CONSTRAINT "{name}") or load a snapshot that satisfies it'
    )


def _failing_id(v: ConstraintViolation, backend: Backend, snap: _Snapshot) -> str | None:
    """The snapshot id of the row in DETAIL's ``Failing row contains (...)`` (values as loaded, unquoted)."""
    row = _ROW.search(v.detail)
    pos = backend.id_position(snap.table) if row else None
    if row is None or pos is None:
        return None
    values = row.group("vals").split(", ")
    if pos and len(values) != len(snap.columns):  # a comma inside an earlier value would shift it
        return None
    sid = snap.unmap("id", values[pos]) if pos < len(values) else None
    return sid if sid is not None and sid.lstrip("-").isdigit() else None


def _row(sid: str | None) -> str:
    return f"snapshot row id {sid}" if sid else "a snapshot row"


def _unique(v: ConstraintViolation, backend: Backend, snap: _Snapshot) -> str | None:
    key = _KEY.search(v.detail)
    if not key or not v.constraint:
        return None
    t, name = snap.table, v.constraint
    cols = key.group("cols").split(", ")
    if all(c in snap.columns for c in cols):
        names = ", ".join(quote(c) for c in cols)
        dup = snap.first(
            f"{names}, count(*)",
            "TRUE" if not cols else " AND ".join(f"{quote(c)} IS NOT NULL" for c in cols),
            f"GROUP BY {names} HAVING count(*) > 1 ORDER BY {names}",
        )
        if dup is not None:
            return (
                f"{t}: the snapshot has {dup[-1]} rows with ({', '.join(cols)}) = ({_values(dup[:-1])}), which "
                f'UNIQUE constraint "{name}" allows once; {DONE}; drop the constraint (ALTER TABLE {t} DROP '
                f'CONSTRAINT "{name}") or load a snapshot without the duplicate'
            )
    loaded = key.group("vals").split(", ")
    if "already exists" in v.detail and len(loaded) == len(cols):
        mapped = ", ".join(snap.unmap(c, x) for c, x in zip(cols, loaded))
        return (
            f"{t}: the snapshot's ({', '.join(cols)}) = ({mapped}) already exists in {backend.target.display} "
            f'(UNIQUE constraint "{name}"); {DONE}; delete that row, or drop the constraint'
        )
    return (
        f"{t}: ({', '.join(cols)}) = ({key.group('vals')}) twice among the rows as they went in, where the snapshot "
        f'has no duplicate (UNIQUE constraint "{name}"): a trigger or rule in the database changed them; {DONE}; '
        "drop or disable it for the load"
    )


def _foreign_key(v: ConstraintViolation, backend: Backend, snap: _Snapshot) -> str | None:
    key = _KEY.search(v.detail)
    if not key or not key.group("ref") or not v.constraint:
        return None
    t, name, ref = snap.table, v.constraint, key.group("ref")
    cols = key.group("cols").split(", ")
    loaded = key.group("vals").split(", ")
    if len(loaded) != len(cols):
        loaded = [key.group("vals")]
    pairs = ", ".join(f"{c} = {snap.unmap(c, x)}" for c, x in zip(cols, loaded))
    return (
        f'{t}: foreign key "{name}" ({", ".join(cols)} -> {ref}) fails: the snapshot\'s {pairs} has no row in '
        f'{ref}; {DONE}; add the missing {ref} rows or drop the foreign key (ALTER TABLE {t} DROP CONSTRAINT "{name}")'
    )


_EXPLAIN: dict[str, Callable[[ConstraintViolation, Backend, _Snapshot], str | None]] = {
    NOT_NULL: _not_null,
    CHECK: _check,
    UNIQUE: _unique,
    FOREIGN_KEY: _foreign_key,
}


def _show(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


def _values(values: Sequence[object]) -> str:
    return ", ".join(_show(x) for x in values)
