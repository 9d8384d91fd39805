"""Benchmark of the fetch stage against the fake GitHub (in a subprocess).

Default: 8 repos x 10 pages (250 PRs each, pages of 25), 100 ms latency per
request, concurrency 8. Prints

* wall time of a cold fetch vs the ideal (total pages x latency /
  concurrency; target <= 1.5x), also against all requests. The fake runs
  graphql-core in Python (~20 ms of CPU a page), which would dominate on a
  small machine, so the measured run repeats the same requests (``--refresh``)
  with the fake answering from memory (``--memoize``: execution skipped, but
  every request still charged and checked, rateLimit and headers fresh): what
  remains is latency + the client;
* requests per repo of a re-run with nothing changed (target <= 1);
* requests and points per 100 PRs, with short nested lists and with the
  fake's long ones (every 7th/9th/11th/13th PR needs nested paging).

    .venv/bin/python bench/bench_fetch.py [--repos 8] [--pages 10] [--latency-ms 100] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stages.fetch import fetch_repos  # noqa: E402

TOKEN = "test-token"


def start_fake(repos: dict[str, int], latency_ms: float, short: bool, workers: int) -> tuple[subprocess.Popen, str]:
    cmd = [
        sys.executable,
        "-m",
        "tests.fake_github",
        "--port",
        "0",
        "--latency-ms",
        str(latency_ms),
        "--workers",
        str(workers),
        "--graphql-limit",
        "1000000",
        "--secondary-points-per-minute",  # the bench repeats runs within a minute, at any --pages
        "1000000",
        "--memoize",
        "--repos",
        *[f"{r}:{n}" for r, n in repos.items()],
    ]
    if short:
        cmd.append("--short-lists")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"fake GitHub did not start: {line!r}")
    return proc, line.split("listening on ")[1].split()[0]


def run(repos: list[str], url: str, raw: Path, concurrency: int, refresh: bool = False):
    t0 = time.perf_counter()
    summary = fetch_repos(repos, raw_dir=raw, token=TOKEN, api_url=url, concurrency=concurrency, refresh=refresh)
    return summary, time.perf_counter() - t0


def scenario(
    n_repos: int, pages: int, latency_ms: float, concurrency: int, short: bool, workers: int, repeats: int = 3
) -> None:
    prs = pages * 25
    repos = {f"bench/repo{i}": prs for i in range(n_repos)}
    proc, url = start_fake(repos, latency_ms, short, workers)
    lat = latency_ms / 1000
    label = "short nested lists" if short else "long nested lists (paged)"
    print(f"== {n_repos} repos x {pages} pages, {latency_ms:.0f} ms latency, concurrency {concurrency}, {label}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw" / "github"
            first, wall0 = run(list(repos), url, raw, concurrency)
            assert first.ok, first.as_dict()
            print(
                f"cold fetch, fake executing every query with graphql-core: {wall0:.2f} s "
                f"(bound by the fake's CPU: ~20 ms a page on a shared machine)"
            )
            # The same requests again (--refresh): the fake answers from memory, so the time is the client's + latency.
            # Best of `repeats` (the median is printed too): the machine may be shared.
            walls = []
            for _ in range(repeats):
                cold, w = run(list(repos), url, raw, concurrency, refresh=True)
                assert cold.ok, cold.as_dict()
                walls.append(w)
            wall, median = min(walls), statistics.median(walls)
            total_prs = sum(s.prs_fetched for s in cold.repos.values())
            total_pages = sum(s.pages for s in cold.repos.values())
            ideal_req = cold.requests * lat / concurrency
            ideal_pages = total_pages * lat / concurrency
            print(
                f"cold fetch (--refresh, fake answers memoized): best {wall:.2f} s (median {median:.2f} s of {repeats}) "
                f"for {total_prs} PRs, {total_pages} pages, "
                f"{cold.requests} requests, {cold.points} points"
            )
            target = " (target <= 1.5x)" if short else " (nested paging: see the next line)"
            print(
                f"  ideal (pages x latency / concurrency)    {ideal_pages:.2f} s -> ratio {wall / ideal_pages:.2f}x{target}"
            )
            print(f"  ideal (requests x latency / concurrency) {ideal_req:.2f} s -> ratio {wall / ideal_req:.2f}x")
            print(
                f"  per 100 PRs: {100 * first.requests / total_prs:.1f} requests, {100 * first.points / total_prs:.1f} points"
            )
            warm, wall2 = run(list(repos), url, raw, concurrency)
            per_repo = max(s.requests for s in warm.repos.values())
            print(
                f"re-run, nothing changed: {wall2:.2f} s, {warm.requests} requests = {per_repo} per repo (target <= 1), "
                f"{warm.points} points; statuses {sorted({s.status for s in warm.repos.values()})}"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repos", type=int, default=8)
    p.add_argument("--pages", type=int, default=10)
    p.add_argument("--latency-ms", type=float, default=100.0)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--workers", type=int, default=1, help="fake GitHub server processes (pre-forked on one port)")
    p.add_argument("--repeats", type=int, default=3, help="measured runs per scenario (best and median shown)")
    p.add_argument("--skip-long", action="store_true", help="only the short-nested-lists run")
    a = p.parse_args()
    scenario(a.repos, a.pages, a.latency_ms, a.concurrency, short=True, workers=a.workers, repeats=a.repeats)
    if not a.skip_long:
        scenario(a.repos, a.pages, a.latency_ms, a.concurrency, short=False, workers=a.workers, repeats=1)


if __name__ == "__main__":
    main()
