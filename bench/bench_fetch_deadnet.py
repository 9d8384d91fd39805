"""How long fetch takes to give up on a dead network (issue 12, point 5).

With the default timeouts (connect 5 s, 30 s per request), three repos,
a token, prints the wall time of :func:`stages.fetch.fetch_repos` until it
raises ``Unreachable``:

* a closed port on 127.0.0.1 (connection refused; target < 2 s, was 25.5 s);
* a socket that accepts connections and never answers (bounded by the
  30 s request deadline; was ~200 s);
* ``GITHUB_API_URL=not-a-url`` (target < 2 s, was 16 s);

and the time ``demoseed snapshot`` (a subprocess, ``GITHUB_TOKEN`` set,
``GITHUB_API_URL`` at a dead port, ``DEMOSEED_DATA`` in a temp dir) takes
until it says it falls back to the raw cache (target < 5 s), and in all.

    .venv/bin/python bench/bench_fetch_deadnet.py [--skip-silent]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stages.fetch import fetch_repos  # noqa: E402
from stages.fetch.errors import Unreachable  # noqa: E402

TOKEN = "bench-token"
REPOS = ["acme/widgets", "acme/gadgets", "octo/tiny"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def time_fetch(api_url: str, raw: Path) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        fetch_repos(REPOS, raw_dir=raw, token=TOKEN, api_url=api_url)
    except Unreachable as exc:
        return time.perf_counter() - start, str(exc)
    return time.perf_counter() - start, "(no error: unexpected)"


def time_snapshot(tmp: Path) -> tuple[float | None, float, int]:
    """Seconds until the fallback line, in all, and the exit status of `demoseed snapshot`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_", "DEMOSEED_"))}
    env.update(GITHUB_TOKEN=TOKEN, GITHUB_API_URL=f"http://127.0.0.1:{closed_port()}", DEMOSEED_DATA=str(tmp))
    demoseed = Path(sys.executable).with_name("demoseed")
    tmp.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    fallback = None
    proc = subprocess.Popen(
        [str(demoseed), "snapshot"], env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if fallback is None and "falling back to the raw cache" in line:
            fallback = time.perf_counter() - start
    code = proc.wait()
    return fallback, time.perf_counter() - start, code


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-silent", action="store_true", help="skip the 30 s silent-server case")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cases = [("connection refused", f"http://127.0.0.1:{closed_port()}"), ("invalid URL", "not-a-url")]
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(64)
            if not args.skip_silent:
                cases.insert(1, ("accepts, never answers", f"http://127.0.0.1:{silent.getsockname()[1]}"))
            for name, url in cases:
                seconds, message = time_fetch(url, tmp / "raw")
                print(f"fetch, {name:<24} {seconds:7.2f} s   {message}")
        fallback, total, code = time_snapshot(tmp / "data")
        shown = "never" if fallback is None else f"{fallback:.2f} s"
        print(f"snapshot, dead port: falls back after {shown}, done in {total:.2f} s (exit {code})")


if __name__ == "__main__":
    main()
