"""Fetch on a dead network (issue 12, point 5), against real sockets on 127.0.0.1.

A refused connection, an unknown host and an invalid URL are not transient:
the run stops at once with one :class:`Unreachable` naming the URL, without a
single retry or wait (checked on the fake clock, which records every sleep).
A server that accepts and never answers is cut off by the per-request
deadline (tiny timeouts here, so nothing waits long; no timed assertions).
Timings with the real timeouts are in bench/bench_fetch_deadnet.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.base.errors import UserError
from stages.fetch import Options, fetch_async
from stages.fetch.errors import Unreachable
from stages.fetch.transport import RetryPolicy, Timeouts
from tests.fake_github.clock import FakeClock

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

REPOS = ["acme/widgets", "acme/gadgets", "octo/tiny"]
TOKEN = "ghp_deadnet_test"
QUICK = Timeouts(connect=0.5, deadline=0.5)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent() -> Iterator[str]:
    """A server that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def _fetch(api_url: str, raw: Path, clock: FakeClock, *, token: str | None = TOKEN, **opts: object) -> object:
    options = Options(timeouts=QUICK, retry=RetryPolicy(attempts=6), **opts)
    return asyncio.run(fetch_async(REPOS, raw_dir=raw, token=token, api_url=api_url, options=options, clock=clock))


@pytest.mark.parametrize("token", [TOKEN, None], ids=["graphql", "rest"])
def test_refused_connection_stops_the_run_at_once(tmp_path, token):
    url = f"http://127.0.0.1:{closed_port()}"
    clock = FakeClock()
    with pytest.raises(Unreachable) as caught:
        _fetch(url, tmp_path, clock, token=token)
    assert str(caught.value) == (
        f"cannot reach the GitHub API at {url}: connection refused; check GITHUB_API_URL (or --api-url) and the network"
    )
    assert isinstance(caught.value, UserError)
    assert clock.sleeps == []  # no retry, no backoff
    assert not any(tmp_path.rglob("*"))  # nothing left behind for repos that never got a row


def test_unknown_host_stops_the_run_at_once(tmp_path):
    clock = FakeClock()
    with pytest.raises(Unreachable, match=r"^cannot reach the GitHub API at http://no-such-host\.invalid: "):
        _fetch("http://no-such-host.invalid", tmp_path, clock)
    assert clock.sleeps == []


@pytest.mark.parametrize("url", ["not-a-url", "ftp://example.com", "http://", "api.github.com", "http://[::1"])
def test_an_invalid_url_is_refused_before_anything_is_sent(tmp_path, url):
    with pytest.raises(Unreachable) as caught:
        _fetch(url, tmp_path, FakeClock())
    assert str(caught.value) == (
        f"the GitHub API URL {url!r} is not an http(s) URL; "
        "set GITHUB_API_URL (or --api-url) to one like https://api.github.com"
    )


def test_a_server_that_never_answers_is_cut_off_by_the_deadline(tmp_path, silent):
    clock = FakeClock()
    with pytest.raises(Unreachable) as caught:
        _fetch(silent, tmp_path, clock, concurrency=1)
    assert str(caught.value) == (
        f"cannot reach the GitHub API at {silent}: no answer within 0.5s (the connection was accepted); "
        "check GITHUB_API_URL (or --api-url) and the network"
    )
    assert clock.sleeps == []  # the first silence ends the run: the next repos do not try again


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    demoseed = Path(sys.executable).with_name("demoseed")
    return subprocess.run([str(demoseed), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def _env(tmp_path: Path, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_", "DEMOSEED_"))}
    return {**env, "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": api_url, "DEMOSEED_DATA": str(tmp_path / "data")}


@pytest.mark.parametrize("api_url", ["dead-port", "not-a-url"])
def test_fetch_command_says_one_line(tmp_path, api_url):
    url = f"http://127.0.0.1:{closed_port()}" if api_url == "dead-port" else api_url
    done = _cli(["fetch", "--repo", "acme/widgets", "--repo", "octo/tiny"], _env(tmp_path, url), tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and repr(url)[1:-1] in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_snapshot_with_a_token_and_no_github_falls_back_to_the_cache(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    done = _cli(["snapshot", "--weeks", "2"], _env(tmp_path, url), tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"cannot reach the GitHub API at {url}: connection refused" in done.stdout
    assert "falling back to the raw cache" in done.stdout
