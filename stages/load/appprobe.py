# mypy: ignore-errors
"""Run by the app's own interpreter (``python appprobe.py TABLE...``, cwd = the app's checkout): its models as JSON.

Read-only: ``django.setup()`` with the app's settings (``DJANGO_SETTINGS_MODULE``
as the caller found it in ``manage.py``), then, for each requested table,
every concrete model field's column, nullability, default and ``db_default``;
the renames the applied migrations made (``RenameField``); the migrations
applied to ``DATABASES['default']`` (``django_migrations``, read with a
SELECT; an SQLite file that does not exist is not opened, which would create
it: nothing is migrated there) and those not applied yet; the latest
migration the app's code defines per app label (read from its migration
files, no database); and that database's connection settings.

Defaults: a callable is called here (``list`` -> ``[]``, ``dict`` -> ``{}``),
except ``timezone.now`` / ``datetime.now`` and ``date.today`` /
``timezone.localdate``, reported as ``"now"`` (the load instant, or its date),
and ``uuid.uuid4`` / ``uuid.uuid1``, reported as ``per_row: "uuid"`` (demoseed
derives a UUID from each row). Any other callable is called twice: when the
two results differ it is ``per_row: "varies"`` (no value demoseed can
reproduce). "Latest migration" is by the migration graph's order, never by
name. Output: one JSON document on stdout; an error is one JSON
``{"error": ...}`` line and exit status 3. Imports only the standard library
and Django; never part of demoseed's process.
"""

import datetime
import decimal
import enum
import json
import os
import sys
import uuid


def _value(v):
    if isinstance(v, enum.Enum):
        v = v.value
    if isinstance(v, decimal.Decimal | uuid.UUID):
        return str(v)
    if isinstance(v, datetime.datetime | datetime.date | datetime.time):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    json.dumps(v)  # raises on what JSON cannot hold
    return v


_NOW = {"django.utils.timezone.now", "datetime.datetime.now", "datetime.now"}
_TODAY = {"django.utils.timezone.localdate", "datetime.date.today", "date.today"}
_UUID = {"uuid.uuid4", "uuid.uuid1"}


def _name(d):
    """A callable's dotted name; a builtin classmethod (``date.today``) has no ``__module__``: its class's."""
    module = getattr(d, "__module__", None) or getattr(getattr(d, "__self__", None), "__module__", "")
    return f"{module}.{getattr(d, '__qualname__', '')}"


def _default(field):
    """(has a default, its JSON value, the per-row kind: None | "uuid" | "varies", the callable's name)."""
    from django.utils import timezone

    if not field.has_default():
        return False, None, None, None
    d = field.default
    if callable(d):
        name = _name(d)
        if d == timezone.now or d == datetime.datetime.now or name in _NOW:  # == : a classmethod binds anew
            return True, "now", None, name  # the load instant
        if d == timezone.localdate or d == datetime.date.today or name in _TODAY:
            return True, "now", None, name  # the load instant's date
        if d is uuid.uuid4 or d is uuid.uuid1 or name in _UUID:
            return True, None, "uuid", name  # a UUID per row, derived from the row
        first, second = d(), d()
        if first != second:  # a new value per row (a token, a random code): nothing demoseed can reproduce
            return True, None, "varies", name
        return True, _value(first), None, name
    return True, _value(d), None, None


def _database(conn):
    s = conn.settings_dict
    if conn.vendor == "postgresql":
        from urllib.parse import quote

        user = quote(str(s.get("USER") or ""), safe="")
        password = quote(str(s.get("PASSWORD") or ""), safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = s.get("HOST") or "localhost"
        port = s.get("PORT") or "5432"
        return {"vendor": "postgresql", "url": f"postgresql://{auth}{host}:{port}/{quote(str(s['NAME']), safe='')}"}
    if conn.vendor == "sqlite":
        return {"vendor": "sqlite", "url": "sqlite:///" + os.path.abspath(str(s["NAME"]))}
    return {"vendor": conn.vendor, "url": None}


def main(tables):
    import django

    django.setup()
    from django.db import connection

    out_tables, label_of = _models(set(tables))
    migrations, renames = _migrations(connection, set(label_of.values()))
    _drop_unknown_renames(renames, out_tables)
    return {
        "django": django.get_version(),
        "settings": os.environ.get("DJANGO_SETTINGS_MODULE"),
        "database": _database(connection),
        "tables": out_tables,
        "app_labels": label_of,
        "renames": renames,
        "migrations": migrations,
    }


def _models(wanted):
    """The wanted tables' model fields (table -> column -> field facts) and each table's app label."""
    from django.apps import apps

    out_tables = {}
    label_of = {}
    for model in apps.get_models(include_auto_created=True):
        t = model._meta.db_table
        if t in wanted:
            label_of[t] = model._meta.app_label
            out_tables[t] = {f.column: _field(f) for f in model._meta.concrete_fields}
    return out_tables, label_of


def _field(f):
    """One concrete model field: its name, nullability, default and ``db_default``."""
    from django.db.models import NOT_PROVIDED

    has, value, per_row, name = _default(f)
    return {
        "field": f.name,
        "null": bool(f.null),
        "has_default": has,
        "default": value,
        "per_row": per_row,
        "callable": name,
        "uuid": f.get_internal_type() == "UUIDField",
        "db_default": getattr(f, "db_default", NOT_PROVIDED) is not NOT_PROVIDED,
    }


def _migrations(connection, labels):
    """The migrations of ``labels`` (applied, unapplied, defined) and the renames the applied ones made; an
    unreachable database leaves the applied ones unknown (``error``)."""
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.recorder import MigrationRecorder

    migrations = {"recorded": False, "applied": {}, "unapplied": [], "defined": _defined(labels)}
    renames = {}
    try:
        if _no_sqlite_file(connection):  # connecting would create it: nothing is migrated there
            raise _NotThere
        loader = MigrationLoader(connection)  # reads django_migrations (a SELECT) when the table exists
        migrations["recorded"] = MigrationRecorder(connection).has_table()
        applied = set(loader.applied_migrations or {})
        _last_applied(loader, applied, migrations["applied"])
        _unapplied(loader, applied, labels, migrations["unapplied"])
        migrations["unapplied"] = sorted(set(migrations["unapplied"]))
        _renames(loader, applied, renames)
    except _NotThere:
        pass
    except Exception as exc:  # the database is unreachable: models still answer, migrations do not
        migrations["error"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return migrations, renames


def _last_applied(loader, applied, last):
    """Into ``last``: the last applied migration per app label, by the graph's order, not the names'."""
    order = _ordered(loader)
    for label, name in order:
        if (label, name) in applied:
            last[label] = name
    for label, name in sorted(applied - set(order)):  # applied, its file gone: only when nothing else is known
        last.setdefault(label, name)


def _unapplied(loader, applied, labels, out):
    """Onto ``out``: the migrations of ``labels`` the code defines and the database has not applied (``label.name``)."""
    for node in loader.graph.leaf_nodes():
        if node[0] in labels:
            for key in loader.graph.forwards_plan(node):
                if key not in applied and key[0] in labels:
                    out.append(f"{key[0]}.{key[1]}")


def _renames(loader, applied, renames):
    """Into ``renames``: table -> old column -> new column, as the applied ``RenameField`` operations left them
    (chains followed)."""
    from django.apps import apps
    from django.db.migrations.operations import RenameField

    for key in _ordered(loader):
        if key not in applied:
            continue
        for op in loader.graph.nodes[key].operations:
            if not isinstance(op, RenameField):
                continue
            try:
                model = apps.get_model(key[0], op.model_name)
                new = model._meta.get_field(op.new_name)
            except LookupError:
                continue
            old_col = op.old_name + ("_id" if new.is_relation and new.column.endswith("_id") else "")
            chain = renames.setdefault(model._meta.db_table, {})
            for k, v in list(chain.items()):
                if v == old_col:
                    chain[k] = new.column
            chain[old_col] = new.column


def _drop_unknown_renames(renames, out_tables):
    """Keep only the renames whose new column the models still have (and that rename anything)."""
    for t, chain in renames.items():
        for old, new in list(chain.items()):
            if old == new or new not in out_tables.get(t, {}):
                chain.pop(old)


class _NotThere(Exception):
    pass


def _no_sqlite_file(conn):
    name = str(conn.settings_dict.get("NAME") or "")
    return conn.vendor == "sqlite" and name != ":memory:" and "mode=memory" not in name and not os.path.exists(name)


def _defined(labels):
    """The latest migration of each app label in ``labels`` as the app's code defines it (no database): the last
    of the label's nodes in the migration graph's order (its leaf), never the highest name."""
    from django.db.migrations.loader import MigrationLoader

    out = {}
    for label, name in _ordered(MigrationLoader(None, ignore_no_migrations=True)):  # the graph's order
        if label in labels:
            out[label] = name
    return out


def _ordered(loader):
    """Every migration node in an order the graph allows (each after its dependencies)."""
    seen = {}
    for node in sorted(loader.graph.leaf_nodes()):
        for key in loader.graph.forwards_plan(node):
            seen.setdefault(key, None)
    return list(seen)


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    try:
        doc = main(sys.argv[1:])
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(json.dumps({"error": f"{type(exc).__name__}: {first}"}))
        sys.exit(3)
    print(json.dumps(doc, sort_keys=True))
