"""``demoseed normalize``: the raw GitHub cache -> flat gh_*.parquet tables (:mod:`pipeline.runners.normalize`)."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline import options
from pipeline.base.errors import UserError


@click.command("normalize")
@click.option("--repo", "repos", multiple=True, help="Only this cached repo, owner/name (repeatable) [default: all].")
@click.option("--project", default=None, help="Only the repos of this real-project preset (see 'demoseed projects').")
@options.raw_dir
@options.output("data/work/normalize/<key>/, keyed by the repos and their cached data")
@options.force
def command(
    repos: tuple[str, ...], project: str | None, raw_dir: Path | None, output: Path | None, force: bool
) -> None:
    """Flatten cached raw PR nodes into typed gh_* tables and print what was repaired.

    \b
    Writes gh_pull_requests, gh_reviews, gh_commits, gh_files, gh_users
    (+ meta.json with the report). Timestamps become UTC, states the app's
    choices; bots are flagged, deleted users nulled, duplicates resolved.
    """
    from pipeline import paths
    from pipeline.outputs import NORMALIZE_OUTPUT, check_replace
    from pipeline.runners.fetch import select_repos
    from pipeline.runners.normalize import export, mark_latest, run_normalize

    if output is not None:
        check_replace(output, NORMALIZE_OUTPUT, explicit=True, force=force)
    selected = select_repos(repos, project) or None
    raw = raw_dir or paths.raw_github_dir()
    result = run_normalize(selected, raw_dir=raw)
    if result.raw_rows == 0:
        what = ", ".join(selected) if selected else "any repo"
        raise UserError(f"nothing cached for {what} in {raw}; run 'demoseed fetch' first")
    if output is not None:
        export(result, output)
    else:
        mark_latest(result)
    target = output or result.directory

    rep = result.report
    click.echo(f"normalized {rep['input_rows']} raw PR nodes from {len(rep['repos'])} repo(s) into {target}")
    for name, n in rep["rows"].items():
        click.echo(f"  {name:<18} {n:>8}")
    bots = rep["bots"]
    click.echo(f"  bots: {bots['users']} users, {bots['pr_authors']} PRs by bots, {bots['reviewers']} bot reviews")
    short = {k: n for k, n in rep["incomplete"].items() if n}
    for what, n in short.items():
        click.echo(f"warning: {n} PR(s) list fewer {what} than GitHub's totalCount (not fully fetched)")
    if rep["repairs"]:
        click.echo("repaired or dropped:")
        for what, n in rep["repairs"].items():
            click.echo(f"  {n:>6}  {what}")
    else:
        click.echo("nothing needed repair")
