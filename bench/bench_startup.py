"""Start-up of the ``demoseed`` command (``make bench``; prints figures, asserts nothing).

Each command runs ``--runs`` times in a fresh process through the installed
console script, after one warm-up run (hyperfine's method: min, median,
mean ± sd). Targets (issue 15): ``--help``, ``--version``, ``scenarios``,
``projects`` <= 0.15 s; a default ``demoseed snapshot`` of an unchanged
snapshot <= 0.3 s, a fresh one (new data root each run) <= 0.5 s. Then the
heaviest imports of ``--version`` and of the unchanged snapshot, from
``python -X importtime``, and which of polars/pyarrow/duckdb/numpy/rich/httpx
each command loads (``verify`` reads no rows: none). The fresh snapshot also
runs with the start-up tuning of ``pipeline/base/tuning.py`` off, in
alternating pairs with it on. The load average is printed with the figures (2 shared
cores: compare within one run). Child processes run without
PYTHONDONTWRITEBYTECODE, so the warm-up leaves the .pyc files a user's
installation has.
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

ROOT = Path(__file__).resolve().parents[1]
DEMOSEED = Path(sys.executable).with_name("demoseed")
HEAVY = ("polars", "pyarrow", "duckdb", "numpy", "rich", "httpx")


def timed(cmd: list[str], env: dict[str, str], before: Callable[[], None] | None = None) -> float:
    if before:
        before()
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def series(
    label: str, cmd: list[str], env: dict[str, str], runs: int, target: float, before: Callable[[], None] | None = None
) -> None:
    timed(cmd, env, before)  # warm-up (page cache, .pyc)
    xs = [timed(cmd, env, before) for _ in range(runs)]
    med = statistics.median(xs)
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    verdict = "met" if med <= target else "NOT met"
    print(
        f"{label:34s} min {min(xs):.3f}  median {med:.3f}  mean {statistics.mean(xs):.3f} ± {sd:.3f} s"
        f"  (target <= {target:.2f} s: {verdict}, ratio {med / target:.2f})"
    )


LIBRARIES = "import click, numpy, pyarrow, pyarrow.compute, pyarrow.parquet, polars"


def libraries_floor(snap: list[str], env: dict[str, str], runs: int, before: Callable[[], None]) -> None:
    """A fresh snapshot against importing the libraries it runs on, in pairs (the same machine state).

    No tool built on numpy, pyarrow and polars starts faster than importing them, and that floor
    moves with the machine (0.35-0.55 s on the 2-core VM from one hour to the next): the
    difference is what demoseed adds (its own modules, the generation, the aggregation, the writes).
    """
    libs: list[float] = []
    fresh: list[float] = []
    timed([sys.executable, "-c", LIBRARIES], env)
    for _ in range(runs):
        libs.append(timed([sys.executable, "-c", LIBRARIES], env))
        fresh.append(timed(snap, env, before))
    lm, fm = statistics.median(libs), statistics.median(fresh)
    print(
        f"{'import of its libraries (floor)':34s} min {min(libs):.3f}  median {lm:.3f} s; fresh snapshot in the same "
        f"pairs: median {fm:.3f} s = floor x {fm / lm:.2f}, floor + {fm - lm:.3f} s"
    )


# the console script's main(), with pipeline/base/tuning.py's start-up tuning, and with it off
TUNED = "import sys; from pipeline.entry import main; sys.argv[0] = 'demoseed'; sys.exit(main())"
UNTUNED = (
    "import sys; import pipeline.base.tuning as t; t.start_command = t.end_command = lambda: None; "
    "from pipeline.entry import main; sys.argv[0] = 'demoseed'; sys.exit(main())"
)


def gc_tuning(env: dict[str, str], runs: int, before: Callable[[], None]) -> None:
    """A fresh snapshot with the start-up tuning (the collector's threshold, the freeze at the end) and
    without it, in alternating pairs: the tuning stays only while it saves a tenth of the time or more."""
    cmds = {k: [sys.executable, "-c", code, "snapshot"] for k, code in (("tuned", TUNED), ("untuned", UNTUNED))}
    xs: dict[str, list[float]] = {"tuned": [], "untuned": []}
    for k in cmds:
        timed(cmds[k], env, before)  # warm-up
    for i in range(runs):
        for k in ("tuned", "untuned") if i % 2 == 0 else ("untuned", "tuned"):
            xs[k].append(timed(cmds[k], env, before))
    t, u = statistics.median(xs["tuned"]), statistics.median(xs["untuned"])
    print(
        f"{'fresh snapshot, gc tuning on / off':34s} median {t:.3f} / {u:.3f} s = {t / u:.2f}x "
        f"(pipeline/base/tuning.py; kept while <= 0.90x)"
    )


def imports(args: list[str], env: dict[str, str], top: int) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pipeline", *args], env=env, capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name[1:]))  # nested imports keep their indent
    loaded = sorted({n.strip().split(".")[0] for _, n in rows} & set(HEAVY))
    total = sum(c for c, n in rows if not n.startswith(" "))
    print(
        f"  imports of 'demoseed {' '.join(args)}': {total / 1e6:.3f} s in all; heavy modules loaded: {loaded or 'none'}"
    )
    for cumulative, name in sorted(rows, reverse=True)[:top]:
        print(f"    {cumulative / 1e6:.3f} s  {name.strip()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--top", type=int, default=8, help="heaviest imports to list")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    env = {**os.environ, "DEMOSEED_DATA": str(tmp / "data")}
    env.pop("GITHUB_TOKEN", None)
    env.pop("GH_TOKEN", None)
    # The warm-up run writes the project's .pyc files, as a user's first run does; with
    # PYTHONDONTWRITEBYTECODE set it could not, and every run would compile ~100 modules again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
        series("python -c pass (the floor)", [sys.executable, "-c", "pass"], env, a.runs, 0.15)
        for args in (["--help"], ["--version"], ["scenarios"], ["projects"]):
            series(f"demoseed {' '.join(args)}", [str(DEMOSEED), *args], env, a.runs, 0.15)
        snap = [str(DEMOSEED), "snapshot"]
        subprocess.run(snap, check=True, env=env, stdout=subprocess.DEVNULL)
        series("demoseed snapshot (unchanged)", snap, env, a.runs, 0.30)

        def fresh_root() -> None:
            shutil.rmtree(tmp / "fresh", ignore_errors=True)

        fresh_env = {**env, "DEMOSEED_DATA": str(tmp / "fresh")}
        series("demoseed snapshot (fresh data root)", snap, fresh_env, max(3, a.runs // 2), 0.50, fresh_root)
        libraries_floor(snap, fresh_env, max(3, a.runs // 2), fresh_root)
        gc_tuning(fresh_env, max(4, a.runs), fresh_root)
        print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
        imports(["--version"], env, a.top)
        imports(["snapshot"], env, a.top)
        imports(["verify", str(tmp / "data" / "snapshots" / "ai-success-seed42")], env, a.top)
        fresh_root()
        imports(["snapshot"], fresh_env, a.top)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
