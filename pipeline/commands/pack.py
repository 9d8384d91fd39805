"""`demoseed pack` / `demoseed unpack`: one shareable file per snapshot."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline import paths


@click.command("pack")
@click.argument("snapshot", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Archive file (.tar; named .tar.gz or .tgz: gzipped), or a directory to write <name>.tar into "
    "[default: <snapshot>.tar].",
)
@click.option("--force", is_flag=True, help="Replace an existing archive file.")
def pack_command(snapshot: Path, output: Path | None, force: bool) -> None:
    """Verify SNAPSHOT and pack it into one deterministic .tar (Parquet is compressed already)."""
    from pipeline.archive import pack

    out = pack(snapshot, output or snapshot.with_name(snapshot.name + ".tar"), force=force)
    click.echo(f"packed {snapshot} -> {out} ({out.stat().st_size} bytes)")


@click.command("unpack")
@click.argument("archive", type=click.Path(path_type=Path))
@click.option(
    "-d", "--dest", type=click.Path(path_type=Path), default=None, help="Where to unpack [default: data/snapshots]."
)
@click.option("--force", is_flag=True, help="Replace an existing snapshot of the same name.")
def unpack_command(archive: Path, dest: Path | None, force: bool) -> None:
    """Check, unpack and verify a snapshot archive (links, absolute paths and '..' are refused)."""
    from pipeline.archive import unpack

    target = unpack(archive, dest or paths.snapshots_dir(), force=force)
    click.echo(f"unpacked {archive} -> {target} (verified)")
