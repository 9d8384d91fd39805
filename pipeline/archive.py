"""One shareable file per snapshot: ``demoseed pack`` / ``demoseed unpack``.

The archive is a gzip-compressed tar holding one top-level directory (the
snapshot's name) with the manifest and the Parquet files. It is
deterministic: sorted members, zero mtimes, owner root, fixed modes, so the
same snapshot packs to the same bytes.

Unpacking refuses anything but plain files inside that one directory:
absolute paths, ``..``, links, devices and oversized members are rejected
before anything is written; the snapshot is extracted to a temporary
directory, verified, then renamed into place.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath

from pipeline.base.atomic import atomic_target
from pipeline.base.errors import IntegrityError, UserError
from pipeline.base.manifest import MANIFEST_NAME, verify_snapshot

MAX_MEMBER_BYTES = 8 << 30  # 8 GiB per file
MAX_MEMBERS = 1000


def pack(snapshot_dir: Path | str, output: Path | str) -> Path:
    """Verify a snapshot and pack it into ``output`` (.tar.gz); return the path."""
    snapshot_dir = Path(snapshot_dir)
    verify_snapshot(snapshot_dir)
    output = Path(output)
    name = snapshot_dir.resolve().name
    files = sorted(p for p in snapshot_dir.iterdir() if p.is_file())
    with atomic_target(output) as tmp:
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                tar.addfile(_info(f"{name}", tarfile.DIRTYPE, 0))
                for path in files:
                    info = _info(f"{name}/{path.name}", tarfile.REGTYPE, path.stat().st_size)
                    with open(path, "rb") as fh:
                        tar.addfile(info, fh)
    return output


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
        if m.isfile() and len(parts) != 2:
            raise UserError(f"refusing archive: entry {m.name!r} is not a file directly inside the snapshot directory")
    if len(tops) != 1:
        raise UserError("refusing archive: it must hold exactly one snapshot directory")
    top = tops.pop()
    if top.startswith("."):
        raise UserError(f"refusing archive: snapshot directory {top!r} is hidden")
    return top


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
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise UserError(f"{archive} is damaged ({exc}); fetch a fresh copy") from None
        top = _check_members(members)
        target = dest / top
        if target.exists() and not force:
            raise UserError(f"{target} already exists; remove it or pass --force to replace it")
        dest.mkdir(parents=True, exist_ok=True)
        tmp = dest / f".{top}.unpack-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        try:
            for m in members:
                if not m.isfile():
                    continue
                fname = PurePosixPath(m.name).name
                src = tar.extractfile(m)
                if src is None:
                    raise UserError(f"refusing archive: entry {m.name!r} has no data")
                with src, open(tmp / fname, "wb") as out:
                    shutil.copyfileobj(src, out, length=1 << 20)
            if not (tmp / MANIFEST_NAME).is_file():
                raise IntegrityError(f"{archive} holds no {MANIFEST_NAME}; it is not a snapshot archive")
            verify_snapshot(tmp)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile, io.UnsupportedOperation) as exc:
            raise UserError(f"{archive} is damaged ({exc}); fetch a fresh copy") from None
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    return target
