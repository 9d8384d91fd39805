"""`demoseed keygen`: an Ed25519 keypair (OpenSSH format) that push signs with (docs/sharing.md)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("keygen")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Private key file (the public key goes beside it, .pub) [default: $XDG_CONFIG_HOME/demoseed/id_ed25519].",
)
@click.option("-C", "--comment", help="The key's comment, shown as created-by [default: user@host].")
def command(output: Path | None, comment: str | None) -> None:
    """Make a signing key; prints the public key line to add to the team's .demoseed-trust."""
    from pipeline.remote.signing import default_key_path, keygen

    path = output or default_key_path()
    signer = keygen(path, comment)
    click.echo(f"wrote {path} and {path}.pub ({signer.fingerprint}); add this line to the trust file:", err=True)
    click.echo(signer.line)
