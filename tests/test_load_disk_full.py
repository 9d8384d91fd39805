"""A full disk under a DuckDB or SQLite target: one line, exit 1, the database as it was.

The disk is real: a small tmpfs mounted in a user and mount namespace of its own (``unshare``), so the
load's writes fail with ENOSPC as they would on a full disk; the test skips where namespaces are not allowed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from tests import own_mounts_allowed, with_own_mounts
from tests.loaddata import write_test_snapshot

REPO = Path(__file__).resolve().parents[1]


pytestmark = [
    pytest.mark.slow,  # loads into a real full filesystem, in namespaces
    pytest.mark.skipif(
        not own_mounts_allowed("mount -t tmpfs -o size=64k tmpfs /mnt"),
        reason="needs unshare with user and mount namespaces",
    ),
]


def on_small_disk(disk: Path, size: str, script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (sh) with a tmpfs of ``size`` mounted at ``disk``; $PY runs Python, $CLI demoseed."""
    disk.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PY": sys.executable, "CLI": f"{sys.executable} -m pipeline.cli"}
    env.pop("DEMOSEED_DB_URL", None)
    return subprocess.run(
        [*with_own_mounts(f"mount -t tmpfs -o size={size} tmpfs {disk}"), "sh", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated snapshot (the baseline scenario, no GitHub): some 200 KB of Parquet, several MB loaded."""
    root = tmp_path_factory.mktemp("data")
    old = os.environ.get("DEMOSEED_DATA")
    os.environ["DEMOSEED_DATA"] = str(root)
    try:
        assert main(["snapshot", "--scenario", "baseline", "--no-github"]) == 0
    finally:
        if old is None:
            os.environ.pop("DEMOSEED_DATA")
        else:
            os.environ["DEMOSEED_DATA"] = old
    (snap,) = (root / "snapshots").iterdir()
    return snap


COUNT = {
    "duckdb": "import duckdb, sys; c = duckdb.connect(sys.argv[1])",
    "sqlite": "import sqlite3, sys; c = sqlite3.connect(sys.argv[1])",
}


@pytest.mark.parametrize(("kind", "name"), [("duckdb", "app.duckdb"), ("sqlite", "app.db")])
def test_a_full_disk_removes_the_database_file_the_load_created(
    kind: str, name: str, big: Path, tmp_path: Path
) -> None:
    disk = tmp_path / "disk"
    url = f"{kind}:///{disk / name}"
    proc = on_small_disk(disk, "400k", f'$CLI load {big} --db-url {url} --as-of 2026-03-04; echo "rc=$?"; ls -A {disk}')
    assert proc.stderr == (
        f"error: no space left on the disk of {url}: the load was rolled back and the database file it created "
        "removed; free some space and run again\n"
    )
    assert proc.stdout.splitlines() == ["rc=1"]  # and nothing left on the disk


@pytest.mark.parametrize(("kind", "name"), [("duckdb", "app.duckdb"), ("sqlite", "app.db")])
def test_a_full_disk_keeps_an_existing_database_as_it_was(kind: str, name: str, big: Path, tmp_path: Path) -> None:
    small = write_test_snapshot(tmp_path / "small")
    disk = tmp_path / "disk"
    url = f"{kind}:///{disk / name}"
    count = f"{COUNT[kind]}; print([c.execute(f'SELECT count(*) FROM {{t}}').fetchone()[0] for t in ('teams_team', 'metrics_pullrequest')])"
    proc = on_small_disk(
        disk,
        "64m",
        f"$CLI load {small} --db-url {url} --as-of 2026-03-04 > /dev/null || exit 9\n"
        f"dd if=/dev/zero of={disk}/filler bs=64k count=2000 2> /dev/null\n"
        f'$CLI load {big} --db-url {url} --as-of 2026-03-04; echo "rc=$?"\n'
        f'rm {disk}/filler; ls -A {disk}; $PY -c "{count}" {disk / name}',
    )
    assert proc.stderr == (
        f"error: no space left on the disk of {url}: the load was rolled back; free some space and run again\n"
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == "rc=1" and name in lines[1:-1] and lines[-1] == "[2, 8]"  # the first load's rows, intact
