"""Benchmark of snapshots in partitions of teams (issue 14; ``make bench``; prints figures, asserts nothing).

Every figure is one ``demoseed`` process (its workers included), timed from
outside; peak memory is the largest sum of the RSS of the process and its
children, sampled every 0.1 s. Ratios are against the anchor measured in the
same run: today's unpartitioned generation of the same request (one
partition: the whole dataset in one process).

1. ``--prs`` PRs (default 1,000,000): the anchor, then 1 and 2 workers: wall,
   rows/s, peak memory, speed-up, and the snapshot ids (the same for any
   number of workers).
2. ``--big N`` (e.g. 10000000): one run of N PRs with ``--workers 2``.
3. ``--load``: ``demoseed load`` of the partitioned and of the unpartitioned
   snapshot into fresh PostgreSQL databases (``$DEMOSEED_TEST_PG``, default
   the test server): wall and the loader's peak memory.

Flags: ``--skip-anchor``, ``--keep`` (keep the snapshots), ``--partition-teams N``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
PRS_PER_TEAM = 174.2  # ai-success, seed 42: PRs per team (warm-up included), 6250 teams -> 1,088,939 PRs


@dataclass
class Run:
    wall: float
    cpu: float  # user + system seconds of the process and its workers
    peak_mb: float
    manifest: dict

    @property
    def rows(self) -> int:
        return sum(int(t["rows"]) for t in self.manifest["tables"].values())

    @property
    def prs(self) -> int:
        return int(self.manifest["tables"]["metrics_pullrequest"]["rows"])


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Run ``cmd``; (wall s, CPU s of it and its workers, peak MB of the process tree's summed RSS)."""
    cpu0 = cpu_children()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.1)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    code = proc.wait()
    wall = time.perf_counter() - t0
    done.set()
    watcher.join()
    if code:
        raise SystemExit(f"{' '.join(cmd)} failed with exit status {code}")
    return wall, cpu_children() - cpu0, peak / 1e6


def snapshot(out: Path, teams: int, *extra: str) -> Run:
    cmd = [sys.executable, "-m", "pipeline.cli", "snapshot", "--teams", str(teams), "--no-github", "-o", str(out)]
    env = {**os.environ, "DEMOSEED_DATA": str(out.parent / "data")}
    wall, cpu, peak = measure([*cmd, "--force", *extra], env)
    return Run(wall, cpu, peak, json.loads((out / "manifest.json").read_text()))


def load(snap: Path, dsn: str) -> tuple[float, float, float]:
    import psycopg

    name = f"bench_scale_{snap.name}".replace("-", "_")
    admin = dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = dsn.rsplit("/", 1)[0] + f"/{name}"
        cmd = [sys.executable, "-m", "pipeline.cli", "load", str(snap), "--db-url", url, "--no-rebase-dates"]
        return measure(cmd, {**os.environ, "DEMOSEED_DATA": str(snap.parent / "data")})
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def line(label: str, run: Run, anchor: Run | None) -> str:
    ratio = f"; {anchor.wall / run.wall:.2f}x the anchor's speed" if anchor else ""
    return (
        f"{label:32s} {run.wall:6.1f} s (cpu {run.cpu:6.1f} s)  {run.rows / run.wall / 1e6:5.2f} M rows/s  "
        f"peak {run.peak_mb:6,.0f} MB  "
        f"id {run.manifest['snapshot_id']}{ratio}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prs", type=int, default=1_000_000, help="0: skip the comparison")
    ap.add_argument("--big", type=int, default=0, help="also one run of this many PRs with 2 workers")
    ap.add_argument("--partition-teams", type=int, default=None)
    ap.add_argument("--skip-anchor", action="store_true")
    ap.add_argument("--load", action="store_true")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    part = ["--partition-teams", str(a.partition_teams)] if a.partition_teams else []
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    try:
        if a.prs:
            compare(a, tmp, part)
        if a.big:
            big_teams = round(a.big / PRS_PER_TEAM)
            big = snapshot(tmp / "big", big_teams, *part, "--workers", "2")
            parts = len(big.manifest["tables"]["metrics_pullrequest"]["parts"])
            print(f"ai-success --teams {big_teams}: {big.prs:,} PRs, {big.rows:,} rows in {parts} partitions")
            print(line("big, 2 workers", big, None) + f"; peak target <= 4,000 MB: {big.peak_mb / 4000:.2f}")
    finally:
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


def compare(a: argparse.Namespace, tmp: Path, part: list[str]) -> None:
    """Section 1 (and 3): the anchor, 1 and 2 workers, the loads."""
    teams = round(a.prs / PRS_PER_TEAM)
    anchor = None
    if not a.skip_anchor:
        anchor = snapshot(tmp / "anchor", teams, "--partition-teams", str(teams))
        print(f"ai-success --teams {teams}: {anchor.prs:,} PRs, {anchor.rows:,} rows")
        print(line("anchor: unpartitioned (today)", anchor, None))
    one = snapshot(tmp / "w1", teams, *part, "--workers", "1")
    parts = len(one.manifest["tables"]["metrics_pullrequest"]["parts"])
    print(line(f"{parts} partitions, 1 worker", one, anchor))
    two = snapshot(tmp / "w2", teams, *part, "--workers", "2")
    print(line(f"{parts} partitions, 2 workers", two, anchor))
    same = one.manifest["snapshot_id"] == two.manifest["snapshot_id"]
    print(
        f"speed-up 2 workers / 1 worker: {one.wall / two.wall:.2f}x (target >= 1.7; "
        f"CPU work {two.cpu / one.cpu:.2f}x: on an idle machine about {2 * one.cpu / two.cpu:.2f}x); same id: {same}"
    )
    if a.load:
        dsn = os.environ.get("DEMOSEED_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
        if anchor is None:
            raise SystemExit("--load compares with the unpartitioned anchor: drop --skip-anchor")
        lw, lc, lp = load(tmp / "anchor", dsn)
        pw, pc, pp = load(tmp / "w2", dsn)
        print(f"load unpartitioned: {lw:6.1f} s (cpu {lc:5.1f} s), loader peak {lp:,.0f} MB")
        print(
            f"load partitioned:   {pw:6.1f} s (cpu {pc:5.1f} s), loader peak {pp:,.0f} MB "
            f"({lw / pw:.2f}x the speed, {pp / lp:.2f}x the memory)"
        )


if __name__ == "__main__":
    main()
