"""``demoseed fetch``: real PR metadata from GitHub into the raw cache (:mod:`pipeline.runners.fetch`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline import options
from pipeline.base.errors import UserError
from pipeline.base.github import FETCH_MAX_WAIT

if TYPE_CHECKING:
    from stages.fetch import FetchSummary


class FetchIncomplete(UserError):
    """Some repos failed (exit 1) or the run paused at --max-wait (exit 3)."""

    def __init__(self, message: str, *, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _summary_lines(summary: FetchSummary) -> list[str]:
    lines = [
        f"{'repo':<32} {'status':<10} {'mode':<11} {'pages':>5} {'PRs':>6} {'cached':>6} {'requests':>8} {'points':>6} {'retries':>7} {'waits':>5}"
    ]
    for repo, s in summary.repos.items():
        lines.append(
            f"{repo:<32} {s.status:<10} {s.mode:<11} {s.pages:>5} {s.prs_fetched:>6} {s.prs_cached:>6} "
            f"{s.requests:>8} {s.points:>6} {s.retries:>7} {s.waits:>5}"
        )
    budget = "" if summary.budget_remaining is None else f"; API budget left {summary.budget_remaining}"
    lines.append(
        f"{len(summary.repos)} repo(s) via {summary.transport}: {summary.requests} requests, {summary.points} points, "
        f"{summary.retries} retries, {summary.waits} waits{budget}"
    )
    return lines


@click.command("fetch")
@options.repos
@click.option("--project", default=None, help="Fetch the repos of a real-project preset (see 'demoseed projects').")
@options.concurrency
@click.option(
    "--since",
    default=None,
    help="Only PRs updated on/after this date (widening it backfills). --project takes the newest max_prs_per_repo PRs; its days_back window is applied when the team is built.",
)
@click.option("--until", default=None, help="Only PRs updated before this date.")
@click.option(
    "--max-prs", type=click.IntRange(1), default=None, help="Newest PRs per repo in a full scan [--project: its cap]."
)
@click.option("--refresh", is_flag=True, help="Drop the cache of the repos named and fetch them again.")
@click.option("--no-cache", is_flag=True, help="Keep nothing on disk (a dry run of the fetch).")
@click.option(
    "--max-wait",
    type=click.FloatRange(0),
    default=FETCH_MAX_WAIT,
    show_default=True,
    help="Seconds of rate-limit waiting after which the run stops cleanly and says when to resume.",
)
@click.option(
    "--api-url", default=None, help="GitHub API base URL [env GITHUB_API_URL, default https://api.github.com]."
)
@options.raw_dir
def command(
    repos: tuple[str, ...],
    project: str | None,
    concurrency: int,
    since: str | None,
    until: str | None,
    max_prs: int | None,
    refresh: bool,
    no_cache: bool,
    max_wait: float,
    api_url: str | None,
    raw_dir: Path | None,
) -> None:
    """Fetch pull requests (with reviews, commits, files) into data/raw/github/.

    \b
    Uses GraphQL with a token (GITHUB_TOKEN, or `gh auth token`), REST
    without one (60 requests/hour). Incremental: a repo with nothing new
    costs one request. A killed run resumes where it stopped.
    \b
      demoseed fetch --repo pallets/flask --since 2025-07-01
      demoseed fetch --project antiwork
    """
    from pipeline.runners import fetch as runner

    chosen = runner.select_repos(repos, project)
    if not chosen:
        raise UserError("nothing to fetch; give --repo owner/name (repeatable) or --project NAME")
    since_iso, until_iso = runner.fetch_window(since, until)
    token = runner.masked_token()
    if token is None:
        click.echo("no GITHUB_TOKEN (and no `gh auth token`): using REST, 60 requests/hour", err=True)
    request = runner.FetchRequest(
        tuple(chosen),
        token,
        concurrency=concurrency,
        since=since_iso,
        until=until_iso,
        max_prs=runner.preset_max_prs(project, max_prs),
        refresh=refresh,
        no_cache=no_cache,
        max_wait=max_wait,
        api_url=api_url,
        raw_dir=raw_dir,
        progress=sys.stderr.isatty(),
    )
    click.echo(runner.asking_line(request))  # at once: a GitHub that never answers is otherwise silence
    summary = runner.run_fetch(request)
    _echo_summary(summary)
    _raise_if_incomplete(summary)


def _echo_summary(summary: FetchSummary) -> None:
    """The per-repo table on stdout; each repo's warnings and errors on stderr."""
    for line in _summary_lines(summary):
        click.echo(line)
    for repo, s in summary.repos.items():
        for w in s.warnings:
            click.echo(f"warning: {repo}: {w}", err=True)
        if s.error and s.status == "failed":
            click.echo(f"error: {repo}: {s.error}", err=True)


def _raise_if_incomplete(summary: FetchSummary) -> None:
    """Exit 3 when the rate limit paused the run (saying when to resume), 1 when a repo failed."""
    if summary.paused:
        from stages.fetch.clock import iso

        when = iso(summary.resume_at) if summary.resume_at else "the rate limit resets"
        raise FetchIncomplete(
            f"paused by GitHub's rate limit ({', '.join(summary.paused)}); everything fetched so far is saved: "
            f"run the same command after {when} to resume",
            exit_code=3,
        )
    if summary.failed:
        raise FetchIncomplete(
            f"{len(summary.failed)} repo(s) failed: {', '.join(summary.failed)} (see above)", exit_code=1
        )
