"""`demoseed pull REMOTE/NAME`: fetch a shared snapshot, verified, through the local cache (docs/sharing.md)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("pull")
@click.argument("ref")
@click.option(
    "-d",
    "--dest",
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory to pull into (the snapshot goes to DEST/NAME) [default: data/snapshots].",
)
@click.option("--tables", help="Only these tables (comma-separated): a partial snapshot for reading them.")
@click.option("--force", is_flag=True, help="Replace a different snapshot already at DEST/NAME.")
@click.option(
    "--trust",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Trusted public keys, one OpenSSH line each [default: $DEMOSEED_TRUST, else .demoseed-trust here or above].",
)
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 64), default=8, show_default=True, help="Objects downloaded at once."
)
def command(ref: str, dest: Path | None, tables: str | None, force: bool, trust: Path | None, jobs: int) -> None:
    """Pull REMOTE/NAME into DEST/NAME: every byte checked against the (signed) manifest first.

    \b
    Examples:
      demoseed pull s3://team-bucket/demoseed/ai-success-seed42
      demoseed pull s3://team-bucket/demoseed/ai-success-seed42 --tables demoseed_team_weekly -d /tmp/s
    """
    from pipeline import paths
    from pipeline.remote.share import pull

    wanted = [t.strip() for t in tables.split(",") if t.strip()] if tables else None
    result = pull(ref, dest or paths.snapshots_dir(), tables=wanted, force=force, trust_file=trust, jobs=jobs)
    signed = f"signed by {result.signer.describe()}" if result.signer else "unsigned"
    offline = " (remote unreachable: the cached manifest)" if result.offline else ""
    if result.unchanged:
        click.echo(f"up to date: {result.target}; {signed}{offline}", err=True)
    else:
        click.echo(
            f"pulled: {result.downloaded} files downloaded ({result.downloaded_bytes / 1e6:,.1f} MB, "
            f"{result.downloaded_bytes} bytes), {result.cached} from the cache; verified; {signed}{offline}",
            err=True,
        )
    click.echo(str(result.target))
