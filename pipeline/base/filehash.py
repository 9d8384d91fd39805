"""sha256 of files' bytes, fast: large reads, several files at once.

hashlib releases the GIL while it hashes a large buffer, so a thread per file
hashes files in parallel on several cores (``sha256sum`` does one file at a
time). :class:`StreamHasher` hashes bytes while they are being copied (``pack``
and ``unpack``): the copying thread hands over each chunk it read and goes on
writing it, another thread hashes it, so a file is read once and the hash is
of exactly the bytes copied. This module imports nothing heavy, so commands
that only check bytes (``verify``, the unchanged-snapshot check) start quickly.
"""

from __future__ import annotations

import hashlib
import os
import queue
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

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


class StreamHasher:
    """sha256 of named byte streams hashed while they are copied, read into a few reusable buffers.

    The copy takes a free buffer (:meth:`buffer`), reads a chunk into it, hands
    it to its stream (:meth:`HashStream.add`) and writes it while another thread
    hashes it; the buffer is free again once hashed. Each stream's chunks are
    hashed in order on one thread; streams are spread over ``threads`` threads,
    so consecutive files hash in parallel. With ``count`` buffers, a hash that
    falls behind holds back the copy rather than filling the memory, and the
    buffers stay in the CPU caches (no fresh memory for each chunk). Use it as a
    context manager; :meth:`digests` waits for the hashes.
    """

    def __init__(self, threads: int = 1, *, size: int = 1 << 20, count: int = 8) -> None:
        self._pools = [ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") for _ in range(max(1, threads))]
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(max(count, len(self._pools) + 1)):
            self._free.put(bytearray(size))
        self._streams: dict[str, HashStream] = {}

    def __enter__(self) -> StreamHasher:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)

    def buffer(self) -> bytearray:
        """A free buffer to read a chunk into (waits while every buffer is still being hashed)."""
        return self._free.get()

    def stream(self, name: str) -> HashStream:
        """A new stream: :meth:`HashStream.add` its chunks in order."""
        if name in self._streams:
            raise ValueError(f"stream {name!r} was started already")
        stream = HashStream(self._pools[len(self._streams) % len(self._pools)], self._free)
        self._streams[name] = stream
        return stream

    def digests(self) -> dict[str, str]:
        """The sha256 (hex) of every stream's bytes, by name; waits for the hashing to finish."""
        pending = {name: s.digest() for name, s in self._streams.items()}
        return {name: f.result() for name, f in pending.items()}


class HashStream:
    """One stream of a :class:`StreamHasher`."""

    def __init__(self, pool: ThreadPoolExecutor, free: queue.SimpleQueue[bytearray]) -> None:
        self._pool = pool
        self._free = free
        self._sha = hashlib.sha256()

    def add(self, buf: bytearray, n: int) -> None:
        """Hash ``buf[:n]`` (a buffer from :meth:`StreamHasher.buffer`, not changed afterwards: it goes back
        to the free buffers once hashed; reading the next chunk takes a free one)."""
        self._pool.submit(self._update, buf, n)

    def _update(self, buf: bytearray, n: int) -> None:
        try:
            with memoryview(buf) as view:
                self._sha.update(view[:n])  # releases the GIL: the copy goes on meanwhile
        finally:
            self._free.put(buf)

    def digest(self) -> Future[str]:
        return self._pool.submit(self._sha.hexdigest)  # after every chunk added (one thread, in order)
