"""`demoseed verify`: check a snapshot's files (size, sha256), row counts and id; ``--content`` re-hashes the rows."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline import paths
from pipeline.base.errors import IntegrityError, UserError
from pipeline.commands._common import snapshot_path


@click.command("verify")
@click.argument("snapshots", nargs=-1, type=snapshot_path())
@click.option("--all", "all_", is_flag=True, help="Verify every snapshot under data/snapshots.")
@click.option(
    "--content/--quick",
    default=False,
    help="Also re-hash the rows (the content hash, stable across Parquet library versions: use it after "
    "upgrading pyarrow or on files re-encoded by another tool) [default: --quick, the files' sha256].",
)
def command(snapshots: tuple[Path, ...], all_: bool, content: bool) -> None:
    """Verify snapshot directories: exit 0 when intact, 2 naming each table that differs."""
    from pipeline.base.manifest import verify_snapshot

    targets = list(snapshots)
    if all_:
        root = paths.snapshots_dir()
        targets += sorted(p.parent for p in root.glob("*/manifest.json")) if root.is_dir() else []
    if not targets:
        raise UserError("nothing to verify: give a snapshot directory or --all (and make one with 'make snapshot')")
    failed: list[Path] = []
    for target in targets:
        try:
            manifest = verify_snapshot(target, content=content)
        except IntegrityError as exc:
            click.echo(f"FAIL {exc}", err=True)
            failed.append(target)
            continue
        rows = sum(t.rows for t in manifest.tables.values())
        click.echo(f"ok   {target} (id {manifest.snapshot_id}, {len(manifest.tables)} tables, {rows} rows)")
    if failed:
        raise IntegrityError(f"{len(failed)} of {len(targets)} snapshot(s) failed verification")
