"""The raw cache: PR nodes as Parquet plus a small state file, per repository.

Layout (``raw_dir`` is ``data/raw/github``)::

    <raw_dir>/<owner>/<repo>/
        state.json               watermark, last full scan, query version, counts,
                                 the scan in progress (cursor, stop point) and the
                                 list of committed page files
        pull_requests.parquet    compacted rows (gh_raw_pull_requests)
        pages/p000007.arrow      one file per page fetched since the last compaction

A page file is an Arrow IPC checkpoint (:mod:`stages.fetch.pages`); the
compacted file is Parquet, written by :func:`pipeline.base.parquet.write_table`
like every table.

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

``state.json`` holds two records: the run's :class:`~stages.fetch.state.RepoState`
(with its scan) and the cache's own :class:`Ledger` (page files, counts). This
module alone reads and writes its JSON (the keys of every version-1 file; keys
an older file lacks take their defaults). A run talks to a :class:`Cache`:
:class:`RepoCache` on disk, or :class:`MemoryCache` for ``--no-cache``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar, Union, get_args, get_origin, get_type_hints

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.base.atomic import atomic_write_bytes
from pipeline.base.errors import IntegrityError
from pipeline.base.hashing import content_hash
from pipeline.base.parquet import conform, sort_rows, write_table
from stages.fetch.pages import SPEC, combine, read_rows, rows_to_table, write_page
from stages.fetch.source import Row
from stages.fetch.state import RepoState, Scan

log = logging.getLogger(__name__)

STATE_VERSION = 1
COMPACT_NAME = "pull_requests.parquet"
PAGE_SUFFIXES = (".arrow", ".parquet")  # .parquet: pages checkpointed by older versions
if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


def resolve_raw_dir(raw_dir: Path | str) -> Path:
    """``data/raw/github`` (``data/raw`` is accepted and means its ``github`` folder)."""
    raw_dir = Path(raw_dir)
    return raw_dir / "github" if raw_dir.name == "raw" else raw_dir


@dataclass(frozen=True)
class Ledger:
    """The cache's own bookkeeping (not the run's): page files not yet compacted, counts."""

    pages: tuple[str, ...] = ()  # committed page files, oldest first
    next_page: int = 1
    prs: int = 0  # rows in the compacted file (after the last compaction)
    pages_fetched: int = 0


class Cache(Protocol):
    """What a run needs from one repo's cache: :class:`RepoCache` on disk, :class:`MemoryCache` for ``--no-cache``."""

    repo: str

    def load_state(self) -> RepoState: ...

    def save_state(self, state: RepoState) -> None: ...

    def commit_page(self, rows: Sequence[Row], state: RepoState) -> None:
        """Checkpoint a page's rows with the state that follows them."""
        ...

    def compact(self, state: RepoState) -> int:
        """Save ``state`` with every row merged; returns the repo's PR count."""
        ...

    def table(self) -> pa.Table:
        """The cached rows, deduped (newest version of each PR)."""
        ...

    def drop(self) -> None: ...

    def drop_if_empty(self) -> None:
        """Forget a repo that holds no rows (one that failed at once)."""
        ...


# -- state.json ----------------------------------------------------------------


def _fits(value: object, hint: object) -> bool:
    """Whether a JSON value has the type a field declares (str, int, float, bool, Literal, None, unions)."""
    if hint is type(None):
        return value is None
    if get_origin(hint) in (Union, UnionType):
        return any(_fits(value, h) for h in get_args(hint))
    if get_origin(hint) is Literal:
        return value in get_args(hint)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(hint, type) and isinstance(value, hint)


def _record(cls: type[R], raw: object, where: str) -> R:
    """A record from its JSON object: known keys checked against the field types, missing ones defaulted."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where} is not an object")
    hints = get_type_hints(cls)
    values = {f.name: raw[f.name] for f in fields(cls) if f.name in raw}
    for name, value in values.items():
        if not _fits(value, hints[name]):
            raise ValueError(f"{where}.{name} is {value!r}")
    return cls(**values)


def state_from_json(text: str, repo: str) -> tuple[RepoState, Ledger]:
    """Read ``state.json`` (any version-1 file; keys it lacks take their defaults)."""
    raw = json.loads(text)
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    if raw.get("version", STATE_VERSION) != STATE_VERSION or raw.get("repo", repo) != repo:
        raise ValueError(f"version {raw.get('version')!r} of repo {raw.get('repo')!r}")
    state = _record(RepoState, {k: v for k, v in raw.items() if k not in ("scan", "withheld", "gaps")}, "state")
    if (scan := raw.get("scan")) is not None:
        state = replace(state, scan=_record(Scan, scan, "scan"))
    if withheld := raw.get("withheld"):
        state = replace(state, withheld=_withheld(withheld))
    if gaps := raw.get("gaps"):
        if not isinstance(gaps, dict) or not all(isinstance(c, str) and _fits(n, int) for c, n in gaps.items()):
            raise ValueError(f"gaps is {gaps!r}")
        state = replace(state, gaps=dict(gaps))
    counts = raw.get("counts") or {}
    pages = raw.get("pages") or []
    if not isinstance(pages, list) or not all(isinstance(p, str) for p in pages):
        raise ValueError(f"pages is {pages!r}")
    ledger = _record(Ledger, {**counts, "next_page": raw.get("next_page", 1)}, "counts")
    return state, replace(ledger, pages=tuple(pages))


def _withheld(raw: object) -> dict[int, tuple[str, ...]]:
    """``{"12": ["closingIssuesReferences"]}`` as ``{12: ("closingIssuesReferences",)}``."""
    if not isinstance(raw, dict):
        raise ValueError(f"withheld is {raw!r}")
    out = {}
    for number, names in raw.items():
        if not number.isdigit() or not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"withheld.{number} is {names!r}")
        out[int(number)] = tuple(names)
    return out


def state_to_json(repo: str, state: RepoState, ledger: Ledger) -> str:
    """``state.json``: the keys of every version-1 file (``withheld`` and ``gaps`` only when not empty), sorted, indented."""
    raw: dict[str, object] = {
        "version": STATE_VERSION,
        "repo": repo,
        **asdict(state),
        "counts": {"prs": ledger.prs, "pages_fetched": ledger.pages_fetched},
        "pages": list(ledger.pages),
        "next_page": ledger.next_page,
    }
    if state.withheld:
        raw["withheld"] = {str(n): list(f) for n, f in sorted(state.withheld.items())}
    else:
        del raw["withheld"]
    if not state.gaps:
        del raw["gaps"]
    return json.dumps(raw, indent=2, sort_keys=True) + "\n"


# -- the caches -------------------------------------------------------------------


class RepoCache:
    """The on-disk cache of one repository (see module doc)."""

    def __init__(self, raw_dir: Path, repo: str) -> None:
        owner, _, name = repo.partition("/")
        self.repo = repo
        self.dir = resolve_raw_dir(raw_dir) / owner / name
        self.state_path = self.dir / "state.json"
        self.pages_dir = self.dir / "pages"
        self._ledger: Ledger | None = None  # read with the state

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self.load_state()
        assert self._ledger is not None
        return self._ledger

    # -- state ---------------------------------------------------------------

    def load_state(self) -> RepoState:
        """The saved state (a fresh one when nothing is cached); drops page files it does not name."""
        if not self.state_path.is_file():
            self._ledger = Ledger()
            return RepoState()
        try:
            state, self._ledger = state_from_json(self.state_path.read_text(encoding="utf-8"), self.repo)
        except (OSError, ValueError, TypeError) as exc:
            raise IntegrityError(
                f"{self.state_path} is unreadable ({exc}); run `demoseed fetch --refresh --repo {self.repo}`"
            ) from None
        self._drop_orphans(self._ledger)
        return state

    def save_state(self, state: RepoState) -> None:
        text = state_to_json(self.repo, state, self.ledger)
        atomic_write_bytes(self.state_path, text.encode("utf-8"))

    def _drop_orphans(self, ledger: Ledger) -> None:
        if not self.pages_dir.is_dir():
            return
        named = set(ledger.pages)
        for path in self.pages_dir.glob("p*"):
            if path.suffix in PAGE_SUFFIXES and path.name not in named:
                log.info("%s: dropping page %s that was in flight when a run stopped", self.repo, path.name)
                path.unlink(missing_ok=True)

    # -- pages -----------------------------------------------------------------

    def commit_page(self, rows: Sequence[Row], state: RepoState) -> None:
        """Checkpoint a page: its rows (if any), then the state naming it."""
        book = self.ledger
        if rows:
            name = f"p{book.next_page:06d}.arrow"
            write_page(rows_to_table(rows), self.pages_dir / name)
            book = replace(book, pages=(*book.pages, name), next_page=book.next_page + 1)
        self._ledger = replace(book, pages_fetched=book.pages_fetched + 1)
        self.save_state(state)

    def _parts(self) -> list[pa.Table]:
        parts = []
        compact = self.dir / COMPACT_NAME
        if compact.is_file():
            parts.append(read_rows(compact))
        for name in self.ledger.pages:
            path = self.pages_dir / name
            if path.is_file():
                parts.append(read_rows(path))
            else:
                log.warning("%s: page file %s named in state.json is missing", self.repo, name)
        return parts

    def table(self) -> pa.Table:
        """The cached rows, deduped (newest version of each PR)."""
        return combine(self._parts())

    def compact(self, state: RepoState) -> int:
        """Merge the pages into ``pull_requests.parquet`` and save ``state``; returns the PR count."""
        old = self.ledger.pages
        if not old:
            self._ledger = replace(self.ledger, prs=self._count())
            self.save_state(state)
            return self.ledger.prs
        table = self.table()
        write_table(table, SPEC, self.dir / COMPACT_NAME)
        self._ledger = replace(self.ledger, pages=(), prs=table.num_rows)
        self.save_state(state)
        for name in old:
            (self.pages_dir / name).unlink(missing_ok=True)
        return self.ledger.prs

    def _count(self) -> int:
        compact = self.dir / COMPACT_NAME
        return pq.ParquetFile(compact).metadata.num_rows if compact.is_file() else 0

    def drop(self) -> None:
        if self.dir.is_dir():
            shutil.rmtree(self.dir)
        self._ledger = None

    def drop_if_empty(self) -> None:
        """Remove a repo's directory that holds no rows (a repo that failed at once)."""
        if self.dir.is_dir() and not any(self.dir.rglob("*.parquet")):
            self.drop()
            with contextlib.suppress(OSError):
                self.dir.parent.rmdir()  # the owner's folder, when it is now empty


class MemoryCache:
    """``--no-cache``: the same protocol, nothing on disk."""

    def __init__(self, repo: str) -> None:
        self.repo = repo
        self._state = RepoState()
        self._tables: list[pa.Table] = []

    def load_state(self) -> RepoState:
        return self._state

    def save_state(self, state: RepoState) -> None:
        self._state = state

    def commit_page(self, rows: Sequence[Row], state: RepoState) -> None:
        if rows:
            self._tables.append(rows_to_table(rows))
        self._state = state

    def table(self) -> pa.Table:
        return combine(self._tables)

    def compact(self, state: RepoState) -> int:
        self._state = state
        return int(self.table().num_rows)

    def drop(self) -> None:
        self._tables = []
        self._state = RepoState()

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
    table = combine([RepoCache(Path(raw_dir), r).table() for r in names])
    return sort_rows(conform(table, SPEC), SPEC).combine_chunks()


def raw_fingerprint(raw_dir: Path | str, repos: list[str] | None = None) -> str:
    """A hash of what is cached for ``repos`` (the rows' content, not the file layout)."""
    names = sorted(cached_repos(raw_dir) if repos is None else repos)
    h = hashlib.sha256()
    for repo in names:
        h.update(repo.encode() + b"\0")
        h.update(content_hash(RepoCache(Path(raw_dir), repo).table()).encode() + b"\n")
    return h.hexdigest()
