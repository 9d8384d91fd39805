"""Benchmark of the generate stage (``make bench``; prints figures, asserts nothing).

1. Default scenario (ai-success, seed 42): wall time of ``demoseed generate``
   (generate + validate + write Parquet), best of 3 runs in fresh processes.
2. Scale: ``--teams N`` with N chosen for >= 1,000,000 PRs with all child
   tables: wall time and peak RSS of one ``demoseed generate`` process.
   Target on the 2-core development machine: <= 60 s and <= 4 GB.

Flags: ``--prs 1000000`` (scale target), ``--skip-scale``, ``--keep`` (keep output).
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRS_PER_TEAM_AI_SUCCESS = 160  # ~ a default ai-success team (5 members x ~4 PRs x 8 weeks)


def run(args: list[str], out: Path) -> tuple[float, float, dict]:
    """Run ``demoseed generate`` in a fresh process: (wall s, peak RSS MB, info.json)."""
    cmd = [sys.executable, "-m", "pipeline.cli", "generate", *args, "--no-github", "-o", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONHASHSEED": "0"})
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    info = json.loads((out / "info.json").read_text())
    return wall, max(peak, before) / 1024, info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prs", type=int, default=1_000_000, help="PRs to reach in the scale run")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    try:
        times = []
        for i in range(3):
            wall, _, info = run(["--scenario", "ai-success", "--seed", "42"], tmp / f"default{i}")
            times.append(wall)
        n = info["row_counts"]["metrics_pullrequest"]
        print(f"default scenario ai-success seed 42: {n} PRs, best {min(times):.2f}s of 3 (CLI process incl. imports)")
        sys.path.insert(0, str(ROOT))
        from pipeline.paths import DEFAULT_ANCHOR
        from stages.generate import GenerateConfig, generate

        inproc = []
        for _ in range(5):
            t0 = time.perf_counter()
            generate(GenerateConfig(anchor=DEFAULT_ANCHOR, scenario="ai-success", seed=42))
            inproc.append(time.perf_counter() - t0)
        print(f"default scenario in-process generate() incl. validation: best {min(inproc) * 1000:.0f} ms of 5")
        if a.skip_scale:
            return
        teams = -(-a.prs // PRS_PER_TEAM_AI_SUCCESS)
        wall, rss, info = run(["--scenario", "ai-success", "--teams", str(teams)], tmp / "scale")
        rows = info["row_counts"]
        total = sum(rows.values())
        print(f"scale --teams {teams}: {rows['metrics_pullrequest']:,} PRs, {total:,} rows in all tables")
        for name, count in rows.items():
            print(f"  {name:28s} {count:>12,}")
        size = sum(p.stat().st_size for p in (tmp / "scale").glob("*.parquet")) / 1e6
        print(f"scale wall time {wall:.1f}s (target <= 60s, ratio {wall / 60:.2f})")
        print(f"scale peak RSS {rss:,.0f} MB (target <= 4096 MB, ratio {rss / 4096:.2f}); Parquet {size:,.0f} MB")
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
