"""One shareable file per snapshot: ``demoseed pack`` / ``demoseed unpack``.

The archive is a tar (Python's :mod:`tarfile`, PAX format) holding one
top-level directory (the snapshot's name) with the manifest and the Parquet
files. It is uncompressed by default (``<name>.tar``): Parquet is compressed
already, and gzip over it saved ~5 % at many times the time of a plain copy.
An output named ``.tar.gz``/``.tgz`` is gzipped at level 1. It is
deterministic: sorted members, zero mtimes, owner root, fixed modes (and a
zero gzip mtime), so the same snapshot packs to the same bytes. ``pack``
reads each file once, in 1 MiB chunks that tarfile writes into the archive
while other threads hash them (:class:`~pipeline.base.filehash.StreamHasher`);
the hashes of the bytes archived are checked against the manifest (with the
rest of the snapshot's verification) and the archive is renamed into place
only then.

Unpacking (a plain or a gzipped tar) refuses anything but plain files inside
that one directory: absolute paths, ``..``, links, devices, names with
control characters and oversized members are rejected before anything is
written. The manifest is read first (in memory, at most 16 MiB): a member it
does not list, or one larger than the byte size the manifest gives its file,
is refused before a byte of it reaches the disk, no member is read past that
size, and the archive's total size is checked against the free space. The
snapshot is extracted to a temporary directory (an uncompressed tar is read
at each member's offset; every chunk is hashed in another thread as it is
written), verified, then renamed into place. A full disk (ENOSPC) is reported
as such, never as a damaged archive, and leaves nothing behind, in ``pack``
too.
"""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import re
import shutil
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, cast

from pipeline.base.atomic import SyncBehind, atomic_target
from pipeline.base.errors import DiskFull, IntegrityError, UserError
from pipeline.base.filehash import HashStream, StreamHasher
from pipeline.base.manifest import MANIFEST_NAME, read_manifest, verify_snapshot

if TYPE_CHECKING:
    from _typeshed import SupportsRead

MAX_MEMBER_BYTES = 8 << 30  # 8 GiB per file
MAX_MEMBERS = 100_000  # a snapshot in parts has one file per table and partition
_PART = re.compile(r"^[a-z_]+/part-[0-9]{5}\.parquet$")  # <table>/part-NNNNN.parquet
_LISTABLE = re.compile(r"^[a-z_]+\.parquet$|^[a-z_]+/part-[0-9]{5}\.parquet$")  # what pack copies
MAX_MANIFEST_BYTES = 16 << 20
COPY_BUFFER = 1 << 20  # bytes per read and write (1 MiB: fewer calls than 64 KiB; 4 MiB measured slower)
HASH_THREADS = 2  # consecutive files hash in parallel while the copy runs
GZIP_SUFFIXES = (".tar.gz", ".tgz")
_FULL = (errno.ENOSPC, errno.EDQUOT)


def pack(snapshot_dir: Path | str, output: Path | str, *, force: bool = False) -> Path:
    """Verify a snapshot and pack it into ``output`` (a directory: ``<output>/<name>.tar``)."""
    snapshot_dir = Path(snapshot_dir)
    manifest = read_manifest(snapshot_dir)  # a clear error for a path that is no snapshot, before anything else
    output = Path(output)
    name = snapshot_dir.resolve().name
    if output.is_dir():
        output = output / f"{name}.tar"
    if output.resolve().is_relative_to(snapshot_dir.resolve()):
        raise UserError(f"{output} is inside the snapshot {snapshot_dir}; write the archive elsewhere (-o)")
    if output.exists() and not force:
        raise UserError(f"{output} already exists; give another -o or pass --force to replace it")
    if output.exists() and not output.is_file():
        raise UserError(f"{output} is not a regular file; give another -o")
    from pipeline.paths import write_problem

    if problem := write_problem(output):
        raise UserError(f"cannot write {output}: {problem}; write the archive elsewhere (-o)")
    listed = sorted(f for entry in manifest.tables.values() for f in entry.files)
    files = [snapshot_dir / MANIFEST_NAME, *(snapshot_dir / f for f in listed)]
    if not all(_LISTABLE.match(f) for f in listed):
        verify_snapshot(snapshot_dir)  # names verification refuses: never copied (it raises)
    from pipeline.base.manifest import link_problem

    for rel in [MANIFEST_NAME, *listed]:
        if problem := link_problem(snapshot_dir, rel):
            raise IntegrityError(f"cannot pack {snapshot_dir}: {problem}")
    try:
        with atomic_target(output) as tmp:
            try:
                digests = _write_tar(
                    tmp, snapshot_dir, name, [MANIFEST_NAME, *listed], gzipped=output.name.endswith(GZIP_SUFFIXES)
                )
            except OSError:
                verify_snapshot(snapshot_dir)  # a damaged snapshot (a file vanished) says so, not "cannot write"
                raise
            # the bytes archived, checked against the manifest: a failure raises, the archive is never put in place
            verify_snapshot(snapshot_dir, known=digests)
    except OSError as exc:
        raise _write_error(exc, output, sum(p.stat().st_size for p in files)) from None
    return output


class _Source:
    """A snapshot file read by tarfile's copy, a chunk at a time into the hasher's buffers: each chunk is
    hashed while tarfile writes it into the archive, and counted for the background sync of the archive.

    ``read`` returns a view of the buffer rather than a copy: tarfile's copy only takes its length and
    writes it before it reads the next chunk (the buffer is not reused before).
    """

    def __init__(self, fh: io.BufferedReader, hasher: StreamHasher, stream: HashStream, sync: SyncBehind) -> None:
        self._fh = fh
        self._hasher = hasher
        self._stream = stream
        self._sync = sync

    def read(self, size: int = -1, /) -> memoryview:
        buf = self._hasher.buffer()
        with memoryview(buf) as whole:
            n = self._fh.readinto(whole[: len(buf) if size < 0 else size]) or 0
        self._stream.add(buf, n)
        self._sync.wrote(n)
        return memoryview(buf)[:n]


def _write_tar(path: Path, snapshot_dir: Path, name: str, listed: list[str], *, gzipped: bool) -> dict[str, str]:
    """Write the archive; return the sha256 of the bytes it holds of each file (by path in the snapshot)."""
    dirs = {f.split("/")[0] for f in listed if "/" in f}  # tables in parts
    hasher = StreamHasher(HASH_THREADS, size=COPY_BUFFER)
    with hasher, open(path, "wb") as raw, SyncBehind(raw.fileno()) as sync:
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=1) if gzipped else None
        with tarfile.TarFile(fileobj=gz or raw, mode="w", format=tarfile.PAX_FORMAT, copybufsize=COPY_BUFFER) as tar:
            tar.addfile(_info(f"{name}", tarfile.DIRTYPE, 0))
            for rel in sorted([*listed, *dirs]):
                if rel in dirs:
                    tar.addfile(_info(f"{name}/{rel}", tarfile.DIRTYPE, 0))
                    continue
                with open(snapshot_dir / rel, "rb") as fh:
                    size = os.fstat(fh.fileno()).st_size
                    src = _Source(fh, hasher, hasher.stream(rel), sync)
                    tar.addfile(_info(f"{name}/{rel}", tarfile.REGTYPE, size), cast("SupportsRead[bytes]", src))
        if gz is not None:
            gz.close()
        return hasher.digests()


def _write_error(exc: OSError, where: Path, need: int) -> UserError:
    """One line for a failed write: a full disk says so (and how much is needed), anything else names the file."""
    if exc.errno in _FULL:
        return DiskFull(
            f"no space left on the disk of {where} (about {_mb(need)} needed); free some space and retry "
            "(nothing was left behind)"
        )
    return UserError(f"cannot write {where}: {exc.strerror or exc} (nothing was left behind)")


def _mb(n: int) -> str:
    return f"{max(n, 1) / 1e6:,.1f} MB"


def _info(name: str, kind: bytes, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    info.mtime = 0
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _check_members(members: list[tarfile.TarInfo]) -> str:
    """Return the archive's single top-level directory name, or raise."""
    if not members:
        raise UserError("the archive is empty; pack a snapshot with 'demoseed pack'")
    if len(members) > MAX_MEMBERS:
        raise UserError(f"the archive has {len(members)} entries; a snapshot has far fewer, refusing it")
    tops = set()
    seen: dict[str, bool] = {}  # entry name -> is a file
    for m in members:
        rel = _relative(m)
        if rel in seen and (m.isfile() or seen[rel]):  # a directory may be listed twice, a file may not
            raise UserError(f"refusing archive: entry {m.name!r} appears twice; fetch a fresh copy")
        seen[rel] = seen.get(rel, False) or m.isfile()
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in m.name):
            raise UserError(f"refusing archive: entry {m.name!r} has a control character in its name")
        path = PurePosixPath(m.name)
        if m.name.startswith("/") or path.is_absolute() or ":" in path.parts[0] or "\\" in m.name:
            raise UserError(f"refusing archive: entry {m.name!r} has an absolute path")
        if any(part == ".." for part in path.parts):
            raise UserError(f"refusing archive: entry {m.name!r} points outside the snapshot ('..')")
        if m.issym() or m.islnk():
            raise UserError(f"refusing archive: entry {m.name!r} is a link")
        if not (m.isfile() or m.isdir()):
            raise UserError(f"refusing archive: entry {m.name!r} is not a regular file")
        if m.size > MAX_MEMBER_BYTES:
            raise UserError(f"refusing archive: entry {m.name!r} is {m.size} bytes")
        parts = [p for p in path.parts if p not in ("", ".")]
        if not parts:
            continue
        tops.add(parts[0])
        if m.isfile() and len(parts) != 2 and not (len(parts) == 3 and _PART.match("/".join(parts[1:]))):
            raise UserError(
                f"refusing archive: entry {m.name!r} is not a file directly inside the snapshot directory "
                "(nor a table's part, <table>/part-NNNNN.parquet)"
            )
        if m.isdir() and len(parts) > 2:
            raise UserError(f"refusing archive: entry {m.name!r} is a directory below a table's")
    if len(tops) != 1:
        raise UserError("refusing archive: it must hold exactly one snapshot directory")
    top = tops.pop()
    if top.startswith("."):
        raise UserError(f"refusing archive: snapshot directory {top!r} is hidden")
    return top


def _relative(m: tarfile.TarInfo) -> str:
    return "/".join(p for p in PurePosixPath(m.name).parts if p not in ("", "."))


def _listed_files(
    tar: tarfile.TarFile, members: list[tarfile.TarInfo], top: str, archive: Path
) -> dict[str, int | None]:
    """Read the manifest member (in memory); return the member names it allows (``top/file``) and the
    byte size the manifest gives each (None: the manifest member itself, or a manifest without sizes)."""
    entry = next((m for m in members if m.isfile() and _relative(m) == f"{top}/{MANIFEST_NAME}"), None)
    if entry is None:
        raise IntegrityError(f"{archive} holds no {MANIFEST_NAME}; it is not a snapshot archive")
    if entry.size > MAX_MANIFEST_BYTES:
        raise UserError(f"refusing archive: its {MANIFEST_NAME} is {entry.size} bytes; a manifest is far smaller")
    src = tar.extractfile(entry)
    if src is None:
        raise UserError(f"refusing archive: entry {entry.name!r} has no data")
    with src:
        raw = src.read(MAX_MANIFEST_BYTES + 1)
    try:
        manifest: Any = json.loads(raw.decode("utf-8"))
        tables = manifest["tables"]
        files = {str(e["file"]): _size(e.get("bytes")) for e in tables.values()}
        files |= {str(p["file"]): _size(p.get("bytes")) for e in tables.values() for p in e.get("parts") or ()}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        raise IntegrityError(f"{archive}: its {MANIFEST_NAME} has no readable table list; fetch a fresh copy") from None
    plain = {
        f: n for f, n in files.items() if (f == PurePosixPath(f).name and f.endswith(".parquet")) or _PART.match(f)
    }
    return {f"{top}/{f}": n for f, n in plain.items()} | {f"{top}/{MANIFEST_NAME}": None}


def _size(value: Any) -> int | None:
    """A manifest's byte size of a file (None when it gives none); anything but a count is a broken manifest."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"byte size {value!r}")
    return value


def unpack(archive: Path | str, dest: Path | str, *, force: bool = False) -> Path:
    """Check, extract and verify an archive into ``dest/<name>``; return that directory."""
    archive = Path(archive)
    dest = Path(dest)
    if not archive.is_file():
        raise UserError(f"{archive}: no such file")
    try:
        fh = open(archive, "rb")
    except OSError as exc:
        raise UserError(f"cannot read {archive}: {exc.strerror or exc}") from None
    with fh, _open_tar(fh, archive) as tar:
        try:
            members = tar.getmembers()
            top = _check_members(members)
            listed = _listed_files(tar, members, top, archive)
        except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise UserError(f"{archive} is damaged ({exc}); fetch a fresh copy") from None
        files = [m for m in members if m.isfile()]
        unlisted = [m.name for m in files if _relative(m) not in listed]
        if unlisted:
            raise UserError(f"refusing archive: entry {unlisted[0]!r} is not listed in the snapshot's manifest")
        for m in files:
            limit = listed[_relative(m)]
            if limit is not None and m.size > limit:
                raise UserError(
                    f"refusing archive: entry {m.name!r} is {m.size} bytes, its manifest says {limit}; "
                    "fetch a fresh copy"
                )
        target = dest / top
        if target.exists() and not force:
            raise UserError(f"{target} already exists; remove it or pass --force to replace it")
        need = sum(m.size for m in files)
        from pipeline.paths import write_problem

        if problem := write_problem(target):
            raise UserError(f"cannot unpack into {dest}: {problem}; give a folder you can write to (-d)")
        _check_space(dest, need)
        try:
            dest.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _write_error(exc, dest, need) from None
        tmp = dest / f".{top}.unpack-{os.getpid()}"
        try:
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir()
            plain = tar.fileobj is fh  # an uncompressed tar: each member's bytes are read at their offset
            verify_snapshot(tmp, known=_extract(tar, files, tmp, archive, fh if plain else None))
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except OSError as exc:
            raise _write_error(exc, dest, need) from None
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    return target


def _open_tar(fh: IO[bytes], archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=fh, mode="r:*")
    except (tarfile.TarError, OSError, EOFError):
        raise UserError(
            f"{archive} is not a snapshot archive (not a readable tar file); make one with 'demoseed pack'"
        ) from None


def _check_space(dest: Path, need: int) -> None:
    probe = dest
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if need > free:
        raise DiskFull(
            f"no space left on the disk of {dest}: the snapshot needs {_mb(need)}, {_mb(free)} are free; "
            "free some space and retry"
        )


def _extract(
    tar: tarfile.TarFile, files: list[tarfile.TarInfo], tmp: Path, archive: Path, plain: IO[bytes] | None
) -> dict[str, str]:
    """Copy each member's bytes (at most its header size, which the manifest bounds) into ``tmp``; return
    the sha256 of each file written, hashed chunk by chunk as the bytes pass (in other threads, while the
    copy goes on). ``plain``: the uncompressed archive, read at each member's offset. A read failure is a
    damaged archive."""
    with StreamHasher(HASH_THREADS, size=COPY_BUFFER) as hasher:
        for m in files:
            inside = "/".join(_relative(m).split("/")[1:])  # checked: a file or a table's part
            path = tmp / inside
            path.parent.mkdir(exist_ok=True)
            stream = hasher.stream(inside)
            if plain is not None and not m.issparse():  # a sparse member's holes are tarfile's to fill
                chunks = _chunks_at(plain, m, hasher, archive)
            else:
                chunks = _chunks(tar, m, hasher, archive)
            with open(path, "wb") as out:
                for buf, n in chunks:
                    stream.add(buf, n)  # hashed while it is written; the buffer is not reused before
                    with memoryview(buf) as view:
                        out.write(view[:n])
        return hasher.digests()


def _chunks_at(
    plain: IO[bytes], m: tarfile.TarInfo, hasher: StreamHasher, archive: Path
) -> Iterator[tuple[bytearray, int]]:
    """A member's bytes in an uncompressed tar, read by offset (exactly its header size) into the
    hasher's buffers: (buffer, bytes in it)."""
    offset, left = m.offset_data, m.size
    while left > 0:
        buf = hasher.buffer()
        with memoryview(buf) as whole:
            n = os.preadv(plain.fileno(), [whole[: min(len(buf), left)]], offset)
        if not n:
            raise UserError(f"{archive} is damaged (entry {m.name!r} is cut short); fetch a fresh copy")
        offset += n
        left -= n
        yield buf, n


def _chunks(
    tar: tarfile.TarFile, m: tarfile.TarInfo, hasher: StreamHasher, archive: Path
) -> Iterator[tuple[bytearray, int]]:
    """A member's bytes through tarfile (a compressed archive), exactly its header size, into the
    hasher's buffers: (buffer, bytes in it)."""
    src = tar.extractfile(m)
    if src is None:
        raise UserError(f"refusing archive: entry {m.name!r} has no data")
    with src:
        left = m.size
        while left > 0:
            buf = hasher.buffer()
            try:
                chunk = src.read(min(len(buf), left))
            except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error, io.UnsupportedOperation) as exc:
                raise UserError(f"{archive} is damaged ({exc}); fetch a fresh copy") from None
            if not chunk:
                raise UserError(f"{archive} is damaged (entry {m.name!r} is cut short); fetch a fresh copy")
            buf[: len(chunk)] = chunk
            left -= len(chunk)
            yield buf, len(chunk)
