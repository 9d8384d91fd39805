"""verify, pack and unpack against sha256sum and tar of the same files (``make bench``; asserts nothing).

Targets (issue 15): ``demoseed verify`` <= 1.5x ``sha256sum`` of the
snapshot's files; ``demoseed pack`` and ``demoseed unpack`` <= 1.5x a plain
``tar cf`` / ``tar xf`` of the same files. Every command runs in a fresh
process, the methods interleaved for ``--rounds`` rounds (best and median
printed, and the median CPU time of all its threads), with the load average;
each starts after a ``sync`` (not timed), so none pays for the writeback of
the files the one before it wrote. ``--snapshot DIR`` measures an existing
snapshot; without it a legacy snapshot of ``--prs`` PRs is made first
(``--prs 1044000`` is the issue's 1 M-PR snapshot, ~600 MB in parts, about a
minute and 3 GB to make). ``--only pack unpack`` skips verify; ``--gzip`` also
measures ``.tar.gz`` against ``tar -I 'gzip -1'`` (the level pack uses); the
1.5x target is for the plain ``.tar``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

DEMOSEED = Path(sys.executable).with_name("demoseed")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], *, cwd: Path | None = None, before: Callable[[], None] | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, all threads) of one run of ``cmd``."""
    if before:
        before()
    os.sync()  # no command pays for the writeback of the one before it (not timed)
    c0 = _children_cpu()
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=cwd, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0, _children_cpu() - c0


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
    ap.add_argument(
        "--only",
        nargs="+",
        choices=("verify", "pack", "unpack"),
        default=("verify", "pack", "unpack"),
        help="measure only these commands (each with its anchor; unpack needs pack's archives)",
    )
    ap.add_argument("--gzip", action="store_true", help="also pack to .tar.gz and unpack it (tar czf/xzf anchors)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    try:
        snap = a.snapshot
        if snap is None:
            snap = tmp / "snap"
            make_snapshot(snap, a.prs, tmp / "data")
        snap = snap.resolve()
        files = sorted(p.relative_to(snap).as_posix() for p in snap.rglob("*") if p.is_file())  # parts too
        size = sum((snap / f).stat().st_size for f in files)
        print(f"snapshot {snap}: {len(files)} files, {size / 1e6:,.0f} MB")
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        ref_tar, ref_gz = tmp / "ref.tar", tmp / "ref.tar.gz"
        ours, ours_gz = tmp / "ours.tar", tmp / "ours.tar.gz"
        dests = [tmp / "x-tar", tmp / "x-ours", tmp / "x-tar-gz", tmp / "x-ours-gz"]

        def clean(*paths: Path) -> Callable[[], None]:
            def run() -> None:
                for p in paths:
                    if p.is_dir():
                        shutil.rmtree(p)
                    elif p.exists():
                        p.unlink()
                    if p in dests:
                        p.mkdir()

            return run

        def tar_c(out: Path, *compress: str) -> Callable[[], tuple[float, float]]:
            return lambda: timed(
                ["tar", *compress, "-cf", str(out), "-C", str(snap.parent), snap.name], before=clean(out)
            )

        def tar_x(archive: Path, dest: Path) -> Callable[[], tuple[float, float]]:
            return lambda: timed(["tar", "-xf", str(archive), "-C", str(dest)], before=clean(dest))

        def pack(out: Path) -> Callable[[], tuple[float, float]]:
            return lambda: timed([str(DEMOSEED), "pack", str(snap), "-o", str(out)], before=clean(out))

        def unpack(archive: Path, dest: Path) -> Callable[[], tuple[float, float]]:
            return lambda: timed([str(DEMOSEED), "unpack", str(archive), "-d", str(dest)], before=clean(dest))

        gz1 = ("-I", "gzip -1")  # the level pack uses for .tar.gz
        methods: dict[str, Callable[[], tuple[float, float]]] = {}
        ratios: list[tuple[str, str]] = []
        if "verify" in a.only:
            methods["sha256sum of the files"] = lambda: timed(["sha256sum", *files], cwd=snap)
            methods["demoseed verify"] = lambda: timed([str(DEMOSEED), "verify", str(snap)])
            methods["demoseed verify --content"] = lambda: timed([str(DEMOSEED), "verify", "--content", str(snap)])
            ratios.append(("demoseed verify", "sha256sum of the files"))
        if "pack" in a.only:
            methods |= {"tar cf (plain)": tar_c(ref_tar), "demoseed pack": pack(ours)}
            ratios.append(("demoseed pack", "tar cf (plain)"))
        if "unpack" in a.only:
            methods |= {"tar xf (plain)": tar_x(ref_tar, dests[0]), "demoseed unpack": unpack(ours, dests[1])}
            ratios.append(("demoseed unpack", "tar xf (plain)"))
        if a.gzip and "pack" in a.only:
            methods |= {"tar cf, gzip -1": tar_c(ref_gz, *gz1), "demoseed pack .tar.gz": pack(ours_gz)}
            ratios.append(("demoseed pack .tar.gz", "tar cf, gzip -1"))
        if a.gzip and "unpack" in a.only:
            methods |= {"tar xf .tar.gz": tar_x(ref_gz, dests[2]), "demoseed unpack .tar.gz": unpack(ours_gz, dests[3])}
            ratios.append(("demoseed unpack .tar.gz", "tar xf .tar.gz"))
        if "unpack" in a.only and "pack" not in a.only:  # the archives unpack reads, made once (not timed)
            for make in (tar_c(ref_tar), pack(ours), *((tar_c(ref_gz, *gz1), pack(ours_gz)) if a.gzip else ())):
                make()
        times: dict[str, list[float]] = {m: [] for m in methods}
        cpu: dict[str, list[float]] = {m: [] for m in methods}
        for _ in range(a.rounds):
            for name, run in methods.items():
                wall, used = run()
                times[name].append(wall)
                cpu[name].append(used)
        print(f"{'method':28s} {'best':>8s} {'median':>8s} {'cpu med':>8s}   (s, {a.rounds} interleaved rounds)")
        for name, xs in times.items():
            print(f"{name:28s} {min(xs):8.2f} {statistics.median(xs):8.2f} {statistics.median(cpu[name]):8.2f}")
        sizes = {
            n: p.stat().st_size
            for n, p in (
                ("tar", ref_tar),
                ("demoseed pack", ours),
                ("tar gzip -1", ref_gz),
                ("demoseed pack .tar.gz", ours_gz),
            )
            if p.exists()
        }
        print("archive sizes: " + ", ".join(f"{n} {b / 1e6:,.0f} MB" for n, b in sizes.items()))

        def ratio(ours_name: str, anchor: str, target: float | None) -> None:
            best = min(times[ours_name]) / min(times[anchor])
            med = statistics.median(times[ours_name]) / statistics.median(times[anchor])
            used = statistics.median(cpu[ours_name]) / statistics.median(cpu[anchor])
            verdict = "no target" if target is None else f"target <= {target}x: {'met' if med <= target else 'NOT met'}"
            print(f"{ours_name} / {anchor}: best {best:.2f}x, median {med:.2f}x ({verdict}); CPU {used:.2f}x")

        for ours_name, anchor in ratios:
            ratio(ours_name, anchor, None if ".tar.gz" in ours_name else 1.5)
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
