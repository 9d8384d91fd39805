"""A killed run's ``.NAME.tmp-PID`` / ``.NAME.old-PID`` leftovers are removed by the next run, a live
process's never (issue 12.3)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.base.atomic import atomic_directory, remove_stale_leftovers
from pipeline.cli import main

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

DEMOSEED = Path(sys.executable).with_name("demoseed")


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _leftover(parent: Path, name: str, pid: int) -> Path:
    d = parent / f".{name}.tmp-{pid}"
    d.mkdir(parents=True)
    (d / "metrics_pullrequest.parquet").write_bytes(b"x" * 1000)
    return d


def test_a_killed_snapshot_leaves_leftovers_that_the_next_run_removes(data_root: Path, tmp_path: Path) -> None:
    env = {**os.environ, "DEMOSEED_DATA": str(data_root)}
    env.pop("GITHUB_TOKEN", None)
    args = [str(DEMOSEED), "snapshot", "--scenario", "baseline", "--no-github", "--teams", "300"]
    snaps = data_root / "snapshots"
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(p.name.startswith(".") for p in snaps.glob(".*")):
        if proc.poll() is not None:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = sorted(p.name for p in snaps.glob(".*"))
    assert left, "the run finished before it could be killed mid-write"
    # another process's leftover that is still running stays; the killed one's go
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = _leftover(snaps, "other-seed1", sleeper.pid)
        assert main(["snapshot", "--scenario", "detective-game", "--no-github", "--weeks", "1"]) == 0
        assert sorted(p.name for p in snaps.glob(".*")) == [live.name]
    finally:
        sleeper.kill()
        sleeper.wait()


def test_remove_stale_leftovers_only_touches_dead_processes_names(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = [_leftover(tmp_path, "snap", dead), tmp_path / f".snap.old-{dead}", tmp_path / f".f.txt.tmp-{dead}"]
    stale[1].mkdir()
    stale[2].write_text("half a file")
    mine = _leftover(tmp_path, "snap2", os.getpid())
    keep = [tmp_path / f".snap.tmp-{dead}x", tmp_path / "snap.tmp-1", tmp_path / f".snap.tmp-{dead}.txt", mine]
    for k in keep[:3]:
        k.write_text("a user's file")
    remove_stale_leftovers(tmp_path)
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in keep)


def test_atomic_directory_cleans_its_own_names_leftovers(tmp_path: Path) -> None:
    dead = _dead_pid()
    old = _leftover(tmp_path, "out", dead)
    other = _leftover(tmp_path, "else", dead)
    with atomic_directory(tmp_path / "out") as tmp:
        (tmp / "a").write_text("1")
    assert not old.exists() and other.exists()
    assert (tmp_path / "out" / "a").read_text() == "1"
