"""sha256 of files' bytes, fast: large reads, several files at once.

hashlib releases the GIL while it hashes a large buffer, so a thread per file
hashes files in parallel on several cores (``sha256sum`` does one file at a
time). This module imports nothing heavy, so commands that only check bytes
(``verify``, the unchanged-snapshot check) start quickly.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CHUNK = 4 << 20  # bytes per read


def file_sha256(path: Path | str) -> str:
    """The sha256 of one file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        view = memoryview(bytearray(max(1, min(CHUNK, os.fstat(fh.fileno()).st_size))))  # a small file: a small buffer
        while n := fh.readinto(view):
            h.update(view[:n])
    return h.hexdigest()


def files_sha256(paths: Sequence[Path | str], *, workers: int | None = None) -> list[str]:
    """The sha256 of each file, in order, hashed by up to ``workers`` threads (default: one per core)."""
    if len(paths) <= 1:
        return [file_sha256(p) for p in paths]
    workers = workers or min(len(paths), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(file_sha256, paths))
