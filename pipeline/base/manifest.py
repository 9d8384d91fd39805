"""Snapshots: a directory of Parquet tables plus ``manifest.json``.

The manifest records the snapshot format version, the tool version, the
scenario and every parameter, the input hashes, and per table its row count,
the byte size and sha256 of the file and a content hash of the canonical
rows. The snapshot id is derived from the content (parameters, inputs and
content hashes), never from a clock.

A large snapshot (format 2, written in partitions of teams by
:mod:`pipeline.runners.partitioned`) keeps each table as a directory of parts,
``<table>/part-00000.parquet``...; its entry lists every part with its rows and
both hashes, and the table's own ``sha256``/``content_sha256`` hash the parts'
hashes in order (:mod:`pipeline.base.parts`). :func:`table_files` lists a table's
files for readers (DuckDB, polars and pyarrow read the list or the directory).

:func:`write_snapshot` writes into a temporary sibling directory and renames
it into place, so a crash never leaves a half snapshot. :func:`verify_snapshot`
checks every file's size and sha256 (files hashed in parallel), row counts
from the Parquet footers and the snapshot id, and names each table that
differs; ``content=True`` also re-hashes the canonical rows (the hash that
survives a Parquet library upgrade). :func:`verify_files` is the byte-level
part alone and imports neither pyarrow nor numpy (the unchanged-snapshot
check of ``demoseed snapshot`` uses it). Readers get a :class:`Manifest`, the
typed view of ``manifest.json``; this module is the only one that reads or
writes the JSON.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import __version__
from pipeline.base.atomic import atomic_directory, atomic_write_bytes
from pipeline.base.errors import IntegrityError, UserError
from pipeline.base.filehash import file_sha256, files_sha256
from pipeline.base.footer import footer_rows
from pipeline.base.parts import PartEntry, part_from_json, part_name, parted_entry
from pipeline.base.runrecord import Mode, RunRecord, run_record_from_json

if TYPE_CHECKING:
    import pyarrow as pa

FORMAT_VERSION = 1
PARTS_FORMAT_VERSION = 2  # tables may be directories of parts
SUPPORTED_FORMATS = (FORMAT_VERSION, PARTS_FORMAT_VERSION)
MANIFEST_NAME = "manifest.json"
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # what a file name may be built from
SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")  # a directory name: no '/', never '..' alone
MANIFEST_DIGEST = "manifest_sha256"  # the key of the digest of every other field


@dataclass(frozen=True)
class TableEntry:
    """One table of a snapshot: its file (a directory for a table in parts), row count and hashes."""

    file: str
    rows: int
    sha256: str
    content_sha256: str
    parts: tuple[PartEntry, ...] = ()
    bytes: int | None = None  # the file's size (None: a manifest without it, or a table in parts)

    @property
    def files(self) -> tuple[str, ...]:
        """The table's Parquet files relative to the snapshot, in row order."""
        return tuple(p.file for p in self.parts) if self.parts else (self.file,)


def link_problem(directory: Path, rel: str) -> str | None:
    """What is wrong when a snapshot's file ``rel`` (or a directory on its way) is a link: a snapshot
    holds plain files only, and a link would make verify, pack and load read bytes from elsewhere."""
    path = directory
    for part in rel.split("/"):
        path = path / part
        if path.is_symlink():
            return (
                f"{path.relative_to(directory).as_posix()} is a link (to {path.readlink()}); a snapshot holds "
                "plain files only: replace it with a fresh copy of the snapshot"
            )
    return None


def table_files(directory: Path | str, entry: TableEntry) -> list[Path]:
    """The Parquet files of one table of a snapshot, in row order (one, or its parts)."""
    return [Path(directory) / f for f in entry.files]


def checked_files(directory: Path | str, table_name: str, entry: TableEntry) -> tuple[Path, ...]:
    """A verified table's files by the names verification insists on (``<table>.parquet`` or
    ``<table>/part-NNNNN.parquet``, numbered from 0), never a name taken from the manifest's text."""
    directory = Path(directory)
    if entry.parts:
        return tuple(directory / part_name(table_name, i) for i in range(len(entry.parts)))
    return (directory / f"{table_name}.parquet",)


def table_paths(directory: Path | str, table_name: str) -> list[Path]:
    """The files of ``table_name`` in a snapshot (as its manifest lists them: one file or its parts) or in
    a plain directory of tables (``<table>.parquet``); [] when it has none. For every reader of a table."""
    directory = Path(directory)
    if (directory / MANIFEST_NAME).is_file():
        entry = read_manifest(directory).tables.get(table_name)
        if entry is not None:
            return table_files(directory, entry)
    single = directory / f"{table_name}.parquet"
    return [single] if single.is_file() else []


@dataclass(frozen=True)
class Manifest:
    """The typed view of a snapshot's ``manifest.json`` (``document`` is the JSON as written)."""

    snapshot_id: str
    name: str
    tool_version: str
    params: dict[str, Any]
    inputs: dict[str, Any]
    notes: tuple[str, ...]
    tables: dict[str, TableEntry]
    document: dict[str, Any]

    @classmethod
    def from_document(cls, doc: dict[str, Any], where: Path | str) -> Manifest:
        try:
            return cls(
                snapshot_id=str(doc["snapshot_id"]),
                name=str(doc.get("name", "")),
                tool_version=str((doc.get("tool") or {}).get("version", "")),
                params=dict(doc.get("params") or {}),
                inputs=dict(doc.get("inputs") or {}),
                notes=tuple(str(n) for n in doc.get("notes") or ()),
                tables={
                    str(n): TableEntry(
                        str(e["file"]),
                        int(e["rows"]),
                        str(e["sha256"]),
                        str(e["content_sha256"]),
                        tuple(part_from_json(p) for p in e.get("parts") or ()),
                        int(e["bytes"]) if "bytes" in e else None,
                    )
                    for n, e in doc["tables"].items()
                },
                document=doc,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IntegrityError(
                f"{where}: manifest is incomplete ({exc!r}); fetch a fresh copy of the snapshot"
            ) from None

    @property
    def mode(self) -> Mode | None:
        """The run's mode (None for a snapshot written without it)."""
        return Mode.parse(self.params.get("mode"))

    @property
    def generate(self) -> dict[str, Any]:
        """The generate stage's record as JSON (``params.generate``); :attr:`run` is its typed view."""
        gen = self.params.get("generate")
        return gen if isinstance(gen, dict) else {}

    @functools.cached_property
    def run(self) -> RunRecord | None:
        """The generate stage's typed record (None when the manifest holds none, or an incomplete one)."""
        if not self.generate:
            return None
        try:
            return run_record_from_json(self.generate)
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def scenario(self) -> str | None:
        """The scenario's name (None for a real-project snapshot or when unknown)."""
        name = self.generate.get("scenario")
        return name if self.mode is not Mode.PROJECT and isinstance(name, str) and name else None

    @property
    def seed(self) -> int | None:
        seed = (self.params.get("request") or {}).get("seed", self.generate.get("seed"))
        return seed if isinstance(seed, int) else None

    @property
    def week_starts(self) -> tuple[dt.date, ...] | None:
        """The weeks the data was generated for (Mondays), None when the manifest does not list them."""
        weeks = self.generate.get("week_starts")
        if not isinstance(weeks, list) or not weeks:
            return None
        try:
            return tuple(dt.date.fromisoformat(str(w)) for w in weeks)
        except ValueError:
            raise IntegrityError(f"manifest of {self.name}: week_starts holds a value that is not a date") from None

    @property
    def app_schema_sha256(self) -> str | None:
        """The sha256 of the app DDL the tables were built against (None: written before it was recorded)."""
        rec = self.document.get("app_schema")
        return str(rec["sha256"]) if isinstance(rec, dict) and "sha256" in rec else None

    @property
    def app_migrations(self) -> dict[str, str] | None:
        """The app's latest migration per app label the snapshot was made for (``snapshot --app``; None: not given)."""
        rec = self.document.get("app_schema")
        found = rec.get("migrations") if isinstance(rec, dict) else None
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else None

    @property
    def request_key(self) -> str | None:
        key = self.inputs.get("request_key")
        return key if isinstance(key, str) else None


APP_SCHEMA_SQL = Path(__file__).resolve().parent / "sql" / "app-schema.sql"


_APP_MIGRATIONS: ContextVar[dict[str, str] | None] = ContextVar("app_migrations", default=None)


@contextmanager
def recording_app_migrations(migrations: Mapping[str, str]) -> Iterator[None]:
    """Snapshots written inside record ``migrations`` (app label -> latest migration; ``snapshot --app``)."""
    token = _APP_MIGRATIONS.set(dict(migrations))
    try:
        yield
    finally:
        _APP_MIGRATIONS.reset(token)


def migrations_text(migrations: Mapping[str, str] | None) -> str:
    """App label -> migration as shown to the user: ``label.migration, ...`` sorted by label ("none" when empty)."""
    return ", ".join(f"{k}.{v}" for k, v in sorted((migrations or {}).items())) or "none"


def app_schema_record() -> dict[str, Any]:
    """The app schema a snapshot's tables are built against: the sha256 of the vendored app DDL, and the app's
    latest migration per app label when the snapshot is made with ``--app`` (:func:`recording_app_migrations`)."""
    record: dict[str, Any] = {"sha256": file_sha256(APP_SCHEMA_SQL), "file": "pipeline/base/sql/app-schema.sql"}
    migrations = _APP_MIGRATIONS.get()
    if migrations:
        record["migrations"] = dict(sorted(migrations.items()))
    return record


def canonical_json(obj: Any) -> str:
    """The one JSON text for an object: sorted keys, fixed separators, newline at the end."""
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def snapshot_id(manifest: dict[str, Any]) -> str:
    """The id derived from a manifest's content: params, inputs and table content hashes."""
    basis = {
        "format_version": manifest["format_version"],
        "params": manifest.get("params", {}),
        "inputs": manifest.get("inputs", {}),
        "tables": {name: t["content_sha256"] for name, t in sorted(manifest["tables"].items())},
    }
    digest = hashlib.sha256(json.dumps(basis, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return digest[:16]


def manifest_digest(manifest: dict[str, Any]) -> str:
    """The sha256 of every field of a manifest but the id and itself (name, notes, tool, params, ...):
    recorded as ``manifest_sha256`` so that verify catches an edit of a field the id does not cover."""
    basis = {k: v for k, v in manifest.items() if k not in ("snapshot_id", MANIFEST_DIGEST)}
    return hashlib.sha256(json.dumps(basis, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def write_snapshot(
    directory: Path | str,
    tables: dict[str, pa.Table],
    *,
    name: str,
    params: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    notes: list[str] | tuple[str, ...] = (),
) -> Manifest:
    """Write ``tables`` and a manifest to ``directory`` atomically; return the manifest."""
    from pipeline.base.hashing import content_hash
    from pipeline.base.parquet import write_table
    from pipeline.base.schemas import APP_LOAD_ORDER, SNAPSHOT_TABLES, spec

    directory = Path(directory)
    missing = [t for t in APP_LOAD_ORDER if t not in tables]
    if missing:
        raise IntegrityError(f"snapshot {name}: missing table(s) {', '.join(missing)}")
    unknown = [t for t in tables if t not in SNAPSHOT_TABLES]
    if unknown:
        raise IntegrityError(f"snapshot {name}: table(s) {', '.join(unknown)} do not belong in a snapshot")
    with atomic_directory(directory) as tmp:
        entries: dict[str, Any] = {}
        for table_name in (t for t in SNAPSHOT_TABLES if t in tables):
            file = f"{table_name}.parquet"
            written = write_table(tables[table_name], spec(table_name), tmp / file)
            entries[table_name] = {
                "file": file,
                "rows": written.num_rows,
                "bytes": (tmp / file).stat().st_size,
                "sha256": file_sha256(tmp / file),
                "content_sha256": content_hash(written),
            }
        document = write_manifest(tmp, entries, name=name, params=params, inputs=inputs, notes=notes)
    return Manifest.from_document(document, directory)


def write_manifest(
    directory: Path,
    entries: dict[str, Any],
    *,
    name: str,
    params: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    notes: list[str] | tuple[str, ...] = (),
) -> dict[str, Any]:
    """Write ``manifest.json`` for tables already in ``directory`` (entries in SNAPSHOT_TABLES order);
    format 2 when any table is in parts. Returns the document."""
    parted = any("parts" in e for e in entries.values())
    manifest: dict[str, Any] = {
        "format_version": PARTS_FORMAT_VERSION if parted else FORMAT_VERSION,
        "tool": {"name": "demoseed", "version": __version__},
        "name": name,
        "params": params,
        "inputs": inputs or {},
        "notes": list(notes),
        "tables": entries,
        "app_schema": app_schema_record(),  # what the tables were built against; not part of the id
    }
    manifest["snapshot_id"] = snapshot_id(manifest)
    manifest[MANIFEST_DIGEST] = manifest_digest(manifest)
    atomic_write_bytes(directory / MANIFEST_NAME, canonical_json(manifest).encode())
    return manifest


def read_manifest(directory: Path | str) -> Manifest:
    """The manifest of a snapshot directory (IntegrityError when missing or unreadable)."""
    return Manifest.from_document(_read_document(directory), Path(directory) / MANIFEST_NAME)


def _read_document(directory: Path | str) -> dict[str, Any]:
    path = Path(directory) / MANIFEST_NAME
    if not Path(directory).is_dir():
        raise UserError(
            f"{directory} is not a snapshot directory; run 'demoseed snapshot' first or give the right path"
        )
    if not path.is_file():
        raise IntegrityError(f"{directory}: no {MANIFEST_NAME}; this is not a complete snapshot")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntegrityError(
            f"{path}: manifest is not valid JSON ({exc}); fetch a fresh copy of the snapshot"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("tables"), dict):
        raise IntegrityError(f"{path}: manifest has no table list; fetch a fresh copy of the snapshot")
    name = manifest.get("name", "")
    if not isinstance(name, str) or not (name == "" or SNAPSHOT_NAME.match(name)):  # every reader, verify first
        raise IntegrityError(
            f"{path}: the manifest's name {name!r} is not a snapshot name (letters, digits, '.', '_', '+', '-'; "
            "no path); fetch a fresh copy of the snapshot"
        )
    version = manifest.get("format_version")
    if version not in SUPPORTED_FORMATS:
        raise IntegrityError(
            f"{path}: snapshot format {version!r} is not supported by this demoseed "
            f"(formats {', '.join(map(str, SUPPORTED_FORMATS))}); rebuild the snapshot with this version"
        )
    return manifest


def verify_snapshot(
    directory: Path | str, *, content: bool = False, known: Mapping[str, str] | None = None
) -> Manifest:
    """Check every file's size and sha256, the row counts in the Parquet footers and the snapshot id.

    Returns the manifest; raises IntegrityError naming each table that differs.
    ``content=True`` also reads the rows and compares their content hash (the
    hash that stays the same when a newer Parquet library encodes the same rows
    differently): slower, and what to use across library versions. ``known``
    gives the sha256 of files the caller has just written and hashed (``unpack``
    hashes each file as it extracts it), by path in the snapshot; they are not read again.
    """
    return _verify(Path(directory), content=content, known=known or {}, footers=True)


def verify_files(directory: Path | str, *, known: Mapping[str, str] | None = None) -> Manifest:
    """The byte-level part of :func:`verify_snapshot`: every listed file's size and sha256, no unlisted
    file, the snapshot id. Reads no Parquet and imports neither pyarrow nor numpy. ``known``: as for
    :func:`verify_snapshot`."""
    return _verify(Path(directory), content=False, known=known or {}, footers=False)


def _verify(directory: Path, *, content: bool, known: Mapping[str, str], footers: bool) -> Manifest:
    manifest = _read_document(directory)
    tables: dict[str, Any] = manifest["tables"]
    problems: list[str] = []
    allowed: set[str] | None = None
    if footers:
        from pipeline.base.tablenames import APP_LOAD_ORDER, SNAPSHOT_TABLES

        allowed = set(SNAPSHOT_TABLES)
        problems += [f"{t}: missing from the manifest" for t in APP_LOAD_ORDER if t not in tables]
    files = {t: _table_entries(t, e, allowed) for t, e in tables.items()}
    present = [
        f["file"]
        for v in files.values()
        if not isinstance(v, str)
        for f in v
        if (directory / f["file"]).is_file() and link_problem(directory, f["file"]) is None
    ]
    todo = [f for f in present if f not in known]
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the files are hashed (hashlib releases the GIL) while the footers are read
        hashing = pool.submit(files_sha256, [directory / f for f in todo])
        rows = {f: _footer_rows(directory / f) for f in present} if footers else {}
        digests = dict(zip(todo, hashing.result(), strict=True)) | dict(known)
    for table_name, v in sorted(files.items()):
        problem = v if isinstance(v, str) else None
        for f in [] if isinstance(v, str) else v:
            problem = _file_problem(directory, table_name, f, digests.get(f["file"]), rows, content=content)
            if problem:
                parted = "parts" in tables[table_name] and not problem.startswith(f["file"])
                problem = f"{f['file']}: {problem}" if parted else problem
                break
        if problem:
            problems.append(f"{table_name}: {problem}")
    problems += _unlisted(directory, tables)
    if not problems and manifest.get("snapshot_id") != snapshot_id(manifest):
        problems.append("manifest: snapshot_id does not match its contents (the manifest was edited)")
    digest = manifest.get(MANIFEST_DIGEST)  # absent from a snapshot written before it was recorded
    if not problems and digest is not None and digest != manifest_digest(manifest):
        problems.append(
            f"manifest: {MANIFEST_DIGEST} does not match its fields (the manifest was edited: name, notes, tool, ...)"
        )
    if problems:
        raise IntegrityError(f"snapshot {directory} failed verification: " + "; ".join(problems))
    return Manifest.from_document(manifest, directory / MANIFEST_NAME)


def _unlisted(directory: Path, tables: dict[str, Any]) -> list[str]:
    """Files and directories in the snapshot that the manifest does not list."""
    listed = {MANIFEST_NAME}
    for e in tables.values():
        if isinstance(e, dict):
            listed.add(str(e.get("file")))
            listed.update(str(p.get("file")) for p in e.get("parts") or () if isinstance(p, dict))
    found = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if not p.is_dir())
    found += sorted(
        f"{p.relative_to(directory).as_posix()}/"
        for p in directory.rglob("*")
        if p.is_dir() and p.relative_to(directory).as_posix() not in listed
    )
    return [f"{extra}: not listed in the manifest" for extra in found if extra not in listed]


def _table_entries(table_name: str, entry: Any, allowed: set[str] | None) -> str | list[dict[str, Any]]:
    """What is wrong with a table's manifest entry, or its file entries (the entry itself, or its parts)."""
    if not _TABLE_NAME.match(table_name) or (allowed is not None and table_name not in allowed):
        return "not a snapshot table"
    if not isinstance(entry, dict) or not {"file", "rows", "sha256", "content_sha256"} <= entry.keys():
        return "manifest entry is incomplete"
    if "parts" not in entry:
        if entry["file"] != f"{table_name}.parquet":
            return f"manifest points at {entry['file']!r}, expected {table_name}.parquet"
        files = [entry]
    else:
        parts = entry["parts"]
        if not isinstance(parts, list) or not parts or not all(isinstance(p, dict) for p in parts):
            return "manifest lists no parts"
        try:
            expected = parted_entry([part_from_json(p) for p in parts])
        except (KeyError, TypeError, ValueError):
            return "manifest entry of a part is incomplete"
        names = [part_name(table_name, i) for i in range(len(parts))]
        if entry["file"] != table_name or [p["file"] for p in parts] != names:
            return f"manifest points at {entry['file']!r}, expected parts {table_name}/part-NNNNN.parquet in order"
        for key in ("rows", "sha256", "content_sha256"):
            if entry[key] != expected[key]:
                return f"{key} of the table does not match its parts (the manifest was edited)"
        files = parts
    for f in files:
        size = f.get("bytes", 0)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return "manifest entry has no valid byte size"
    return files


def _file_problem(
    directory: Path,
    table_name: str,
    entry: dict[str, Any],
    digest: str | None,
    rows: dict[str, int | str],
    *,
    content: bool,
) -> str | None:
    path = directory / entry["file"]
    if digest is None:
        return link_problem(directory, entry["file"]) or "file is missing"
    if digest != entry["sha256"]:
        return "sha256 of the file differs from the manifest (the file was changed or swapped)"
    if "bytes" in entry and path.stat().st_size != entry["bytes"]:
        return f"{path.stat().st_size} bytes, the manifest says {entry['bytes']}"
    found = rows.get(entry["file"])
    if isinstance(found, str):
        return found
    if found is not None and found != entry["rows"]:
        return f"{found} rows, the manifest says {entry['rows']}"
    return _content_problem(path, table_name, entry) if content else None


def _footer_rows(path: Path) -> int | str:
    """The row count in a Parquet file's footer, or what is wrong with it (reads no rows, imports no pyarrow)."""
    try:
        return footer_rows(path)
    except (ValueError, OSError) as exc:
        return f"not a readable Parquet file ({exc})"


def _content_problem(path: Path, table_name: str, entry: dict[str, Any]) -> str | None:
    from pipeline.base.hashing import content_hash
    from pipeline.base.parquet import read_table
    from pipeline.base.schemas import spec

    try:
        table = read_table(path, spec(table_name))
    except UserError as exc:
        return str(exc)
    return "content hash differs from the manifest" if content_hash(table) != entry["content_sha256"] else None


def read_snapshot_tables(
    directory: Path | str, names: list[str] | tuple[str, ...] | None = None
) -> dict[str, pa.Table]:
    """Read a snapshot's tables (all listed in the manifest, or ``names``)."""
    from pipeline.base.parquet import read_table_files
    from pipeline.base.schemas import SNAPSHOT_TABLES, spec

    directory = Path(directory)
    manifest = read_manifest(directory)
    wanted = list(names) if names is not None else [t for t in SNAPSHOT_TABLES if t in manifest.tables]
    out = {}
    for table_name in wanted:
        if table_name not in manifest.tables:
            raise IntegrityError(f"snapshot {directory} has no table {table_name}")
        out[table_name] = read_table_files(table_files(directory, manifest.tables[table_name]), spec(table_name))
    return out
