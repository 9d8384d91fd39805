"""Atomic file and directory writes: temporary file or directory beside the
target, fsync, rename. A crash never leaves a half-written file or a mix of
old and new files.

A large file written for :func:`atomic_target` can be flushed to the disk as
it is written (:class:`SyncBehind`: ``fdatasync`` in a background thread every
64 MiB), so the fsync before the rename has little left to wait for.

A file written with :func:`atomic_target` straight inside the temporary
directory of an :func:`atomic_directory` (a snapshot's tables, a stage
output's) needs no temporary file of its own, since nothing is visible
before the directory is renamed into place: it is written under its name,
and fsynced on a background thread while the next file is written. The
directory waits for every such fsync, fsyncs itself, and only then is
renamed, so what a crash can leave is the same as above.

The temporary names are ``.NAME.tmp-PID`` (and ``.NAME.old-PID`` for the
directory being replaced). A killed process leaves them behind; the next
write of the same target removes them once that process is gone
(:func:`remove_stale_leftovers`), never while it runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-(?P<pid>[0-9]+)$")


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (ours, another user's, or a zombie count as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def remove_stale_leftovers(parent: Path | str, name: str | None = None) -> list[Path]:
    """Remove ``.NAME.tmp-PID`` / ``.NAME.old-PID`` in ``parent`` whose process is gone (only ``name``'s
    when given); returns what was removed."""
    parent = Path(parent)
    removed: list[Path] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _LEFTOVER.match(entry.name)
        if m is None or (name is not None and m["name"] != name) or _alive(int(m["pid"])):
            continue
        with contextlib.suppress(FileNotFoundError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        removed.append(entry)
    return removed


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_and_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Filling:
    """The files written into one :func:`atomic_directory`'s temporary directory, and their pending fsyncs."""

    _pool: ThreadPoolExecutor | None = None
    _pool_lock = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Future[None]] = []

    def sync_later(self, path: Path) -> None:
        """fsync ``path`` on a background thread (the file is opened here: a missing file raises here)."""
        fd = os.open(path, os.O_RDWR)
        with _Filling._pool_lock:
            if _Filling._pool is None:
                _Filling._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="demoseed-fsync")
            pool = _Filling._pool
        try:
            future = pool.submit(_fsync_and_close, fd)
        except BaseException:
            os.close(fd)
            raise
        with self._lock:
            self._pending.append(future)

    def wait(self) -> None:
        """Wait for every pending fsync; raise the first one's error (after all have ended)."""
        with self._lock:
            pending, self._pending = self._pending, []
        errors = [exc for exc in (f.exception() for f in pending) if exc is not None]
        if errors:
            raise errors[0]


_FILLING: dict[Path, _Filling] = {}  # temporary directories of atomic_directory blocks running in this process
_FILLING_LOCK = threading.Lock()


def _after_fork_in_child() -> None:
    # A forked child has neither the parent's fsync threads nor its directory blocks: it writes the usual way.
    global _FILLING_LOCK
    _FILLING_LOCK = threading.Lock()
    _FILLING.clear()
    _Filling._pool = None
    _Filling._pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@contextlib.contextmanager
def atomic_target(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds, fsync it and
    rename it into place. On any error the temporary file is removed and ``path``
    is left as it was.

    Inside the temporary directory of an :func:`atomic_directory` (a new name
    there), the path itself is yielded and its fsync is left to the directory."""
    path = Path(path)
    with _FILLING_LOCK:
        filling = _FILLING.get(path.parent)
    if filling is not None and not os.path.lexists(path):
        try:
            yield path
            filling.sync_later(path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            raise
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_leftovers(path.parent, path.name)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_directory(directory: Path | str) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``directory``; when the block
    succeeds it replaces ``directory`` whole (the old one is removed). On any
    error the temporary directory is removed and ``directory`` is untouched, so
    readers never see a mix of old and new files."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_leftovers(directory.parent, directory.name)
    tmp = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    filling = _Filling()
    with _FILLING_LOCK:
        _FILLING[tmp] = filling
    try:
        yield tmp
        with _FILLING_LOCK:
            del _FILLING[tmp]
        filling.wait()  # every file written with atomic_target is on disk
        fsync_dir(tmp)  # and so are their names
        if directory.exists():
            os.replace(directory, old)
        try:
            os.replace(tmp, directory)
        except OSError:
            if old.exists():
                os.replace(old, directory)
            raise
        fsync_dir(directory.parent)
    finally:
        with _FILLING_LOCK:
            _FILLING.pop(tmp, None)
        with contextlib.suppress(OSError):
            filling.wait()  # after an error: no fsync still running on a file about to be removed
        for leftover in (tmp, old):
            if leftover.exists():
                shutil.rmtree(leftover)


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write bytes to ``path`` via a temporary file + rename."""
    with atomic_target(path) as tmp:
        tmp.write_bytes(data)


class SyncBehind:
    """``fdatasync`` a file being written, in a background thread, each time another ``every`` bytes went
    into it: the disk writes while the writer goes on, and the final fsync only waits for the tail.

    Call :meth:`wrote` with each chunk's size (as it is written); leaving the ``with`` block waits for
    the sync under way (before the file is closed) and raises its error, if any.
    """

    def __init__(self, fd: int, every: int = 64 << 20) -> None:
        self._fd = fd
        self._every = every
        self._since = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-behind")
        self._running: Future[None] | None = None

    def __enter__(self) -> SyncBehind:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._pool.shutdown(wait=True)
        if kind is None and self._running is not None:
            self._running.result()

    def wrote(self, n: int) -> None:
        self._since += n
        if self._since < self._every or (self._running is not None and not self._running.done()):
            return
        if self._running is not None:
            self._running.result()  # an error of the last sync (EIO, ENOSPC) stops the writer
        self._since = 0
        self._running = self._pool.submit(os.fdatasync, self._fd)
