"""Snapshots: a directory of Parquet tables plus ``manifest.json``.

The manifest records the snapshot format version, the tool version, the
scenario and every parameter, the input hashes, and per table its row count,
the byte size and sha256 of the file and a content hash of the canonical
rows. The snapshot id is derived from the content (parameters, inputs and
content hashes), never from a clock.

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
import hashlib
import json
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import __version__
from pipeline.base.atomic import atomic_directory, atomic_write_bytes
from pipeline.base.errors import IntegrityError, UserError
from pipeline.base.filehash import file_sha256, files_sha256

if TYPE_CHECKING:
    import pyarrow as pa

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # what a file name may be built from


@dataclass(frozen=True)
class TableEntry:
    """One table of a snapshot: its file, row count, hashes and byte size (None in manifests without it)."""

    file: str
    rows: int
    sha256: str
    content_sha256: str
    bytes: int | None = None


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
    def mode(self) -> str | None:
        """ "scenario", "legacy" or "project" (None for a snapshot written without it)."""
        mode = self.params.get("mode")
        return mode if isinstance(mode, str) else None

    @property
    def generate(self) -> dict[str, Any]:
        """The generate stage's record (``params.generate``)."""
        gen = self.params.get("generate")
        return gen if isinstance(gen, dict) else {}

    @property
    def scenario(self) -> str | None:
        """The scenario's name (None for a real-project snapshot or when unknown)."""
        name = self.generate.get("scenario")
        return name if self.mode != "project" and isinstance(name, str) and name else None

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
    def request_key(self) -> str | None:
        key = self.inputs.get("request_key")
        return key if isinstance(key, str) else None


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
        manifest: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "tool": {"name": "demoseed", "version": __version__},
            "name": name,
            "params": params,
            "inputs": inputs or {},
            "notes": list(notes),
            "tables": entries,
        }
        manifest["snapshot_id"] = snapshot_id(manifest)
        atomic_write_bytes(tmp / MANIFEST_NAME, canonical_json(manifest).encode())
    return Manifest.from_document(manifest, directory)


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
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IntegrityError(
            f"{path}: snapshot format {version!r} is not supported by this demoseed (format {FORMAT_VERSION}); "
            "rebuild the snapshot with this version"
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
    hashes each file as it extracts it), by file name; they are not read again.
    """
    directory = Path(directory)
    manifest = _read_document(directory)
    tables: dict[str, Any] = manifest["tables"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the files are hashed (hashlib releases the GIL) while pyarrow loads and the footers are read
        hashing = pool.submit(_byte_problems, directory, tables, known or {})
        from pipeline.base.schemas import APP_LOAD_ORDER, SNAPSHOT_TABLES

        ours = [t for t in tables if t in SNAPSHOT_TABLES]
        footers = {t: _footer_rows(directory / f"{t}.parquet") for t in ours}
        found = hashing.result()
    problems = [f"{t}: missing from the manifest" for t in APP_LOAD_ORDER if t not in tables]
    for table_name, entry in sorted(tables.items()):
        problem = "not a snapshot table" if table_name not in SNAPSHOT_TABLES else found.get(table_name)
        rows = footers.get(table_name)
        if problem is None and isinstance(rows, str):
            problem = rows
        elif problem is None and rows != entry["rows"]:
            problem = f"{rows} rows, the manifest says {entry['rows']}"
        elif problem is None and content:
            problem = _content_problem(directory / f"{table_name}.parquet", table_name, entry)
        if problem:
            problems.append(f"{table_name}: {problem}")
    problems += _unlisted(directory, tables)
    if not problems and manifest.get("snapshot_id") != snapshot_id(manifest):
        problems.append("manifest: snapshot_id does not match its contents (the manifest was edited)")
    if problems:
        raise IntegrityError(f"snapshot {directory} failed verification: " + "; ".join(problems))
    return Manifest.from_document(manifest, directory / MANIFEST_NAME)


def verify_files(directory: Path | str) -> Manifest:
    """The byte-level part of :func:`verify_snapshot`: every listed file's size and sha256, no unlisted
    file, the snapshot id. Reads no Parquet and imports neither pyarrow nor numpy."""
    directory = Path(directory)
    manifest = _read_document(directory)
    tables: dict[str, Any] = manifest["tables"]
    found = _byte_problems(directory, tables, {})
    problems = [f"{t}: {p}" for t, p in sorted(found.items())] + _unlisted(directory, tables)
    if not problems and manifest.get("snapshot_id") != snapshot_id(manifest):
        problems.append("manifest: snapshot_id does not match its contents (the manifest was edited)")
    if problems:
        raise IntegrityError(f"snapshot {directory} failed verification: " + "; ".join(problems))
    return Manifest.from_document(manifest, directory / MANIFEST_NAME)


def _unlisted(directory: Path, tables: dict[str, Any]) -> list[str]:
    listed = {e.get("file") for e in tables.values() if isinstance(e, dict)} | {MANIFEST_NAME}
    return [
        f"{extra}: not listed in the manifest"
        for extra in sorted(p.name for p in directory.iterdir())
        if extra not in listed
    ]


def _entry_problem(table_name: str, entry: Any) -> str | None:
    if not _TABLE_NAME.match(table_name):
        return "not a snapshot table"
    if not isinstance(entry, dict) or not {"file", "rows", "sha256", "content_sha256"} <= entry.keys():
        return "manifest entry is incomplete"
    if entry["file"] != f"{table_name}.parquet":
        return f"manifest points at {entry['file']!r}, expected {table_name}.parquet"
    size = entry.get("bytes", 0)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return "manifest entry has no valid byte size"
    return None


def _byte_problems(directory: Path, tables: dict[str, Any], known: Mapping[str, str]) -> dict[str, str]:
    """table -> what is wrong with its file's bytes (entry, presence, sha256, size); the files hashed in parallel."""
    problems: dict[str, str] = {}
    present: dict[str, Path] = {}
    for table_name, entry in tables.items():
        problem = _entry_problem(table_name, entry)
        path = directory / f"{table_name}.parquet"
        if problem is None and (not path.is_file() or path.is_symlink()):
            problem = "file is missing"
        if problem:
            problems[table_name] = problem
        else:
            present[table_name] = path
    unknown = [p for p in present.values() if p.name not in known]
    digests = dict(zip((p.name for p in unknown), files_sha256(unknown), strict=True)) | dict(known)
    for table_name, path in present.items():
        digest = digests[path.name]
        entry = tables[table_name]
        if digest != entry["sha256"]:
            problems[table_name] = "sha256 of the file differs from the manifest (the file was changed or swapped)"
        elif "bytes" in entry and path.stat().st_size != entry["bytes"]:
            problems[table_name] = f"{path.stat().st_size} bytes, the manifest says {entry['bytes']}"
    return problems


def _footer_rows(path: Path) -> int | str | None:
    """The row count in a Parquet file's footer, what is wrong with it, or None when there is no such file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file() or path.is_symlink():
        return None
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (pa.ArrowException, OSError) as exc:
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
    from pipeline.base.parquet import read_table
    from pipeline.base.schemas import SNAPSHOT_TABLES, spec

    directory = Path(directory)
    manifest = read_manifest(directory)
    wanted = list(names) if names is not None else [t for t in SNAPSHOT_TABLES if t in manifest.tables]
    out = {}
    for table_name in wanted:
        if table_name not in manifest.tables:
            raise IntegrityError(f"snapshot {directory} has no table {table_name}")
        out[table_name] = read_table(directory / manifest.tables[table_name].file, spec(table_name))
    return out
