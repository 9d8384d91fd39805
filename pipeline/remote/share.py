"""Push, pull and list snapshots in a remote prefix (layout and rules: docs/sharing.md).

Layout under the remote's prefix::

    objects/sha256/<hex>                each snapshot file once, named by its sha256
    snapshots/<name>/manifest.json      published last, with a conditional create
    snapshots/<name>/summary.json       what ls shows, written after the manifest (an index, never trusted)
    snapshots/<name>/signatures/<manifest sha256>.sig   its signature (written before it)

A push checks the manifest's snapshot id, finds the objects the remote lacks (a HEAD each, in
parallel), hashes each of those files and uploads it only when its sha256 and size are the manifest's
(large files in multipart uploads; the hashing of one file overlaps the upload of another), writes
the signature, and only then publishes the manifest with
``If-None-Match: *``: a reader never sees a manifest whose objects are missing, and of two pushes of
one name one wins and the other is refused. ``--force`` replaces a different manifest with
``If-Match`` on the ETag read, so a replacement that raced another push fails instead of
overwriting it. After the manifest, the push writes its summary (what ``ls`` shows, so that ``ls``
reads one small object a name rather than every manifest; see :func:`_write_summary`).

A pull reads the manifest (and checks its signature), fills the local cache with the objects it
lacks (each hashed as it arrives and, only when it matches, fsynced and renamed into place on
another thread while the next ones arrive; an object downloaded by this pull is not hashed again),
then builds the
snapshot in a temporary directory beside the destination from the cache, verifies it (every listed
file's size and sha256, no unlisted file, the snapshot id: :func:`~pipeline.base.manifest.verify_files`,
with the hashes taken as the bytes arrived), and renames it into place: nothing appears under the
destination unless every byte matched. The row counts in the Parquet footers are left to ``load`` and
``verify``, which read them anyway (a pull imports no pyarrow).
A pull of a snapshot whose objects are all cached needs the remote only for the manifest, and falls
back to the manifest cached by the last pull when the remote cannot be reached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pipeline.archive import _LISTABLE, MAX_MANIFEST_BYTES
from pipeline.base.atomic import (
    atomic_directory,
    atomic_target,
    atomic_write_bytes,
    fsync_dir,
    remove_stale_leftovers,
)
from pipeline.base.errors import IntegrityError, UserError
from pipeline.base.filehash import file_sha256, files_sha256
from pipeline.base.manifest import MANIFEST_NAME, read_manifest, snapshot_id, verify_files
from pipeline.paths import write_problem
from pipeline.remote import cache
from pipeline.remote.signing import Signer, check_signature, find_signing_key, load_trust, read_signer, sign
from pipeline.remote.store import Remote, check_name, is_unreachable, parse_ref, remote_error, store_errors

if TYPE_CHECKING:
    from obstore.store import ObjectStore

JOBS = 8  # objects moved at once
PART_SIZE = 8 << 20  # multipart chunk size of an upload
PART_CONCURRENCY = 4  # chunks of one object uploaded at once
DOWNLOAD_CHUNK = 256 << 10  # bytes hashed and written at a time (they stay in the CPU cache between the two)
_HEX = re.compile(r"^[0-9a-f]{64}$")
SUMMARY_FORMAT = "demoseed-summary-1"
LS_JOBS = 32  # summaries (or manifests) read at once by ls
T = TypeVar("T")
R = TypeVar("R")


def object_key(hexdigest: str) -> str:
    return f"objects/sha256/{hexdigest}"


def manifest_key(name: str) -> str:
    return f"snapshots/{name}/{MANIFEST_NAME}"


def summary_key(name: str) -> str:
    return f"snapshots/{name}/summary.json"


def sig_key(name: str, manifest: bytes) -> str:
    """The signature of one manifest published under one name (two pushes racing for the name write two)."""
    return f"snapshots/{name}/signatures/{hashlib.sha256(manifest).hexdigest()}.sig"


@dataclass(frozen=True)
class FileRef:
    """One file of a snapshot as its manifest lists it."""

    table: str
    path: str
    sha256: str
    size: int | None


def manifest_files(manifest: bytes, where: str) -> tuple[dict[str, Any], list[FileRef]]:
    """The manifest's document and every file it lists (names and hashes checked before any is used)."""
    if len(manifest) > MAX_MANIFEST_BYTES:
        raise IntegrityError(f"{where}: the manifest is {len(manifest)} bytes; a manifest is far smaller, refusing it")
    try:
        doc: Any = json.loads(manifest.decode("utf-8"))
        tables = doc["tables"]
        files = []
        for table, entry in tables.items():
            for f in entry.get("parts") or [entry]:
                size = f.get("bytes")
                files.append(FileRef(str(table), str(f["file"]), str(f["sha256"]), None if size is None else int(size)))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        raise IntegrityError(f"{where}: the manifest has no readable table list; refusing it") from None
    for f in files:
        if not _LISTABLE.match(f.path) or not f.path.startswith(f.table) or not _HEX.match(f.sha256):
            raise IntegrityError(f"{where}: the manifest lists {f.path!r} ({f.sha256[:16]}...), not a snapshot file")
        if f.size is not None and f.size < 0:
            raise IntegrityError(f"{where}: the manifest gives {f.path} a negative size")
    return doc, files


def _parallel(fn: Callable[[T], R], items: Iterable[T], jobs: int = JOBS) -> list[R]:
    items = list(items)
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(jobs, len(items)), thread_name_prefix="demoseed-remote") as pool:
        return list(pool.map(fn, items))


def _get(store: ObjectStore, remote: Remote, key: str) -> tuple[bytes, str | None] | None:
    """An object's bytes and ETag, or None when there is none."""
    import obstore
    import obstore.exceptions as oe

    try:
        result = obstore.get(store, key)
        return bytes(result.bytes()), result.meta.get("e_tag")
    except (oe.NotFoundError, FileNotFoundError):  # obstore raises the builtin one
        return None
    except store_errors() as exc:
        raise remote_error(exc, remote, f"reading {key}") from None


def _missing_name(store: ObjectStore, remote: Remote, name: str) -> UserError:
    """Why REMOTE/NAME has no manifest: a bucket that does not exist, or no such snapshot."""
    import obstore
    import obstore.exceptions as oe

    if remote.read_only:  # a static host cannot be listed
        return UserError(f"no snapshot {name!r} at {remote.url} (it serves no {manifest_key(name)})")
    try:
        obstore.list_with_delimiter(store, "snapshots/")
    except store_errors() as exc:
        if "NoSuchBucket" in str(exc) or isinstance(exc, oe.NotFoundError | FileNotFoundError):
            return UserError(f"{remote.url}: the bucket does not exist; create it or check the URL")
        return remote_error(exc, remote, "listing snapshots")
    return UserError(f"no snapshot {name!r} in {remote.url}; 'demoseed ls {remote.url}' lists the names there")


# ---------------------------------------------------------------------------------------------- push


@dataclass
class PushResult:
    ref: str
    uploaded: int = 0
    uploaded_bytes: int = 0
    present: int = 0
    signer: Signer | None = None
    unchanged: bool = False
    replaced: bool = False


def push(
    snapshot_dir: Path,
    remote: Remote,
    *,
    name: str | None = None,
    force: bool = False,
    key: Path | None = None,
    unsigned: bool = False,
    jobs: int = JOBS,
) -> PushResult:
    """Push a snapshot directory to ``remote`` as ``name`` (default: the directory's name)."""
    if remote.read_only:
        raise UserError(
            f"{remote.url} is read only (an https remote serves pushed snapshots); push to s3://, gs://, az:// or file://"
        )
    name = check_name(name or snapshot_dir.resolve().name)
    manifest, doc, files = _local_manifest(snapshot_dir)
    key_path = None if unsigned else find_signing_key(key)
    store = remote.open(create=True)
    result = PushResult(remote.ref(name))

    existing = _get(store, remote, manifest_key(name))
    if existing is not None and existing[0] == manifest:  # published already, with every object: nothing to send
        return _already_pushed(store, remote, name, manifest, files, result)
    if existing is not None and not force:
        raise UserError(_taken(remote, name, existing[0]))
    _check_snapshot_id(snapshot_dir, doc)
    sig = sign(manifest, key_path) if key_path is not None else None
    result.signer = read_signer(sig) if sig else None

    unique: dict[str, FileRef] = {f.sha256: f for f in files}
    todo = _missing_objects(store, remote, unique, jobs)
    result.present = len(unique) - len(todo)
    sizes = _parallel(lambda h: _upload(store, remote, snapshot_dir, unique[h]), todo, jobs)
    result.uploaded, result.uploaded_bytes = len(todo), sum(sizes)
    if _publish(store, remote, name, manifest, sig, existing, result):
        _write_summary(store, remote, name, manifest, sig)
    return result


def _local_manifest(snapshot_dir: Path) -> tuple[bytes, dict[str, Any], list[FileRef]]:
    """The snapshot's manifest bytes, parsed, and the files it lists; a clear error for a path that is
    no snapshot, before any request."""
    read_manifest(snapshot_dir)
    manifest = (snapshot_dir / MANIFEST_NAME).read_bytes()
    doc, files = manifest_files(manifest, str(snapshot_dir))
    return manifest, doc, files


def _already_pushed(
    store: ObjectStore, remote: Remote, name: str, manifest: bytes, files: list[FileRef], result: PushResult
) -> PushResult:
    """The result of a push whose exact manifest the remote holds: its signer read back, the summary
    written for a name pushed before summaries were."""
    result.unchanged = True
    result.present = len({f.sha256 for f in files})
    sig_there = _get(store, remote, sig_key(name, manifest))
    result.signer = read_signer(sig_there[0]) if sig_there else None
    if _get(store, remote, summary_key(name)) is None:
        _write_summary(store, remote, name, manifest, sig_there[0] if sig_there else None)
    return result


def _check_snapshot_id(snapshot_dir: Path, doc: dict[str, Any]) -> None:
    if doc.get("snapshot_id") != snapshot_id(doc):
        raise IntegrityError(
            f"snapshot {snapshot_dir} failed verification: manifest: snapshot_id does not match its contents "
            "(the manifest was edited); nothing was pushed"
        )


def _missing_objects(store: ObjectStore, remote: Remote, unique: dict[str, FileRef], jobs: int) -> list[str]:
    """The hashes among ``unique`` the remote lacks (or holds at another size): a HEAD each, ``jobs`` at once."""
    import obstore
    import obstore.exceptions as oe

    def present(hexdigest: str) -> bool:
        try:
            meta = obstore.head(store, object_key(hexdigest))
        except (oe.NotFoundError, FileNotFoundError):  # obstore raises the builtin one
            return False
        except store_errors() as exc:
            raise remote_error(exc, remote, "checking objects") from None
        return unique[hexdigest].size is None or int(meta["size"]) == unique[hexdigest].size

    there = dict(zip(unique, _parallel(present, unique, jobs), strict=True))
    return [h for h, ok in there.items() if not ok]


def _upload(store: ObjectStore, remote: Remote, snapshot_dir: Path, entry: FileRef) -> int:
    """Hash the file (the bytes must be those the manifest lists), then upload it under its hash."""
    import obstore

    path = snapshot_dir / entry.path
    try:
        size, digest = path.stat().st_size, file_sha256(path)
    except FileNotFoundError:
        raise IntegrityError(_unpushable(snapshot_dir, entry, "file is missing")) from None
    if digest != entry.sha256 or (entry.size is not None and size != entry.size):
        raise IntegrityError(
            _unpushable(snapshot_dir, entry, "sha256 of the file differs from the manifest (the file was changed)")
        )
    try:
        obstore.put(store, object_key(entry.sha256), path, chunk_size=PART_SIZE, max_concurrency=PART_CONCURRENCY)
    except store_errors() as exc:
        raise remote_error(exc, remote, f"uploading {entry.path}") from None
    return size


def _publish(
    store: ObjectStore,
    remote: Remote,
    name: str,
    manifest: bytes,
    sig: bytes | None,
    existing: tuple[bytes, str | None] | None,
    result: PushResult,
) -> bool:
    """Write the signature, then the manifest: created only if absent, or replacing ``existing`` only if
    unchanged since it was read. False when another push published this same manifest first."""
    import obstore
    import obstore.exceptions as oe

    try:
        if sig is not None:
            obstore.put(store, sig_key(name, manifest), sig)
        if existing is None:
            obstore.put(store, manifest_key(name), manifest, mode="create")
        else:
            _drop_summary(store, name)  # a push killed after the replacement leaves no summary of the old one
            _replace(store, remote, name, manifest, existing[1])
            result.replaced = True
    except (oe.AlreadyExistsError, FileExistsError):
        now = _get(store, remote, manifest_key(name))
        if now is None or now[0] != manifest:
            raise UserError(
                f"another push published {remote.ref(name)} first; "
                + (_taken(remote, name, now[0]) if now else "run again")
            ) from None
        result.unchanged = True
        return False
    except store_errors() as exc:
        raise remote_error(exc, remote, f"publishing {manifest_key(name)}") from None
    return True


def summary_of(manifest: bytes, sig: bytes | None) -> bytes:
    """The summary object of a manifest: the columns ``ls`` shows (as :func:`describe_manifest` reads
    them), the manifest's sha256 and the signature file's text."""
    fields = describe_manifest(manifest)
    doc = {
        "format": SUMMARY_FORMAT,
        "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
        "signature": sig.decode("utf-8") if sig is not None else None,
        **fields,
    }
    return json.dumps(doc, sort_keys=True).encode()


def _write_summary(store: ObjectStore, remote: Remote, name: str, manifest: bytes, sig: bytes | None) -> None:
    """Write the summary of a just-published manifest, then read the manifest back: if another push replaced
    it meanwhile, the summary may be of the wrong one and is removed (``ls`` then reads the manifest). Best
    effort: the snapshot is published either way, and a missing summary only makes ``ls`` slower."""
    import obstore

    failures: tuple[type[Exception], ...] = (UserError, *store_errors())
    try:
        obstore.put(store, summary_key(name), summary_of(manifest, sig))
        now = _get(store, remote, manifest_key(name))
        if now is None or now[0] != manifest:
            _drop_summary(store, name)
    except failures:
        with contextlib.suppress(*store_errors()):
            _drop_summary(store, name)


def _drop_summary(store: ObjectStore, name: str) -> None:
    import obstore
    import obstore.exceptions as oe

    with contextlib.suppress(oe.NotFoundError, FileNotFoundError):
        obstore.delete(store, summary_key(name))


def _unpushable(snapshot_dir: Path, entry: FileRef, problem: str) -> str:
    return f"snapshot {snapshot_dir} failed verification: {entry.path}: {problem}; nothing was published"


def _replace(store: ObjectStore, remote: Remote, name: str, manifest: bytes, etag: str | None) -> None:
    import obstore
    import obstore.exceptions as oe

    try:
        obstore.put(store, manifest_key(name), manifest, mode={"e_tag": etag})
    except oe.PreconditionError:
        raise UserError(f"{remote.ref(name)} changed while it was being replaced; run the push again") from None
    except (oe.NotSupportedError, NotImplementedError):
        if remote.scheme != "file":  # a directory: no versions, the replacement is a plain atomic write
            raise
        obstore.put(store, manifest_key(name), manifest)


def _taken(remote: Remote, name: str, other: bytes) -> str:
    try:
        other_id = str(json.loads(other).get("snapshot_id", "?"))
    except (ValueError, AttributeError):
        other_id = "?"
    return (
        f"{remote.ref(name)} already holds a different snapshot (id {other_id}); push it under another name "
        "(--name) or pass --force to replace it"
    )


# ---------------------------------------------------------------------------------------------- pull


@dataclass
class PullResult:
    target: Path
    downloaded: int = 0
    downloaded_bytes: int = 0
    cached: int = 0
    signer: Signer | None = None
    offline: bool = False
    unchanged: bool = False
    tables: list[str] = field(default_factory=list)


def read_remote_manifest(
    remote: Remote, name: str, trust_file: Path | None
) -> tuple[bytes, bytes | None, Signer | None, bool, ObjectStore | None]:
    """The manifest of REMOTE/NAME and its signature (checked against the trust file); from the cache of
    the last pull when the remote cannot be reached. Returns (manifest, sig, signer, offline, store)."""
    trust = load_trust(trust_file)
    store: ObjectStore | None = None
    offline = False
    try:
        store = remote.open()
        got = _get(store, remote, manifest_key(name))
        if got is None:
            raise _missing_name(store, remote, name)
        manifest = got[0]
        sig_got = _get(store, remote, sig_key(name, manifest))
        sig = sig_got[0] if sig_got else None
    except UserError as exc:
        cached = cache.cached_ref(remote.url, name)
        if cached is None or not _unreachable(exc):
            raise
        manifest, sig = cached
        offline = True
    signer = check_signature(manifest, sig, trust, remote.ref(name))
    return manifest, sig, signer, offline, store


def _unreachable(exc: UserError) -> bool:
    return str(exc).startswith("cannot reach ") or (exc.__cause__ is not None and is_unreachable(exc.__cause__))


def pull(
    ref: str,
    dest: Path,
    *,
    tables: list[str] | None = None,
    force: bool = False,
    trust_file: Path | None = None,
    jobs: int = JOBS,
    target: Path | None = None,
) -> PullResult:
    """Pull REMOTE/NAME into ``dest/NAME`` (or ``target``); ``tables``: only those tables' files."""
    remote, name = parse_ref(ref)
    got = read_remote_manifest(remote, name, trust_file)
    return _pull_manifest(remote, name, got, dest, tables=tables, force=force, jobs=jobs, target=target)


def _pull_manifest(
    remote: Remote,
    name: str,
    got: tuple[bytes, bytes | None, Signer | None, bool, ObjectStore | None],
    dest: Path,
    *,
    tables: list[str] | None,
    force: bool,
    jobs: int,
    target: Path | None,
) -> PullResult:
    """:func:`pull` of a manifest already read by :func:`read_remote_manifest`."""
    manifest, sig, signer, offline, store = got
    doc, files = manifest_files(manifest, remote.ref(name))
    if tables:
        unknown = sorted(set(tables) - set(doc["tables"]))
        if unknown:
            raise UserError(
                f"{remote.ref(name)} has no table {unknown[0]!r}; its tables: {', '.join(sorted(doc['tables']))}"
            )
        files = [f for f in files if f.table in tables]
    target = target or dest / name
    result = PullResult(target, signer=signer, offline=offline, tables=sorted({f.table for f in files}))
    if target.exists():
        current = target / MANIFEST_NAME
        same = current.is_file() and current.read_bytes() == manifest
        if same and all((target / f.path).is_file() for f in files) and not force:
            result.unchanged = True
            return result
        if not force and not same:  # the same manifest (a partial pull being completed) is rebuilt whole
            raise UserError(
                f"{target} already exists and holds another snapshot; remove it or pass --force to replace it"
            )

    if problem := write_problem(target):  # before any download, as unpack does
        raise UserError(f"cannot pull into {target.parent}: {problem}; give a folder you can write to (-d)")
    _fill_cache(result, remote, name, store, files, jobs)
    _materialize(target, manifest, files, partial=bool(tables))
    cache.save_ref(remote.url, name, manifest, sig)
    return result


def _fill_cache(
    result: PullResult, remote: Remote, name: str, store: ObjectStore | None, files: list[FileRef], jobs: int
) -> None:
    """Every object the files need in the cache: cached ones re-hashed (a changed one is fetched again),
    the rest downloaded (largest first, so the last downloads are short ones) and hashed as they arrive."""
    need = {f.sha256: f for f in files}
    cached = [h for h, f in need.items() if _cached_size_ok(h, f.size)]
    digests = dict(zip(cached, files_sha256([cache.object_path(h) for h in cached]), strict=True)) if cached else {}
    for h in cached:
        if digests[h] != h:  # a cached object changed on disk: dropped and fetched again
            cache.object_path(h).unlink(missing_ok=True)
    todo = sorted((h for h in need if digests.get(h) != h), key=lambda h: -(need[h].size or 0))
    result.cached = len(need) - len(todo)
    if todo and store is None:
        raise UserError(
            f"cannot reach {remote.url}, and the cache lacks {len(todo)} of the files of {name}; "
            "run the pull again when the remote can be reached"
        )
    if todo:
        assert store is not None
        objects = cache.object_path(todo[0]).parent
        objects.mkdir(parents=True, exist_ok=True)
        remove_stale_leftovers(objects)  # what killed pulls left (once, not a scan per object)
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="demoseed-fsync") as syncs:
            finishing: list[Future[None]] = []

            def fetch(h: str) -> int:
                n, tmp = _download(store, remote, h, need[h].size)
                finishing.append(syncs.submit(_into_cache, tmp, cache.object_path(h)))
                return n

            try:
                sizes = _parallel(fetch, todo, jobs)
            finally:
                wait(finishing)  # no rename still running when the pull ends, however it ends
            for future in finishing:  # every verified object on disk under its name (or the first error)
                future.result()
        fsync_dir(objects)
        result.downloaded, result.downloaded_bytes = len(todo), sum(sizes)


def _cached_size_ok(hexdigest: str, size: int | None) -> bool:
    try:
        st = cache.object_path(hexdigest).stat()
    except OSError:
        return False
    return size is None or st.st_size == size


def _download(store: ObjectStore, remote: Remote, hexdigest: str, size: int | None) -> tuple[int, Path]:
    """Fetch one object into a temporary file beside its place in the cache, hashed as it arrives; returns
    its size and the temporary file, which holds exactly the manifest's bytes (else it is removed and the
    pull fails). :func:`_into_cache` then puts it in place, on another thread, while the next one arrives."""
    import obstore
    import obstore.exceptions as oe

    final = cache.object_path(hexdigest)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")  # the name remove_stale_leftovers knows
    digest = hashlib.sha256()
    n = 0
    try:
        with open(tmp, "wb") as out:
            result = obstore.get(store, object_key(hexdigest))
            for chunk in result.stream(min_chunk_size=DOWNLOAD_CHUNK):
                view = memoryview(chunk)
                n += len(view)
                if size is not None and n > size:
                    break
                digest.update(view)
                out.write(view)
        if digest.hexdigest() != hexdigest or (size is not None and n != size):
            raise IntegrityError(
                f"{remote.url}: object {hexdigest[:16]}... does not match its sha256 or size in the manifest "
                "(tampered or truncated); refusing it (nothing was written)"
            )
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, oe.NotFoundError | FileNotFoundError):  # obstore raises the builtin one
            raise IntegrityError(
                f"{remote.url}: object {hexdigest[:16]}... the manifest lists is missing; push the snapshot again"
            ) from None
        if isinstance(exc, store_errors()):
            raise remote_error(exc, remote, f"downloading object {hexdigest[:16]}...") from None
        raise
    return n, tmp


def _into_cache(tmp: Path, final: Path) -> None:
    """fsync a verified object, then rename it to its name: the cache never holds a wrong or partly
    written object under a hash, even after a crash."""
    try:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _materialize(target: Path, manifest: bytes, files: list[FileRef], *, partial: bool) -> None:
    """Build the snapshot from the cache in a temporary directory, verify it, rename it into place."""
    try:
        with atomic_directory(target) as tmp:
            for f in files:
                path = tmp / f.path
                path.parent.mkdir(exist_ok=True)
                source = cache.object_path(f.sha256)
                try:
                    os.link(source, path)  # the cache's verified bytes, no copy (same file system)
                except OSError:
                    with atomic_target(path) as out:
                        shutil.copyfile(source, out)
            atomic_write_bytes(tmp / MANIFEST_NAME, manifest)
            if not partial:  # every file was hashed into the cache: its size, no file unlisted, the id
                verify_files(tmp, known={f.path: f.sha256 for f in files})
    except IntegrityError as exc:
        raise IntegrityError(f"{exc} (nothing was written to {target})") from None


def pull_for_reading(ref: str) -> Path:
    """REMOTE/NAME as a local snapshot directory in the cache, for load/describe/report/verify."""
    remote, name = parse_ref(ref)
    got = read_remote_manifest(remote, name, None)  # read once: it names the directory and is what is pulled
    parent = cache.snapshot_parent(got[0])
    result = _pull_manifest(remote, name, got, parent, tables=None, force=False, jobs=JOBS, target=None)
    if result.downloaded:
        print(
            f"pulled {ref}: {result.downloaded} files ({result.downloaded_bytes / 1e6:,.1f} MB) into {result.target}",
            file=sys.stderr,
        )
    return result.target


# ------------------------------------------------------------------------------------------------ ls


def list_remote(
    remote: Remote, trust_file: Path | None = None, *, verify: bool = False, jobs: int = LS_JOBS
) -> list[dict[str, Any]]:
    """Every snapshot in ``remote``: name, scenario, seed, size, created-by, signer, id. The signer is
    the key the signature names (``trusted``: listed in the trust file); ``verify`` also checks each
    signature against its manifest (``valid`` or ``INVALID``).

    Each name's columns come from its summary object (one small read), or from its manifest and
    signature when it has none (a snapshot pushed before summaries were written, or a push killed
    between the manifest and its summary) and always with ``verify``, which reads what a pull reads."""
    import obstore

    if remote.read_only:
        raise UserError(f"{remote.url} cannot be listed (a static https host); pull a snapshot by name")
    trust = load_trust(trust_file)
    store = remote.open()
    try:
        listing = obstore.list_with_delimiter(store, "snapshots/")
    except store_errors() as exc:
        if "NoSuchBucket" in str(exc):
            raise UserError(f"{remote.url}: the bucket does not exist; create it or check the URL") from None
        raise remote_error(exc, remote, "listing snapshots") from None
    names = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in listing["common_prefixes"])

    def fetch(name: str) -> dict[str, Any] | None:
        if not verify:
            got = _get(store, remote, summary_key(name))
            summary = _read_summary(got[0]) if got is not None else None
            if summary is not None:
                fields, sig = summary
                return _row(remote, name, fields, sig, trust, None)
        manifest = _get(store, remote, manifest_key(name))  # None: a name whose push never published (killed)
        if manifest is None:
            return None
        sig_got = _get(store, remote, sig_key(name, manifest[0]))
        sig = sig_got[0] if sig_got else None
        try:
            fields = describe_manifest(manifest[0])
        except ValueError:
            fields = {"scenario": None, "seed": None, "bytes": None, "id": None, "problem": "unreadable manifest"}
        return _row(remote, name, fields, sig, trust, manifest[0] if verify else None)

    return [row for row in _parallel(fetch, names, jobs) if row is not None]


def describe_manifest(manifest: bytes) -> dict[str, Any]:
    """The columns ``ls`` shows from a manifest: scenario, seed, bytes, id (ValueError: unreadable)."""
    try:
        doc = json.loads(manifest)
        params = doc.get("params") or {}
        request, generate = params.get("request") or {}, params.get("generate") or {}
        return {
            "scenario": request.get("scenario") or generate.get("scenario") or request.get("project"),
            "seed": request.get("seed", params.get("seed")),
            "bytes": sum(int(f.get("bytes") or 0) for e in doc["tables"].values() for f in e.get("parts") or [e]),
            "id": doc.get("snapshot_id"),
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError("unreadable manifest") from None


def _read_summary(raw: bytes) -> tuple[dict[str, Any], bytes | None] | None:
    """A summary's columns and signature text, or None when it is not one this version reads."""
    try:
        doc = json.loads(raw)
        if doc.get("format") != SUMMARY_FORMAT:
            return None
        fields = {k: doc[k] for k in ("scenario", "seed", "bytes", "id")}
        sig = doc["signature"]
        return fields, (sig.encode("utf-8") if isinstance(sig, str) else None)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _row(
    remote: Remote,
    name: str,
    fields: dict[str, Any],
    sig: bytes | None,
    trust: dict[str, str] | None,
    manifest: bytes | None,
) -> dict[str, Any]:
    """One line of ``ls``; ``manifest``: check the signature against it (``--verify``)."""
    row: dict[str, Any] = {"name": name, "ref": remote.ref(name)} | fields
    signer = read_signer(sig) if sig else None
    row["created_by"] = signer.comment if signer else None
    row["signer"] = signer.fingerprint if signer else None
    if signer is None:
        row["signature"] = "unsigned"
    elif manifest is None:  # the key the signature names, not checked: pull checks it
        row["signature"] = "signed" if trust is None else ("trusted" if signer.blob in trust else "untrusted")
    else:
        try:
            check_signature(manifest, sig, None, row["ref"])
            row["signature"] = "valid" if trust is None else ("trusted" if signer.blob in trust else "untrusted")
        except UserError:
            row["signature"] = "INVALID"
    return row
