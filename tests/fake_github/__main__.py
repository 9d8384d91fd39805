"""Run the fake GitHub by hand: ``python -m tests.fake_github --port 8765``.

Then, in another shell::

    GITHUB_API_URL=http://127.0.0.1:8765 GITHUB_TOKEN=test-token demoseed fetch --repo acme/widgets

Real PR metadata instead of generated PRs (repo names from the records)::

    python -m tests.fake_github --port 8765 --jsonl ../shared/fixtures/*.jsonl

Without ``--fake-clock`` the fake uses the wall clock (its PRs end an hour
before it starts). Faults can be injected at start (``--fault 502_json:3``:
kind and how many times) to watch the fetcher cope.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from tests.fake_github.clock import FakeClock, RealClock
from tests.fake_github.server import FakeGitHub


def _repos(specs: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for spec in specs:
        name, _, count = spec.partition(":")
        if name.count("/") != 1:
            raise SystemExit(f"--repos {spec!r}: write owner/name[:count]")
        out[name] = int(count or 60)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fake_github", description="A fake GitHub API on 127.0.0.1.")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port (printed)")
    p.add_argument(
        "--repos",
        nargs="+",
        default=None,
        help="owner/name[:PR count] of generated PRs [acme/widgets:60 acme/gadgets:40 unless --jsonl is given]",
    )
    p.add_argument(
        "--jsonl",
        nargs="+",
        default=[],
        metavar="PATH",
        help="serve real PR metadata from JSONL files (repo from each record's 'repo'; see tests/fake_github/jsonl.py)",
    )
    p.add_argument(
        "--synthetic-reviews",
        action="store_true",
        help="with --jsonl: add deterministic reviews, marked as synthetic in their body (default: none, honest)",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    p.add_argument("--token", action="append", default=None, help="accepted token (repeatable) [test-token]")
    p.add_argument("--graphql-limit", type=int, default=5000)
    p.add_argument("--rest-anon-limit", type=int, default=60)
    p.add_argument(
        "--secondary-points-per-minute", type=int, default=2000, help="GraphQL points a user may spend in a minute"
    )
    p.add_argument("--fake-clock", action="store_true", help="frozen clock at 2026-01-05T12:00Z instead of wall time")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="pre-forked processes sharing the port, like GitHub's many servers (budgets and faults are per worker)",
    )
    p.add_argument(
        "--memoize",
        action="store_true",
        help="answer repeated GraphQL requests from memory, still charged (client benchmarks)",
    )
    p.add_argument("--short-lists", action="store_true", help="no nested list longer than a first page")
    p.add_argument("--fault", action="append", default=[], metavar="KIND[:TIMES]", help="inject a fault at start")
    args = p.parse_args(argv)
    clock = FakeClock() if args.fake_clock else RealClock()
    specs = args.repos if args.repos is not None else ([] if args.jsonl else ["acme/widgets:60", "acme/gadgets:40"])
    try:
        fake = FakeGitHub(
            _repos(specs),
            seed=args.seed,
            clock=clock,
            latency=args.latency_ms / 1000.0,
            tokens={t: i + 1 for i, t in enumerate(args.token or ["test-token"])},
            graphql_limit=args.graphql_limit,
            rest_anon_limit=args.rest_anon_limit,
            secondary_points_per_minute=args.secondary_points_per_minute,
            long_lists=not args.short_lists,
            memoize=args.memoize,
            jsonl=args.jsonl,
            synthetic_reviews=args.synthetic_reviews,
        )
    except (OSError, ValueError) as e:
        raise SystemExit(f"--jsonl: {e}") from e
    for spec in args.fault:
        kind, _, times = spec.partition(":")
        fake.inject(kind, times=int(times or 1))
    fake.bind(port=args.port)
    print(f"fake GitHub listening on {fake.url} (repos: {', '.join(fake.dataset.repos)})", flush=True)
    children = []
    for _ in range(max(0, args.workers - 1)):
        pid = os.fork()
        if pid == 0:  # a worker: serve until killed
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            fake.serve_forever()
            os._exit(0)
        children.append(pid)
    thread = threading.Thread(target=fake.serve_forever, daemon=True)
    thread.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for pid in children:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
