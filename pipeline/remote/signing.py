"""Signed manifests: Ed25519 through the ``cryptography`` package, keys in OpenSSH format.

``push`` signs the exact bytes of ``manifest.json`` (it lists every file's sha256, so one signature
covers every byte of the snapshot). The signature file is JSON: the manifest's sha256, the signer's
public key as an OpenSSH line (``ssh-ed25519 AAAA... comment``) and the base64 signature. The key is
``--key FILE``, ``$DEMOSEED_SIGNING_KEY``, the one ``demoseed keygen`` made
(``$XDG_CONFIG_HOME/demoseed/id_ed25519``), or ``~/.ssh/id_ed25519``, the first that exists; an
unencrypted OpenSSH Ed25519 private key.

A trust file (``--trust FILE``, ``$DEMOSEED_TRUST``, or ``.demoseed-trust`` in the working directory or
one of its parents) lists the team's public keys, one OpenSSH line each (an ``allowed_signers`` line,
``principal ssh-ed25519 AAAA...``, works too). With one, a pull refuses an unsigned manifest and a
signer it does not list; without one, a signature present is still checked.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from pipeline.base.atomic import atomic_target, atomic_write_bytes
from pipeline.base.errors import IntegrityError, UserError

SIG_FORMAT = "demoseed-signature-1"
KEY_TYPE = "ssh-ed25519"
TRUST_NAME = ".demoseed-trust"


@dataclass(frozen=True)
class Signer:
    """Who signed: the key (type and base64 blob), its comment and ssh-keygen style fingerprint."""

    blob: str
    comment: str

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(base64.b64decode(self.blob)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    @property
    def line(self) -> str:
        return f"{KEY_TYPE} {self.blob} {self.comment}".rstrip()

    def describe(self) -> str:
        return f"{self.comment} ({self.fingerprint})" if self.comment else self.fingerprint


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "demoseed"


def default_key_path() -> Path:
    return config_dir() / "id_ed25519"


def find_signing_key(explicit: Path | None) -> Path | None:
    """The private key push signs with, or None (an unsigned push)."""
    if explicit is not None:
        if not explicit.is_file():
            raise UserError(f"{explicit}: no such key file; make one with 'demoseed keygen'")
        return explicit
    env = os.environ.get("DEMOSEED_SIGNING_KEY")
    if env:
        if not Path(env).is_file():
            raise UserError(f"DEMOSEED_SIGNING_KEY={env}: no such key file; make one with 'demoseed keygen'")
        return Path(env)
    for candidate in (default_key_path(), Path.home() / ".ssh" / "id_ed25519"):
        if candidate.is_file():
            return candidate
    return None


def keygen(path: Path, comment: str | None = None) -> Signer:
    """Write a new Ed25519 keypair (OpenSSH format: ``path``, mode 0600, and ``path.pub``); never overwrites."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pub = path.with_name(path.name + ".pub")
    for p in (path, pub):
        if p.exists():
            raise UserError(f"{p} already exists; keep it (push uses it) or give another path with -o")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    signer = Signer(public.decode().split()[1], comment if comment is not None else _default_comment())
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(path) as tmp:  # 0600 from its creation: the key is never readable by others, not for a moment
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "wb") as out:
            os.fchmod(fd, 0o600)  # exactly 0600, whatever the umask
            out.write(private)
    atomic_write_bytes(pub, (signer.line + "\n").encode())
    return signer


def _default_comment() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except (OSError, KeyError):
        return "demoseed"


def sign(manifest: bytes, key_path: Path) -> bytes:
    """The signature file for ``manifest`` (its exact bytes), signed with the key at ``key_path``."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_ssh_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # an encrypted key asks for bcrypt: not used
        raise UserError(
            f"{key_path}: not an unencrypted OpenSSH private key ({exc}); make one with 'demoseed keygen', "
            "pass another with --key, or push with --unsigned"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(
            f"{key_path}: not an Ed25519 key; make one with 'demoseed keygen', pass another with --key, "
            "or push with --unsigned"
        )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    pub_file = key_path.with_name(key_path.name + ".pub")
    comment = _default_comment()
    if pub_file.is_file():
        words = pub_file.read_text(encoding="utf-8", errors="replace").split()
        if len(words) >= 2 and words[1] == public.decode().split()[1]:
            comment = " ".join(words[2:])
    signer = Signer(public.decode().split()[1], comment)
    doc = {
        "format": SIG_FORMAT,
        "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
        "signer": signer.line,
        "signature": base64.b64encode(key.sign(manifest)).decode(),
    }
    return (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode()


def read_signer(sig: bytes) -> Signer | None:
    """The signer a signature file names (unchecked), or None when it is unreadable."""
    try:
        doc = json.loads(sig)
        words = str(doc["signer"]).split()
        return Signer(words[1], " ".join(words[2:])) if words[0] == KEY_TYPE else None
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def check_signature(manifest: bytes, sig: bytes | None, trust: dict[str, str] | None, where: str) -> Signer | None:
    """Check ``sig`` against the manifest's bytes (and ``trust``: public key blob -> label); return the
    signer (None: unsigned, allowed only without a trust file)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if sig is None:
        if trust is not None:
            raise IntegrityError(f"{where} is not signed and the trust file requires a signature; refusing it")
        return None
    signer = read_signer(sig)
    try:
        doc = json.loads(sig)
        signature = base64.b64decode(str(doc["signature"]), validate=True)
        key = serialization.load_ssh_public_key(signer.line.encode()) if signer else None
        if not isinstance(key, Ed25519PublicKey) or doc.get("format") != SIG_FORMAT:
            raise ValueError("not an Ed25519 signature")
        key.verify(signature, manifest)
    except (ValueError, KeyError, TypeError, AttributeError, InvalidSignature):
        raise IntegrityError(
            f"{where}: the signature does not match the manifest (tampered or damaged); refusing it"
        ) from None
    assert signer is not None
    if trust is not None and signer.blob not in trust:
        raise IntegrityError(
            f"{where} is signed by {signer.describe()}, a key the trust file does not list; refusing it "
            "(add the key's .pub line to the trust file if this signer is trusted)"
        )
    return signer


def find_trust(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    env = os.environ.get("DEMOSEED_TRUST")
    if env:
        return Path(env)
    here = Path.cwd()
    for directory in (here, *here.parents):
        if (directory / TRUST_NAME).is_file():
            return directory / TRUST_NAME
    return None


def load_trust(explicit: Path | None) -> dict[str, str] | None:
    """The trusted keys (blob -> label), or None without a trust file."""
    path = find_trust(explicit)
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read the trust file {path}: {exc.strerror or exc}") from None
    keys: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if KEY_TYPE not in words or words.index(KEY_TYPE) + 1 >= len(words):
            raise UserError(f"{path}:{n}: not an ssh-ed25519 public key line; one 'ssh-ed25519 AAAA... comment' a line")
        i = words.index(KEY_TYPE)
        keys[words[i + 1]] = " ".join(words[:i] + words[i + 2 :])
    return keys
