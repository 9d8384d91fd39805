"""`demoseed ls REMOTE`: the snapshots pushed to a remote (docs/sharing.md)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("ls")
@click.argument("remote")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON array (name, ref, scenario, seed, bytes, created_by, signer, signature, id).",
)
@click.option("--trust", type=click.Path(path_type=Path, dir_okay=False), help="Trusted public keys (as for pull).")
@click.option("--verify", is_flag=True, help="Also check each signature against its manifest (pull always does).")
def command(remote: str, as_json: bool, trust: Path | None, verify: bool) -> None:
    """List the snapshots in REMOTE: name, scenario, seed, size, created-by, signer, id."""
    import json

    from pipeline.remote.share import list_remote
    from pipeline.remote.store import Remote

    rows = list_remote(Remote.parse(remote), trust, verify=verify)
    if as_json:
        click.echo(json.dumps(rows, indent=1, sort_keys=True))
        return
    header = ("NAME", "SCENARIO", "SEED", "SIZE", "CREATED-BY", "SIGNER", "ID")
    lines = [
        (
            r["name"],
            str(r.get("scenario") or "-"),
            str(r.get("seed") if r.get("seed") is not None else "-"),
            f"{(r.get('bytes') or 0) / 1e6:,.1f} MB",
            str(r.get("created_by") or "-"),
            f"{r['signer']} ({r['signature']})" if r.get("signer") else r["signature"],
            str(r.get("id") or "-")[:16],
        )
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(header, *lines)]
    for line in (header, *lines):
        click.echo("  ".join(x.ljust(w) for x, w in zip(line, widths)).rstrip())
