"""verify, pack and unpack against sha256sum and tar of the same files (``make bench``; asserts nothing).

Targets (issue 15): ``demoseed verify`` <= 1.5x ``sha256sum`` of the
snapshot's files; ``demoseed pack`` and ``demoseed unpack`` <= 1.5x a plain
``tar cf`` / ``tar xf`` of the same files. Every command runs in a fresh
process, the methods interleaved for ``--rounds`` rounds (best and median
printed), with the load average. ``--snapshot DIR`` measures an existing
snapshot; without it a legacy snapshot of ``--prs`` PRs is made first
(``--prs 1044000`` is the issue's 1 M-PR snapshot, ~500 MB, about a minute
and 3 GB to make).
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
from collections.abc import Callable
from pathlib import Path

DEMOSEED = Path(sys.executable).with_name("demoseed")


def timed(cmd: list[str], *, cwd: Path | None = None, before: Callable[[], None] | None = None) -> float:
    if before:
        before()
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=cwd, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def make_snapshot(out: Path, prs: int, data: Path) -> None:
    teams = max(1, prs // 180)
    cmd = [str(DEMOSEED), "snapshot", "--teams", str(teams), "--members", "6", "--prs", "180"]
    env = {**os.environ, "DEMOSEED_DATA": str(data)}
    subprocess.run([*cmd, "--no-github", "-o", str(out)], check=True, env=env, stdout=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--snapshot", type=Path, help="an existing snapshot directory")
    ap.add_argument("--prs", type=int, default=200_000, help="PRs of the snapshot made when --snapshot is not given")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    try:
        snap = a.snapshot
        if snap is None:
            snap = tmp / "snap"
            make_snapshot(snap, a.prs, tmp / "data")
        snap = snap.resolve()
        files = sorted(p.name for p in snap.iterdir())
        size = sum((snap / f).stat().st_size for f in files)
        print(f"snapshot {snap}: {len(files)} files, {size / 1e6:,.0f} MB")
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        ref_tar = tmp / "ref.tar"
        ours = tmp / "ours.tar"
        dest_tar, dest_ours = tmp / "x-tar", tmp / "x-ours"

        def clean(*paths: Path) -> Callable[[], None]:
            def run() -> None:
                for p in paths:
                    if p.is_dir():
                        shutil.rmtree(p)
                    elif p.exists():
                        p.unlink()
                    if p in (dest_tar, dest_ours):
                        p.mkdir()

            return run

        methods: dict[str, Callable[[], float]] = {
            "sha256sum of the files": lambda: timed(["sha256sum", *files], cwd=snap),
            "demoseed verify": lambda: timed([str(DEMOSEED), "verify", str(snap)]),
            "demoseed verify --content": lambda: timed([str(DEMOSEED), "verify", "--content", str(snap)]),
            "tar cf (plain)": lambda: timed(
                ["tar", "cf", str(ref_tar), "-C", str(snap.parent), snap.name], before=clean(ref_tar)
            ),
            "demoseed pack": lambda: timed([str(DEMOSEED), "pack", str(snap), "-o", str(ours)], before=clean(ours)),
            "tar xf (plain)": lambda: timed(["tar", "xf", str(ref_tar), "-C", str(dest_tar)], before=clean(dest_tar)),
            "demoseed unpack": lambda: timed(
                [str(DEMOSEED), "unpack", str(ours), "-d", str(dest_ours)], before=clean(dest_ours)
            ),
        }
        times: dict[str, list[float]] = {m: [] for m in methods}
        for _ in range(a.rounds):
            for name, run in methods.items():
                times[name].append(run())
        print(f"{'method':28s} {'best':>8s} {'median':>8s}   (s, {a.rounds} interleaved rounds)")
        for name, xs in times.items():
            print(f"{name:28s} {min(xs):8.2f} {statistics.median(xs):8.2f}")
        print(
            f"archive sizes: tar {ref_tar.stat().st_size / 1e6:,.0f} MB, demoseed pack {ours.stat().st_size / 1e6:,.0f} MB"
        )

        def ratio(ours_name: str, anchor: str, target: float) -> None:
            best = min(times[ours_name]) / min(times[anchor])
            med = statistics.median(times[ours_name]) / statistics.median(times[anchor])
            verdict = "met" if med <= target else "NOT met"
            print(f"{ours_name} / {anchor}: best {best:.2f}x, median {med:.2f}x (target <= {target}x: {verdict})")

        ratio("demoseed verify", "sha256sum of the files", 1.5)
        ratio("demoseed pack", "tar cf (plain)", 1.5)
        ratio("demoseed unpack", "tar xf (plain)", 1.5)
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
