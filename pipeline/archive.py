"""One shareable file per snapshot: ``demoseed pack`` / ``demoseed unpack``.

The archive is a gzip-compressed tar holding one top-level directory (the
snapshot's name) with the manifest and the Parquet files. It is
deterministic: sorted members, zero mtimes, owner root, fixed modes, so the
same snapshot packs to the same bytes.

Unpacking refuses anything but plain files inside that one directory:
absolute paths, ``..``, links, devices, names with control characters and
oversized members are rejected before anything is written. The manifest is
read first (in memory, at most 16 MiB): a member it does not list is refused
before a byte of it reaches the disk, and the archive's total size is checked
against the free space. The snapshot is extracted to a temporary directory,
verified, then renamed into place. A full disk (ENOSPC) is reported as such,
never as a damaged archive, and leaves nothing behind, in ``pack`` too.
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
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline.base.atomic import atomic_target
from pipeline.base.errors import IntegrityError, UserError
from pipeline.base.manifest import MANIFEST_NAME, verify_snapshot

MAX_MEMBER_BYTES = 8 << 30  # 8 GiB per file
MAX_MEMBERS = 100_000  # a snapshot in parts has one file per table and partition
_PART = re.compile(r"^[a-z_]+/part-[0-9]{5}\.parquet$")  # <table>/part-NNNNN.parquet
MAX_MANIFEST_BYTES = 16 << 20
_FULL = (errno.ENOSPC, errno.EDQUOT)


def pack(snapshot_dir: Path | str, output: Path | str, *, force: bool = False) -> Path:
    """Verify a snapshot and pack it into ``output`` (.tar.gz; a directory: ``<output>/<name>.tar.gz``)."""
    snapshot_dir = Path(snapshot_dir)
    manifest = verify_snapshot(snapshot_dir)
    output = Path(output)
    name = snapshot_dir.resolve().name
    if output.is_dir():
        output = output / f"{name}.tar.gz"
    if output.exists() and not force:
        raise UserError(f"{output} already exists; give another -o or pass --force to replace it")
    if output.exists() and not output.is_file():
        raise UserError(f"{output} is not a regular file; give another -o")
    listed = [MANIFEST_NAME, *(f for entry in manifest.tables.values() for f in entry.files)]
    dirs = {f.split("/")[0] for f in listed if "/" in f}  # tables in parts
    files = [snapshot_dir / f for f in sorted(listed)]
    try:
        with atomic_target(output) as tmp:
            with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                    tar.addfile(_info(f"{name}", tarfile.DIRTYPE, 0))
                    for rel in sorted([*listed, *dirs]):
                        if rel in dirs:
                            tar.addfile(_info(f"{name}/{rel}", tarfile.DIRTYPE, 0))
                            continue
                        path = snapshot_dir / rel
                        info = _info(f"{name}/{rel}", tarfile.REGTYPE, path.stat().st_size)
                        with open(path, "rb") as fh:
                            tar.addfile(info, fh)
    except OSError as exc:
        raise _write_error(exc, output, sum(p.stat().st_size for p in files)) from None
    return output


def _write_error(exc: OSError, where: Path, need: int) -> UserError:
    """One line for a failed write: a full disk says so (and how much is needed), anything else names the file."""
    if exc.errno in _FULL:
        return UserError(
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
    for m in members:
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


def _listed_files(tar: tarfile.TarFile, members: list[tarfile.TarInfo], top: str, archive: Path) -> set[str]:
    """Read the manifest member (in memory); return the member names it allows (``top/file``)."""
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
        files = {str(e["file"]) for e in tables.values()}
        files |= {str(p["file"]) for e in tables.values() for p in e.get("parts") or ()}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        raise IntegrityError(f"{archive}: its {MANIFEST_NAME} has no readable table list; fetch a fresh copy") from None
    plain = {f for f in files if (f == PurePosixPath(f).name and f.endswith(".parquet")) or _PART.match(f)}
    return {f"{top}/{f}" for f in plain} | {f"{top}/{MANIFEST_NAME}"}


def unpack(archive: Path | str, dest: Path | str, *, force: bool = False) -> Path:
    """Check, extract and verify an archive into ``dest/<name>``; return that directory."""
    archive = Path(archive)
    dest = Path(dest)
    if not archive.is_file():
        raise UserError(f"{archive}: no such file")
    try:
        tar = tarfile.open(archive, mode="r:*")
    except (tarfile.TarError, OSError, EOFError):
        raise UserError(
            f"{archive} is not a snapshot archive (not a readable tar file); make one with 'demoseed pack'"
        ) from None
    with tar:
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
        target = dest / top
        if target.exists() and not force:
            raise UserError(f"{target} already exists; remove it or pass --force to replace it")
        need = sum(m.size for m in files)
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
            _extract(tar, files, tmp, archive)
            verify_snapshot(tmp)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except OSError as exc:
            raise _write_error(exc, dest, need) from None
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    return target


def _check_space(dest: Path, need: int) -> None:
    probe = dest
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if need > free:
        raise UserError(
            f"no space left on the disk of {dest}: the snapshot needs {_mb(need)}, {_mb(free)} are free; "
            "free some space and retry"
        )


def _extract(tar: tarfile.TarFile, files: list[tarfile.TarInfo], tmp: Path, archive: Path) -> None:
    """Copy each member's bytes (at most its header size) into ``tmp``; a read failure is a damaged archive."""
    for m in files:
        src = tar.extractfile(m)
        if src is None:
            raise UserError(f"refusing archive: entry {m.name!r} has no data")
        inside = tmp.joinpath(*_relative(m).split("/")[1:])  # checked: a file or a table's part
        inside.parent.mkdir(exist_ok=True)
        with src, open(inside, "wb") as out:
            left = m.size
            while left > 0:
                try:
                    chunk = src.read(min(1 << 20, left))
                except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error, io.UnsupportedOperation) as exc:
                    raise UserError(f"{archive} is damaged ({exc}); fetch a fresh copy") from None
                if not chunk:
                    raise UserError(f"{archive} is damaged (entry {m.name!r} is cut short); fetch a fresh copy")
                out.write(chunk)
                left -= len(chunk)
