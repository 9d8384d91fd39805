"""The raw cache: PR nodes as Parquet plus a small state file, per repository.

Layout (``raw_dir`` is ``data/raw/github``)::

    <raw_dir>/<owner>/<repo>/
        state.json               watermark, last full scan, query version, counts,
                                 the scan in progress (cursor, stop point) and the
                                 list of committed page files
        pull_requests.parquet    compacted rows (gh_raw_pull_requests)
        pages/p000007.arrow      one file per page fetched since the last compaction

A page file is a checkpoint, not a product: its rows are checked against the
``gh_raw_pull_requests`` spec (:func:`pipeline.base.parquet.conform`) and written
as an uncompressed Arrow IPC file, because a Parquet write of a 25-row page
of this nested schema (51 leaf columns) costs ~2 ms of CPU against ~0.05 ms
for IPC, on every page of every repo (see bench/bench_fetch.py). Pages written
as ``.parquet`` by older versions are still read. The compacted file is
Parquet, written by :func:`pipeline.base.parquet.write_table` like every table.

Checkpointing a page is two atomic writes: the page file, then ``state.json``
naming it (and the cursor after it). A page file that ``state.json`` does not
name was in flight when the run died; it is ignored and removed, so a killed
run refetches at most that page. Compaction (at the end of each repo's run)
merges the compacted file and the pages, keeps the newest version of each
(repo, number) — newest ``updatedAt``, later fetch on ties — writes
``pull_requests.parquet``, then a state without pages, then deletes the page
files; dying anywhere in between only means merging the same rows again.
Every Parquet write goes through :func:`pipeline.base.parquet.write_table`. The
token is never part of anything written here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.base.atomic import atomic_write_bytes
from pipeline.base.errors import IntegrityError
from pipeline.base.hashing import content_hash
from pipeline.base.parquet import conform, read_table, sort_rows, write_table
from pipeline.base.schemas import GH_RAW_PULL_REQUESTS

log = logging.getLogger(__name__)

SPEC = GH_RAW_PULL_REQUESTS
STATE_VERSION = 1
COMPACT_NAME = "pull_requests.parquet"
PAGE_SUFFIXES = (".arrow", ".parquet")  # .parquet: pages checkpointed by older versions


def resolve_raw_dir(raw_dir: Path | str) -> Path:
    """``data/raw/github`` (``data/raw`` is accepted and means its ``github`` folder)."""
    raw_dir = Path(raw_dir)
    return raw_dir / "github" if raw_dir.name == "raw" else raw_dir


def new_state(repo: str) -> dict:
    return {
        "version": STATE_VERSION,
        "repo": repo,
        "transport": None,
        "query_version": None,
        "complete": False,  # a full scan of the window has finished at least once
        "window_since": None,  # the since of that scan (None: all history)
        "watermark": None,  # everything updated before this is cached
        "last_full_scan": None,
        "last_check": None,
        "incomplete": False,
        "etag": None,
        "counts": {"prs": 0, "pages_fetched": 0},
        "scan": None,
        "pages": [],
        "next_page": 1,
    }


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: object) -> object:
    """Replace lone UTF-16 surrogates (GitHub's JSON can hold half an emoji, e.g.
    "\\ud83d") with U+FFFD: they cannot be stored as UTF-8."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def rows_to_table(rows: list[dict]) -> pa.Table:
    if not rows:
        return SPEC.schema.empty_table()
    try:
        return pa.Table.from_pylist(rows, schema=SPEC.schema)
    except UnicodeEncodeError:  # rare: only then pay for a walk over every value
        return pa.Table.from_pylist([_scrub(r) for r in rows], schema=SPEC.schema)


def write_page(table: pa.Table, path: Path) -> None:
    """Checkpoint a page's rows atomically (fsynced) as an Arrow IPC file (see module doc)."""
    out = conform(table, SPEC).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, out.schema) as writer:
        writer.write_table(out)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def read_page(path: Path) -> pa.Table:
    """A checkpointed page's rows, checked against the spec."""
    if path.suffix == ".parquet":
        return read_table(path, SPEC)
    try:
        table = pa.ipc.open_file(pa.py_buffer(path.read_bytes())).read_all()
    except (pa.ArrowException, OSError) as exc:
        raise IntegrityError(
            f"{path} is not a readable page checkpoint ({exc}); run `demoseed fetch --refresh` for its repo"
        ) from None
    return conform(table, SPEC)


def dedupe_newest(table: pa.Table) -> pa.Table:
    """One row per (repo, number): the newest ``updatedAt``, later rows winning ties."""
    n = table.num_rows
    if n < 2:
        return table
    t = table.append_column("__seq", pa.array(np.arange(n, dtype=np.int64)))
    order = [("repo", "ascending"), ("number", "ascending"), ("updatedAt", "descending"), ("__seq", "descending")]
    t = t.take(pc.sort_indices(t, sort_keys=order))
    repo = t.column("repo").to_numpy(zero_copy_only=False)
    number = t.column("number").to_numpy(zero_copy_only=False)
    keep = np.ones(n, dtype=bool)
    keep[1:] = (repo[1:] != repo[:-1]) | (number[1:] != number[:-1])
    return t.filter(pa.array(keep)).drop_columns(["__seq"])


class RepoCache:
    """The on-disk cache of one repository (see module doc)."""

    def __init__(self, raw_dir: Path, repo: str) -> None:
        owner, _, name = repo.partition("/")
        self.repo = repo
        self.dir = resolve_raw_dir(raw_dir) / owner / name
        self.state_path = self.dir / "state.json"
        self.pages_dir = self.dir / "pages"

    # -- state ---------------------------------------------------------------

    def load_state(self) -> dict:
        if not self.state_path.is_file():
            return new_state(self.repo)
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IntegrityError(
                f"{self.state_path} is unreadable ({exc}); run `demoseed fetch --refresh --repo {self.repo}`"
            ) from None
        base = new_state(self.repo)
        base.update(state)
        self._drop_orphans(base)
        return base

    def save_state(self, state: dict) -> None:
        text = json.dumps(state, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(self.state_path, text.encode("utf-8"))

    def _drop_orphans(self, state: dict) -> None:
        if not self.pages_dir.is_dir():
            return
        named = set(state.get("pages") or [])
        for path in self.pages_dir.glob("p*"):
            if path.suffix in PAGE_SUFFIXES and path.name not in named:
                log.info("%s: dropping page %s that was in flight when a run stopped", self.repo, path.name)
                path.unlink(missing_ok=True)

    # -- pages -----------------------------------------------------------------

    def commit_page(self, rows: list[dict], state: dict) -> None:
        """Checkpoint a page: its rows (if any), then the state naming it."""
        if rows:
            name = f"p{int(state['next_page']):06d}.arrow"
            write_page(rows_to_table(rows), self.pages_dir / name)
            state["pages"] = [*state.get("pages", []), name]
            state["next_page"] = int(state["next_page"]) + 1
        state["counts"]["pages_fetched"] = int(state["counts"].get("pages_fetched", 0)) + 1
        self.save_state(state)

    def _parts(self, state: dict) -> list[pa.Table]:
        parts = []
        compact = self.dir / COMPACT_NAME
        if compact.is_file():
            parts.append(read_table(compact, SPEC))
        for name in state.get("pages") or []:
            path = self.pages_dir / name
            if path.is_file():
                parts.append(read_page(path))
            else:
                log.warning("%s: page file %s named in state.json is missing", self.repo, name)
        return parts

    def table(self, state: dict | None = None) -> pa.Table:
        """The cached rows, deduped (newest version of each PR)."""
        state = self.load_state() if state is None else state
        parts = self._parts(state)
        if not parts:
            return SPEC.schema.empty_table()
        return dedupe_newest(pa.concat_tables(parts) if len(parts) > 1 else parts[0])

    def compact(self, state: dict) -> int:
        """Merge the pages into ``pull_requests.parquet``; returns the PR count."""
        if not state.get("pages"):
            state["counts"]["prs"] = self._count()
            self.save_state(state)
            return state["counts"]["prs"]
        table = self.table(state)
        write_table(table, SPEC, self.dir / COMPACT_NAME)
        old = list(state["pages"])
        state["pages"] = []
        state["counts"]["prs"] = table.num_rows
        self.save_state(state)
        for name in old:
            (self.pages_dir / name).unlink(missing_ok=True)
        return table.num_rows

    def _count(self) -> int:
        compact = self.dir / COMPACT_NAME
        return pq.ParquetFile(compact).metadata.num_rows if compact.is_file() else 0

    def drop(self) -> None:
        if self.dir.is_dir():
            shutil.rmtree(self.dir)

    def drop_if_empty(self) -> None:
        """Remove a repo's directory that holds no rows (a repo that failed at once)."""
        if self.dir.is_dir() and not any(self.dir.rglob("*.parquet")):
            self.drop()
            with contextlib.suppress(OSError):
                self.dir.parent.rmdir()  # the owner's folder, when it is now empty


class MemoryCache(RepoCache):
    """``--no-cache``: the same interface, nothing on disk."""

    def __init__(self, raw_dir: Path, repo: str) -> None:
        super().__init__(raw_dir, repo)
        self._state = new_state(repo)
        self._tables: list[pa.Table] = []

    def load_state(self) -> dict:
        return json.loads(json.dumps(self._state))

    def save_state(self, state: dict) -> None:
        self._state = json.loads(json.dumps(state))

    def commit_page(self, rows: list[dict], state: dict) -> None:
        if rows:
            self._tables.append(rows_to_table(rows))
        state["counts"]["pages_fetched"] = int(state["counts"].get("pages_fetched", 0)) + 1
        self.save_state(state)

    def table(self, state: dict | None = None) -> pa.Table:
        if not self._tables:
            return SPEC.schema.empty_table()
        return dedupe_newest(pa.concat_tables(self._tables))

    def compact(self, state: dict) -> int:
        state["counts"]["prs"] = self.table().num_rows
        self.save_state(state)
        return state["counts"]["prs"]

    def drop(self) -> None:
        self._tables = []
        self._state = new_state(self.repo)

    def drop_if_empty(self) -> None:
        return


def cached_repos(raw_dir: Path | str) -> list[str]:
    """Every owner/repo with a state.json under ``raw_dir``."""
    root = resolve_raw_dir(raw_dir)
    if not root.is_dir():
        return []
    return sorted(f"{p.parent.parent.name}/{p.parent.name}" for p in root.glob("*/*/state.json"))


def load_raw(raw_dir: Path | str, repos: list[str] | None = None) -> pa.Table:
    """Every cached PR node of ``repos`` (default: all cached), deduped, in write order."""
    names = cached_repos(raw_dir) if repos is None else list(repos)
    parts = [RepoCache(Path(raw_dir), r).table() for r in names]
    parts = [p for p in parts if p.num_rows]
    if not parts:
        return SPEC.schema.empty_table()
    table = dedupe_newest(pa.concat_tables(parts)) if len(parts) > 1 else parts[0]
    return sort_rows(conform(table, SPEC), SPEC).combine_chunks()


def raw_fingerprint(raw_dir: Path | str, repos: list[str] | None = None) -> str:
    """A hash of what is cached for ``repos`` (the rows' content, not the file layout)."""
    names = sorted(cached_repos(raw_dir) if repos is None else repos)
    h = hashlib.sha256()
    for repo in names:
        h.update(repo.encode() + b"\0")
        h.update(content_hash(RepoCache(Path(raw_dir), repo).table()).encode() + b"\n")
    return h.hexdigest()
