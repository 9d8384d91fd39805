"""Benchmark `demoseed report` on a big snapshot (legacy mode, about 1,000,000 PRs).

Makes the snapshot in a temporary DEMOSEED_DATA (about 40 s on 2 cores), then
times, each in a fresh process and best of ``--repeat``:

* ``demoseed report SNAP -o page.html``          the page (the first run also bundles Vega's
                                                   JavaScript into data/work/report/: timed apart)
* ``demoseed report SNAP -o page.html --png DIR``  the page and the PNGs
* ``demoseed verify --quick SNAP``                 anchor 1: re-hash every file of the snapshot once
* ``demoseed describe SNAP``                       anchor 2: the same snapshot told as tables (one
                                                   per team; run once, it takes a minute at 5,800 teams)
* ``demoseed --version``                           process start-up, for scale

and prints the seconds and the ratios against the anchors. The report reads
the weekly tables, the manifest and a few columns of the team's rows, never
whole raw tables, so its time hardly grows with the snapshot.

    .venv/bin/python bench/bench_report.py
    .venv/bin/python bench/bench_report.py --teams 100 --members 5 --prs 100   # a small one, seconds
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEMOSEED = str(Path(sys.executable).with_name("demoseed"))


def run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([DEMOSEED, *args], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def best(args: list[str], env: dict[str, str], repeat: int) -> float:
    return min(run(args, env) for _ in range(repeat))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teams", type=int, default=5800)
    ap.add_argument("--members", type=int, default=6)
    ap.add_argument("--prs", type=int, default=180, help="PRs per team")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the temporary data directory (printed)")
    opts = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="demoseed-bench-report-"))
    env = {**os.environ, "DEMOSEED_DATA": str(root)}
    try:
        size = ["--teams", str(opts.teams), "--members", str(opts.members), "--prs", str(opts.prs)]
        made = run(["snapshot", *size, "--no-github"], env)
        (snap,) = (root / "snapshots").iterdir()
        manifest = json.loads((snap / "manifest.json").read_text())
        prs = manifest["tables"]["metrics_pullrequest"]["rows"]
        rows = sum(t["rows"] for t in manifest["tables"].values())
        mb = sum(p.stat().st_size for p in snap.iterdir()) / 1e6
        print(f"snapshot: {snap.name}: {prs:,} PRs, {rows:,} rows in all tables, {mb:.0f} MB, made in {made:.1f} s")

        page, pngs = root / "page.html", root / "png"
        first = run(["report", str(snap), "-o", str(page)], env)
        report = best(["report", str(snap), "-o", str(page)], env, opts.repeat)
        with_png = best(["report", str(snap), "-o", str(page), "--png", str(pngs)], env, opts.repeat)
        verify = best(["verify", "--quick", str(snap)], env, opts.repeat)
        describe = run(["describe", str(snap)], env)
        startup = best(["--version"], env, opts.repeat)

        def line(what: str, secs: float) -> None:
            print(f"{what:<38}{secs:7.2f} s  {secs / verify:6.2f}x verify --quick  {secs / describe:6.3f}x describe")

        line("demoseed --version (start-up)", startup)
        line("demoseed verify --quick (anchor 1)", verify)
        line("demoseed describe (anchor 2, one run)", describe)
        line("demoseed report, first run (bundles)", first)
        line("demoseed report", report)
        line("demoseed report --png", with_png)
        print(f"page {page.stat().st_size / 1e6:.2f} MB, {len(list(pngs.iterdir()))} PNGs (best of {opts.repeat})")
    finally:
        if opts.keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root)


if __name__ == "__main__":
    main()
