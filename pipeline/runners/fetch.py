"""The fetch runner: which repos, and GitHub PR metadata into the raw cache (``data/raw/github``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import paths
from pipeline.base.errors import UserError
from pipeline.base.github import FETCH_CONCURRENCY, FETCH_MAX_WAIT
from pipeline.base.repos import repo_ok

if TYPE_CHECKING:
    from stages.fetch import FetchSummary


@dataclass(frozen=True)
class FetchRequest:
    """What to fetch and how (``demoseed fetch``'s flags; ``snapshot`` sets repos, concurrency and max_prs)."""

    repos: tuple[str, ...]
    token: str | None
    concurrency: int = FETCH_CONCURRENCY
    since: str | None = None
    until: str | None = None
    max_prs: int | None = None
    refresh: bool = False
    no_cache: bool = False
    max_wait: float = FETCH_MAX_WAIT
    api_url: str | None = None
    raw_dir: Path | None = None
    progress: bool = False


def select_repos(repos: Sequence[str], project: str | None) -> list[str]:
    """``--repo`` values plus a preset's repos, each checked to be owner/name."""
    chosen = list(repos)
    if project:
        from pipeline.base import projects

        chosen += [r for r in projects.get_preset(project).repos if r not in chosen]
    for r in chosen:
        if not repo_ok(r):
            raise UserError(f"--repo {r!r} is not owner/name; write it like pallets/flask")
    return chosen


def _iso(value: str | None, flag: str) -> str | None:
    if value is None:
        return None
    from stages.fetch import to_iso

    try:
        return to_iso(value)
    except ValueError:
        raise UserError(f"{flag} {value!r} is not a date; use YYYY-MM-DD or an ISO-8601 time") from None


def fetch_window(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """``--since``/``--until`` as ISO-8601 times, the first before the second."""
    since_iso, until_iso = _iso(since, "--since"), _iso(until, "--until")
    if since_iso and until_iso and since_iso >= until_iso:
        raise UserError(f"--since {since} is not before --until {until}")
    return since_iso, until_iso


def preset_max_prs(project: str | None, max_prs: int | None) -> int | None:
    """``--max-prs``, or else a preset's max_prs_per_repo."""
    if project and max_prs is None:
        from pipeline.base import projects

        return projects.get_preset(project).max_prs_per_repo
    return max_prs


def masked_token() -> str | None:
    """The GitHub token (GITHUB_TOKEN or ``gh auth token``), masked from then on in every log handler's output."""
    import logging

    from stages.fetch import resolve_token
    from stages.fetch.auth import MaskingFilter

    token = resolve_token()
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskingFilter(token))
    return token


def asking_line(req: FetchRequest) -> str:
    """What a fetch is about to wait for, said before the first request (a GitHub that never answers
    is otherwise silence until the first request's deadline)."""
    from urllib.parse import urlsplit

    from stages.fetch.transport import Timeouts

    bound = Timeouts()
    host = urlsplit(req.api_url or paths.github_api_url()).netloc or "?"
    api = "GraphQL" if req.token else "REST, no token"
    n = len(req.repos)
    return (
        f"asking GitHub ({host}, {api}) for {n} repo{'s' if n != 1 else ''}: {', '.join(req.repos)}; "
        f"a request waits at most {bound.connect:g} s to connect and {bound.deadline:g} s for its answer"
    )


def run_fetch(req: FetchRequest) -> FetchSummary:
    """Fetch ``req.repos`` into the raw cache; the summary says per repo what happened."""
    from stages.fetch import fetch_repos

    return fetch_repos(
        list(req.repos),
        raw_dir=req.raw_dir or paths.raw_github_dir(),
        token=req.token,
        api_url=(req.api_url or paths.github_api_url()).rstrip("/"),
        concurrency=req.concurrency,
        since=req.since,
        until=req.until,
        refresh=req.refresh,
        no_cache=req.no_cache,
        max_wait=req.max_wait,
        progress=req.progress,
        max_prs=req.max_prs,
    )
