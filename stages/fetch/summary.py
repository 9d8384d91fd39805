"""What a fetch run reports: per-repo counters and the run's summary."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from stages.fetch.clock import iso


@dataclass
class RepoStats:
    """Counters and outcome of one repository in one run."""

    repo: str
    transport: str = "graphql"
    status: str = "pending"  # ok | unchanged | paused | failed
    mode: str = ""  # full | incremental | resumed | backfill
    requests: int = 0
    not_modified: int = 0  # REST 304s (free)
    points: int = 0
    retries: int = 0
    waits: int = 0
    wait_seconds: float = 0.0
    pages: int = 0
    prs_fetched: int = 0
    prs_cached: int = 0
    nested_requests: int = 0
    withheld: int = 0  # PRs fetched this run that GitHub withheld a part of from the token
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    resume_at: float | None = None

    def as_dict(self) -> dict[str, object]:
        d = {k: v for k, v in self.__dict__.items() if k != "resume_at"}
        d["resume_at"] = iso(self.resume_at) if self.resume_at else None
        return d


@dataclass
class FetchSummary:
    """The outcome of :func:`stages.fetch.fetch_repos`.

    ``ok`` is true when every repo finished (fetched or unchanged). ``paused``
    repos stopped at ``--max-wait`` and resume on the next run after
    ``resume_at``; ``failed`` repos carry GitHub's message in ``error``.
    ``raw`` holds the fetched rows when ``no_cache`` kept nothing on disk.
    """

    repos: dict[str, RepoStats]
    transport: str
    budget_remaining: int | None = None
    budget_limit: int | None = None
    raw: pa.Table | None = None

    @property
    def ok(self) -> bool:
        return all(s.status in {"ok", "unchanged"} for s in self.repos.values())

    @property
    def failed(self) -> list[str]:
        return [r for r, s in self.repos.items() if s.status == "failed"]

    @property
    def paused(self) -> list[str]:
        return [r for r, s in self.repos.items() if s.status == "paused"]

    @property
    def resume_at(self) -> float | None:
        times = [s.resume_at for s in self.repos.values() if s.resume_at]
        return max(times) if times else None

    def total(self, name: str) -> float:
        return float(sum(getattr(s, name) for s in self.repos.values()))

    @property
    def requests(self) -> int:
        return int(self.total("requests"))

    @property
    def points(self) -> int:
        return int(self.total("points"))

    @property
    def retries(self) -> int:
        return int(self.total("retries"))

    @property
    def waits(self) -> int:
        return int(self.total("waits"))

    @property
    def errors(self) -> dict[str, str]:
        return {r: s.error for r, s in self.repos.items() if s.error}

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "transport": self.transport,
            "requests": self.requests,
            "points": self.points,
            "retries": self.retries,
            "waits": self.waits,
            "budget_remaining": self.budget_remaining,
            "resume_at": iso(self.resume_at) if self.resume_at else None,
            "repos": {r: s.as_dict() for r, s in self.repos.items()},
        }
