"""`demoseed push SNAPSHOT REMOTE`: share a snapshot through object storage (docs/sharing.md)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("push")
@click.argument("args", nargs=-1, required=True, metavar="[SNAPSHOT] REMOTE")
@click.option("--latest", is_flag=True, help="Push the most recently written snapshot under data/snapshots.")
@click.option("--name", help="The name in the remote [default: the snapshot directory's name].")
@click.option("--force", is_flag=True, help="Replace a different snapshot already pushed under the name.")
@click.option(
    "--key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Ed25519 private key (OpenSSH) to sign with [default: $DEMOSEED_SIGNING_KEY, the key "
    "'demoseed keygen' made, ~/.ssh/id_ed25519].",
)
@click.option("--unsigned", is_flag=True, help="Push without a signature.")
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 64), default=8, show_default=True, help="Objects uploaded at once."
)
def command(
    args: tuple[str, ...], latest: bool, name: str | None, force: bool, key: Path | None, unsigned: bool, jobs: int
) -> None:
    """Push SNAPSHOT (default, or --latest: the newest under data/snapshots) to REMOTE (s3://bucket/prefix, gs://,
    az://, file:///dir); prints REMOTE/NAME.

    \b
    Only files the remote lacks are uploaded (each stored once by its sha256); the manifest is
    signed and published last, so nobody sees a half-pushed snapshot.
    \b
    Examples:
      demoseed push data/snapshots/ai-success-seed42 s3://team-bucket/demoseed
      demoseed push --latest s3://team-bucket/demoseed
      AWS_ENDPOINT_URL=http://127.0.0.1:8333 AWS_ALLOW_HTTP=true demoseed push SNAP s3://dev/snaps
    """
    from pipeline.commands._common import resolve_snapshot
    from pipeline.remote.share import push
    from pipeline.remote.store import Remote

    if len(args) > 2:
        raise click.UsageError("give a snapshot directory and a remote: demoseed push [SNAPSHOT] REMOTE")
    snapshot = resolve_snapshot(Path(args[0]) if len(args) == 2 else None, latest)
    remote = args[-1]
    result = push(snapshot, Remote.parse(remote), name=name, force=force, key=key, unsigned=unsigned, jobs=jobs)
    signed = f"signed by {result.signer.describe()}" if result.signer else "unsigned"
    if result.unchanged:
        what = f"already there ({result.present} files), nothing uploaded"
    else:
        what = (
            f"{result.uploaded} files uploaded ({result.uploaded_bytes / 1e6:,.1f} MB, {result.uploaded_bytes} bytes), "
            f"{result.present} already there" + ("; replaced the previous snapshot" if result.replaced else "")
        )
    click.echo(f"pushed: {what}; {signed}", err=True)
    click.echo(result.ref)
