"""`demoseed normalize`: the raw GitHub cache -> flat gh_*.parquet tables."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline import paths
from pipeline.base.atomic import atomic_directory, atomic_write_bytes
from pipeline.base.errors import UserError
from pipeline.base.parquet import write_table
from pipeline.base.schemas import NORMALIZED_TABLES


def _repos(repos: tuple[str, ...], project: str | None) -> list[str] | None:
    chosen = list(repos)
    if project:
        from pipeline.base.projects import get_preset

        chosen += [r for r in get_preset(project).repos if r not in chosen]
    for r in chosen:
        if r.count("/") != 1 or not all(r.split("/")):
            raise UserError(f"--repo {r!r} is not owner/name; write it like pallets/flask")
    return chosen or None


@click.command("normalize")
@click.option("--repo", "repos", multiple=True, help="Only this cached repo, owner/name (repeatable) [default: all].")
@click.option("--project", default=None, help="Only the repos of this real-project preset (see 'demoseed projects').")
@click.option(
    "--raw-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The raw GitHub cache [default: $DEMOSEED_DATA/raw/github].",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where gh_*.parquet go [default: $DEMOSEED_DATA/work/normalize].",
)
def command(repos: tuple[str, ...], project: str | None, raw_dir: Path | None, output: Path | None) -> None:
    """Flatten cached raw PR nodes into typed gh_* tables and print what was repaired.

    \b
    Writes gh_pull_requests, gh_reviews, gh_commits, gh_files, gh_users
    (+ normalize-report.json). Timestamps become UTC, states the app's
    choices; bots are flagged, deleted users nulled, duplicates resolved.
    """
    from stages.fetch import load_raw
    from stages.normalize import normalize

    selected = _repos(repos, project)
    raw_dir = raw_dir or paths.raw_github_dir()
    output = output or paths.work_dir() / "normalize"
    raw = load_raw(raw_dir, selected)
    if raw.num_rows == 0:
        what = ", ".join(selected) if selected else "any repo"
        raise UserError(f"nothing cached for {what} in {raw_dir}; run 'demoseed fetch' first")
    result = normalize(raw)
    report = json.dumps(result.report, indent=2, sort_keys=True, default=str) + "\n"
    with atomic_directory(output) as tmp:
        for t in NORMALIZED_TABLES:
            write_table(result.tables[t.name], t, tmp / f"{t.name}.parquet")
        atomic_write_bytes(tmp / "normalize-report.json", report.encode())

    rep = result.report
    click.echo(f"normalized {rep['input_rows']} raw PR nodes from {len(rep['repos'])} repo(s) into {output}")
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
