"""The unchanged-snapshot check of ``demoseed snapshot`` without running a stage or importing a table library.

Knowing whether a snapshot is up to date takes its request key, a hash of
the request and of the content of its inputs (the normalized GitHub data's
content hashes): reading them needs pyarrow, and the stages' code needs
polars. After each run that built or kept a snapshot, a small record in
``data/work/snapshot/<key>.json`` remembers that request key, the snapshot
directory and the lines the run printed before it, under a key made of what
can be known without reading a table: the whole request, the tool version,
the scenario file's bytes, and the size and mtime of every file the inputs
come from (the raw GitHub cache, ``--real-data``, the built-in scenarios and
presets). The next run of the same request finds the record, checks the
snapshot's files (size and sha256, :func:`pipeline.base.manifest.verify_files`)
and that the snapshot still carries that request key, and is done. Anything
else (no record, a changed input file, a token that makes ``fetch`` talk to
GitHub, a changed or missing snapshot) falls through to the full run, which
decides as it would without the record. The record is a cache: deleting it only costs time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import __version__, paths
from pipeline.base.atomic import atomic_write_bytes
from pipeline.base.errors import IntegrityError, UserError
from pipeline.base.manifest import Manifest, verify_files

if TYPE_CHECKING:
    from pipeline.runners.snapshot import SnapshotRequest

STAGE = "snapshot"


@dataclass(frozen=True)
class Known:
    """A remembered outcome: the snapshot directory, its request key, and what the run printed before it."""

    directory: Path
    request_key: str
    lines: tuple[str, ...]
    notes: tuple[str, ...]


def _tree(root: Path | None) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of every file under ``root`` (sorted; [] when absent)."""
    if root is None or not root.exists():
        return []
    if root.is_file():
        st = root.stat()
        return [(str(root), st.st_size, st.st_mtime_ns)]
    out = []
    for here, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            st = os.stat(os.path.join(here, f))
            out.append((os.path.join(here, f), st.st_size, st.st_mtime_ns))
    return out


def quick_key(req: SnapshotRequest) -> str:
    """What the request's outcome depends on, as far as it can be known without reading a table."""
    import stages.generate

    package_data = [Path(stages.generate.__file__).parent / "scenarios", Path(__file__).parents[1] / "base" / "data"]
    scenario = req.generate.scenario
    basis: dict[str, Any] = {
        "version": __version__,
        "request": dataclasses.asdict(req),
        "data": str(paths.data_root().resolve()),
        "scenario_file": _tree(Path(scenario)) if scenario is not None and Path(scenario).is_file() else None,
        "package": [_tree(p) for p in package_data],
        "raw": _tree(paths.raw_github_dir()),
        "real_data": _tree(req.real_data),
    }
    text = json.dumps(basis, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _record(key: str) -> Path:
    return paths.work_dir() / STAGE / f"{key}.json"


def recall(key: str) -> tuple[Known, Manifest] | None:
    """The remembered snapshot of ``key`` and its manifest, when its files are intact and it has that request key."""
    try:
        doc = json.loads(_record(key).read_text(encoding="utf-8"))
        known = Known(
            Path(doc["directory"]),
            str(doc["request_key"]),
            tuple(str(x) for x in doc["lines"]),
            tuple(str(x) for x in doc["notes"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        manifest = verify_files(known.directory)
    except (IntegrityError, UserError):
        return None
    if manifest.request_key != known.request_key or manifest.tool_version != __version__:
        return None
    return known, manifest


def remember(key: str, known: Known) -> None:
    """Record ``known`` under ``key`` (atomically; a failure to write it only costs the next run time)."""
    doc = {
        "directory": str(known.directory),
        "request_key": known.request_key,
        "lines": list(known.lines),
        "notes": list(known.notes),
    }
    try:
        _record(key).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(_record(key), (json.dumps(doc, indent=2) + "\n").encode())
    except OSError:
        pass
