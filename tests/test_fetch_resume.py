"""A fetch killed at a random page and restarted ends with the same data and
refetches at most the page that was in flight."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline.base.rng import rng
from stages.fetch import Options, fetch_async
from tests.fake_github import FakeGitHub
from tests.fake_github.testing import FAST_RETRY, TOKEN, cached, diff, run_fetch, truth

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

REPOS = {"acme/widgets": 70, "acme/gadgets": 30}
PAGE_OP = "PullRequestsPage"


def _cursors(records) -> list:
    return [r.cursor for r in records if r.op == PAGE_OP and r.repo == "acme/widgets"]


def _kill_pages() -> list[int]:
    g = rng(2026, "fetch-resume", "kill-page")
    return sorted({int(x) for x in g.integers(1, 4, size=3)})  # acme/widgets has 3 pages of 25


@pytest.mark.parametrize("kill_at", _kill_pages())
def test_cancelled_at_a_random_page_resumes(tmp_path, kill_at):
    raw = tmp_path / "raw" / "github"
    with FakeGitHub(REPOS) as fake:

        async def first_run() -> None:
            loop = asyncio.get_running_loop()
            task = asyncio.ensure_future(
                fetch_async(
                    list(REPOS),
                    raw_dir=raw,
                    token=TOKEN,
                    api_url=fake.url,
                    options=Options(retry=FAST_RETRY),
                    clock=fake.clock,
                )
            )

            def hook(rec) -> None:  # runs on the server thread as page `kill_at` is asked
                if rec.op == PAGE_OP and rec.repo == "acme/widgets" and len(_cursors(fake.log)) == kill_at:
                    loop.call_soon_threadsafe(task.cancel)

            fake.hooks.append(hook)
            with pytest.raises(asyncio.CancelledError):
                await task
            fake.hooks.clear()

        asyncio.run(first_run())
        before = list(fake.log)
        state = json.loads((raw / "acme/widgets/state.json").read_text())
        assert state["scan"]["pages"] == kill_at - 1  # every page before the one in flight is checkpointed
        summary = run_fetch(fake, list(REPOS), raw)
        assert summary.ok
        assert summary.repos["acme/widgets"].mode == "resumed"
        assert diff(cached(raw), truth(fake, list(REPOS))) == ""
        again = _cursors(fake.log[len(before) :])
        refetched = [c for c in again if c in set(_cursors(before))]
        assert len(refetched) <= 1  # only the page in flight
        assert len(again) == 3 - (kill_at - 1)


SCRIPT = """
import sys
from pathlib import Path
from stages.fetch import fetch_repos
s = fetch_repos(sys.argv[3:], raw_dir=Path(sys.argv[1]), token="test-token", api_url=sys.argv[2], concurrency=2)
sys.exit(0 if s.ok else 1)
"""


def test_sigkill_mid_scan_then_restart(tmp_path):
    raw = tmp_path / "raw" / "github"
    kill_at = _kill_pages()[-1] + 1  # a page of the second half of the scan (pages of 25: 3 per repo here)
    with FakeGitHub({"acme/widgets": 120}, latency=0.02) as fake:
        proc = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(raw), fake.url, "acme/widgets"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
        )
        deadline = time.monotonic() + 60
        while len(_cursors(fake.log)) < kill_at and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, proc.communicate()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        before = list(fake.log)
        summary = run_fetch(fake, ["acme/widgets"], raw)
        assert summary.ok and summary.repos["acme/widgets"].mode == "resumed"
        assert diff(cached(raw), truth(fake, ["acme/widgets"])) == ""
        again = _cursors(fake.log[len(before) :])
        assert len([c for c in again if c in set(_cursors(before))]) <= 1
        assert not list((raw / "acme/widgets/pages").glob("p*"))  # compacted
