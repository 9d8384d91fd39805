"""What a run knows about one repository: typed, immutable records.

:class:`RepoState` is what the cache says about a repo between runs (how far
it is fetched, with which queries and transport); :class:`Scan` is a scan in
progress inside it, saved after every page so a killed run resumes at its
cursor. Both are frozen: the run (:mod:`stages.fetch.run`) makes new ones
with :func:`dataclasses.replace` (a new ``withheld`` or ``gaps`` mapping too,
never an edited one), the cache (:mod:`stages.fetch.cache`) only stores and loads them
(it alone knows their JSON form in ``state.json``).
Times are GitHub's ISO-8601 strings, except the scan's ``started`` and
``first_started`` (epoch seconds, server clock).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ScanKind = Literal["full", "incremental", "catchup"]


@dataclass(frozen=True)
class Scan:
    """A scan of a repo's PRs, newest update first, down to ``stop_at``."""

    kind: ScanKind
    stop_at: str | None  # the scan is done once a page reaches updates older than this
    since: str | None  # the run's window (a saved scan resumes only for the same window)
    until: str | None
    query_version: str  # ... and the same queries
    cursor: str | None = None  # where the next page starts (None: the top)
    started: float | None = None  # server time of this scan's first answer
    first_started: float | None = None  # ... of the first scan of this chain (a full scan and its catch-ups)
    full: bool = False  # part of a full scan (a catch-up after a full scan is too)
    pages: int = 0
    prs: int = 0
    done: bool = False
    catchups: int = 0
    null_nodes: int = 0  # PR nodes GitHub kept null (partial data) in this chain


@dataclass(frozen=True)
class RepoState:
    """How far a repo is cached (see module doc)."""

    transport: str | None = None  # graphql | rest: who fetched what is cached
    query_version: str | None = None  # the queries of the last scan that saw everything
    complete: bool = False  # a full scan of the window has finished at least once
    window_since: str | None = None  # the since of that scan (None: all history)
    watermark: str | None = None  # everything updated before this is cached
    last_full_scan: str | None = None
    last_check: str | None = None
    incomplete: bool = False  # gaps are open: pages whose PR nodes GitHub kept null
    etag: str | None = None  # REST: the probe's last etag (a 304 is free)
    scan: Scan | None = None  # the scan in progress (None between runs)
    # PR number -> what GitHub withheld from the token inside it (as in the row's withheld_fields)
    withheld: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    # pages with PR nodes GitHub kept null after every ask: start cursor ("" = the top) -> PRs asked;
    # the next run asks these pages again, and only these (besides its probe)
    gaps: Mapping[str, int] = field(default_factory=dict)
