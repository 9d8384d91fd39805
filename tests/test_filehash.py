"""StreamHasher (the hash of bytes while they are copied) and SyncBehind (the archive flushed as it is written)."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from pipeline.base import atomic
from pipeline.base.atomic import SyncBehind
from pipeline.base.filehash import StreamHasher, file_sha256, files_sha256


def _feed(hasher: StreamHasher, stream_name: str, data: bytes, size: int) -> set[int]:
    """Add ``data`` to a new stream in chunks of ``size``; return the ids of the buffers used."""
    stream = hasher.stream(stream_name)
    used = set()
    for start in range(0, len(data), size):
        buf = hasher.buffer()
        used.add(id(buf))
        chunk = data[start : start + size]
        buf[: len(chunk)] = chunk
        stream.add(buf, len(chunk))
    return used


@pytest.mark.parametrize("threads", [1, 3])
def test_stream_hasher_gives_each_streams_sha256_with_a_few_buffers(threads: int) -> None:
    streams = {f"s{i}": bytes((i * 7 + j) % 251 for j in range(1000 * i + 17)) for i in range(8)}
    used: set[int] = set()
    with StreamHasher(threads, size=100, count=4) as hasher:
        for name, data in streams.items():
            used |= _feed(hasher, name, data, 100)
        digests = hasher.digests()
    assert digests == {name: hashlib.sha256(data).hexdigest() for name, data in streams.items()}
    assert len(used) <= max(4, threads + 1)  # the same few buffers, over and over


def test_stream_hasher_keeps_each_streams_chunks_in_order_when_streams_interleave() -> None:
    a, b = b"".join(bytes([i]) * 50 for i in range(40)), bytes(range(200)) * 9
    with StreamHasher(2, size=50, count=3) as hasher:
        sa, sb = hasher.stream("a"), hasher.stream("b")
        for i in range(0, max(len(a), len(b)), 50):
            for stream, data in ((sa, a), (sb, b)):
                if i < len(data):
                    buf = hasher.buffer()
                    buf[: len(data[i : i + 50])] = data[i : i + 50]
                    stream.add(buf, len(data[i : i + 50]))
        assert hasher.digests() == {"a": hashlib.sha256(a).hexdigest(), "b": hashlib.sha256(b).hexdigest()}


def test_stream_hasher_refuses_a_stream_started_twice_and_hashes_an_empty_one() -> None:
    with StreamHasher() as hasher:
        hasher.stream("x")
        with pytest.raises(ValueError, match="started already"):
            hasher.stream("x")
        assert hasher.digests() == {"x": hashlib.sha256(b"").hexdigest()}


def test_file_hashes_agree_with_hashlib(tmp_path: Path) -> None:
    paths = [tmp_path / f"f{i}" for i in range(3)]
    for i, p in enumerate(paths):
        p.write_bytes(bytes([i]) * (1000 * i))
    assert files_sha256(paths) == [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert file_sha256(paths[2]) == hashlib.sha256(bytes([2]) * 2000).hexdigest()


def test_sync_behind_syncs_each_time_enough_was_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    monkeypatch.setattr(atomic.os, "fdatasync", synced.append)
    with open(tmp_path / "f", "wb") as fh, SyncBehind(fh.fileno(), every=10) as sync:
        fd = fh.fileno()
        sync.wrote(4)
        sync.wrote(5)
        assert synced == []  # 9 bytes: not yet
        sync.wrote(1)
    assert synced == [fd]


@pytest.mark.parametrize("code", [errno.EIO, errno.ENOSPC])
def test_a_failed_sync_is_raised_when_the_writer_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    def fail(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic.os, "fdatasync", fail)
    with pytest.raises(OSError) as caught, open(tmp_path / "f", "wb") as fh, SyncBehind(fh.fileno(), every=1) as sync:
        sync.wrote(1)
    assert caught.value.errno == code
