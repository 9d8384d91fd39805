"""Load targets from database URLs, and URLs safe to show.

Accepted forms::

    postgresql://user:pass@host:port/db[?schema=name&sslmode=...]   (also postgres://)
    sqlite:///relative/path.db      sqlite:////absolute/path.db
    duckdb:///relative/path.duckdb  duckdb:////absolute/path.duckdb
    (none)                          the embedded default, data/app.duckdb

The file URLs follow SQLAlchemy's convention (three slashes, then the path),
so ``duckdb:///tmp/x.duckdb`` is ``./tmp/x.duckdb``. The directory of a file
URL must exist: it is never created (only the default's ``data/`` is). When it
does not exist and the path read as absolute would work, the error says to
write four slashes, so the form people type (``duckdb:///tmp/x.duckdb`` for
``/tmp``) never silently creates ``./tmp`` in the current directory.
Passwords never leave this module unmasked except inside the DSN handed to
the database driver: :func:`mask_url` is what every message shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from pipeline.base.errors import UserError

POSTGRES = "postgres"
SQLITE = "sqlite"
DUCKDB = "duckdb"

_SCHEMES = {"postgresql": POSTGRES, "postgres": POSTGRES, "sqlite": SQLITE, "duckdb": DUCKDB}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
DEFAULT_CONNECT_TIMEOUT = "10"


@dataclass(frozen=True)
class Target:
    """Where to load: the kind of database, how to open it, and how to show it."""

    kind: str
    display: str  # the URL with the password masked
    dsn: str = ""  # postgres: the libpq URI handed to DuckDB's ATTACH (may hold the password)
    path: Path | None = None  # sqlite / duckdb: the database file
    schema: str | None = None  # postgres / duckdb: the schema holding the app tables
    create_dir: bool = False  # the default database only: its directory may be created
    host: str = ""
    port: int | None = None
    database: str = ""
    user: str = ""
    password: str = ""

    @property
    def schema_name(self) -> str:
        return self.schema or ("public" if self.kind == POSTGRES else "main")


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (best effort on malformed input)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)
    if parts.password is None:
        masked = url
    else:
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{user}:***@{host}" + (f":{parts.port}" if _safe_port(parts) else "")
        masked = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    query = parse_qsl(urlsplit(masked).query, keep_blank_values=True) if "?" in masked else []
    if any(k.lower() == "password" for k, _ in query):
        masked_q = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in query], safe="*")
        masked = masked.split("?", 1)[0] + "?" + masked_q
    return masked


def _safe_port(parts: SplitResult) -> int | None:
    try:
        port: int | None = parts.port
        return port
    except ValueError:
        return None


def scrub(text: str, target: Target) -> str:
    """Remove the target's password (and its raw DSN) from a driver message."""
    out = text.replace(target.dsn, target.display) if target.dsn else text
    if target.password:
        out = out.replace(target.password, "***")
    return out


def parse_db_url(url: str | None, *, schema: str | None = None, default_db: Path | None = None) -> Target:
    """Parse a DB URL (None or '' = the embedded DuckDB file ``default_db``) into a :class:`Target`."""
    if not url:
        if default_db is None:
            raise UserError("no DB URL given; use --db-url (or DEMOSEED_DB_URL)")
        path = default_db
        return Target(DUCKDB, f"duckdb:///{path}", path=path, schema=_check_schema(schema), create_dir=True)
    shown = mask_url(url)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    kind = _SCHEMES.get(scheme)
    if kind is None:
        what = f"scheme {scheme!r}" if scheme else "no scheme"
        raise UserError(
            f"bad DB_URL {shown!r}: {what}; use postgresql://user:pass@host:5432/db, sqlite:///path.db or "
            "duckdb:///path.duckdb"
        )
    if kind == POSTGRES:
        return _parse_postgres(url, shown, schema)
    rest = url.split("://", 1)[1]
    if not rest.startswith("/") or len(rest) < 2:
        raise UserError(f"bad DB_URL {shown!r}: a file URL is {scheme}:///relative/path or {scheme}:////absolute/path")
    file = rest[1:].split("?", 1)[0]
    if not file or file.endswith("/"):
        raise UserError(f"bad DB_URL {shown!r}: no database file name after {scheme}:///")
    if kind == SQLITE and schema:
        raise UserError(f"--schema does not apply to SQLite ({shown}); SQLite has a single schema")
    path = Path(unquote(file))
    _check_directory(path, shown, scheme)
    if not path.is_absolute():
        shown = f"{shown} (= {Path.cwd() / path})"
    return Target(kind, shown, path=path, schema=_check_schema(schema))


def _check_directory(path: Path, shown: str, scheme: str) -> None:
    """A file URL's directory must exist; say how to write the absolute path when that is what was meant."""
    parent = path.parent
    if parent.is_dir():
        return
    if path.is_absolute():
        raise UserError(f"bad DB_URL {shown!r}: directory {parent} does not exist; create it first")
    meant = Path("/") / path
    hint = f"; for {meant} write {scheme}:///{meant} (four slashes)" if meant.parent.is_dir() else "; create it first"
    raise UserError(
        f"bad DB_URL {shown!r}: three slashes make {path} a path relative to {Path.cwd()}, "
        f"and directory {parent} does not exist there{hint}"
    )


def _check_schema(schema: str | None) -> str | None:
    if schema is None or schema == "":
        return None
    return check_identifier(schema, "schema name")


_SYSTEM_SCHEMAS = re.compile(r"^(information_schema|pg_.*)$", re.I)


def check_identifier(name: str, what: str) -> str:
    """``name`` if it is a plain SQL identifier (it goes into SQL text, quoted); UserError otherwise.

    Schemas of the database system itself (``information_schema``, ``pg_catalog``
    and every ``pg_*``) are refused: a load never writes there.
    """
    if not _IDENT.match(name):
        raise UserError(f"bad {what} {name!r}: use letters, digits and underscores (e.g. demo_app)")
    if what == "schema name" and _SYSTEM_SCHEMAS.match(name):
        raise UserError(f"schema {name!r} belongs to the database system; load into public or a schema of your own")
    return name


def _parse_postgres(url: str, shown: str, schema: str | None) -> Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UserError(f"bad DB_URL {shown!r}: {exc}") from None
    database = unquote(parts.path.lstrip("/"))
    if not parts.hostname:
        raise UserError(f"bad DB_URL {shown!r}: no host; use postgresql://user@host:5432/dbname")
    if not database or "/" in database:
        raise UserError(f"bad DB_URL {shown!r}: no database name; use postgresql://user@host:5432/dbname")
    query = parse_qsl(parts.query, keep_blank_values=True)
    url_schema = next((v for k, v in query if k == "schema"), None)
    if schema and url_schema and schema != url_schema:
        raise UserError(f"--schema {schema!r} contradicts ?schema={url_schema} in DB_URL {shown!r}; give one")
    keep = [(k, v) for k, v in query if k != "schema"]
    if not any(k == "connect_timeout" for k, _ in keep):
        keep.append(("connect_timeout", DEFAULT_CONNECT_TIMEOUT))
    dsn = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(keep), ""))
    password = unquote(parts.password) if parts.password else next((v for k, v in query if k == "password"), "")
    return Target(
        POSTGRES,
        shown,
        dsn=dsn,
        schema=_check_schema(schema or url_schema),
        host=parts.hostname,
        port=port or 5432,
        database=database,
        user=unquote(parts.username or ""),
        password=password,
    )
