"""The local content-addressed cache of pulled snapshots.

``$DEMOSEED_CACHE``, else ``$XDG_CACHE_HOME/demoseed``, else ``~/.cache/demoseed``::

    objects/sha256/<hex>            every file pulled, once, by its sha256
    refs/<remote key>/<name>/       the manifest (and signature) last pulled as REMOTE/NAME
    snapshots/<manifest key>/<name> snapshots pulled for load/describe/report/verify REMOTE/NAME

An object is downloaded into a temporary file beside its place (``.<hex>.tmp-PID``), hashed as it
arrives, and renamed into place only when its sha256 and size match the manifest, so the cache never
holds a wrong object under a hash; what a killed pull leaves is removed by the next one.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pipeline.base.atomic import atomic_write_bytes

MANIFEST_FILE = "manifest.json"
SIG_FILE = "manifest.sig"


def cache_root() -> Path:
    env = os.environ.get("DEMOSEED_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "demoseed"


def object_path(hexdigest: str) -> Path:
    return cache_root() / "objects" / "sha256" / hexdigest


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ref_dir(remote_url: str, name: str) -> Path:
    return cache_root() / "refs" / _key(remote_url) / name


def snapshot_parent(manifest: bytes) -> Path:
    """Where a snapshot pulled for another command is kept: one directory per manifest."""
    return cache_root() / "snapshots" / hashlib.sha256(manifest).hexdigest()[:16]


def save_ref(remote_url: str, name: str, manifest: bytes, sig: bytes | None) -> None:
    where = ref_dir(remote_url, name)
    where.mkdir(parents=True, exist_ok=True)
    if sig is not None:
        atomic_write_bytes(where / SIG_FILE, sig)
    elif (where / SIG_FILE).exists():
        (where / SIG_FILE).unlink()
    atomic_write_bytes(where / MANIFEST_FILE, manifest)


def cached_ref(remote_url: str, name: str) -> tuple[bytes, bytes | None] | None:
    """The manifest (and signature) last pulled as REMOTE/NAME, or None."""
    where = ref_dir(remote_url, name)
    try:
        manifest = (where / MANIFEST_FILE).read_bytes()
    except OSError:
        return None
    try:
        sig: bytes | None = (where / SIG_FILE).read_bytes()
    except OSError:
        sig = None
    return manifest, sig
