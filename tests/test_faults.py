"""No traceback reaches a user (issue 12.7): dates out of range, Ctrl-C while the command line loads,
a full disk while a snapshot is written (ENOSPC: one line, nothing left behind, the old snapshot intact).

Faults are injected into the real console script through a ``sitecustomize`` module on PYTHONPATH.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.base.manifest import verify_snapshot

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

DEMOSEED = Path(sys.executable).with_name("demoseed")


def run(args: list[str], data_root: Path, inject: str | None = None, tmp: Path | None = None):
    env = {**os.environ, "DEMOSEED_DATA": str(data_root)}
    env.pop("GITHUB_TOKEN", None)
    if inject is not None:
        assert tmp is not None
        site = tmp / "site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(textwrap.dedent(inject))
        env["PYTHONPATH"] = str(site)
    return subprocess.run([str(DEMOSEED), *args], capture_output=True, text=True, env=env)


def one_line(out, code: int, fragment: str) -> None:
    assert out.returncode == code, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("anchor", ["9999-12-27", "0001-01-01"])
@pytest.mark.parametrize("command", ["snapshot", "generate"])
def test_anchors_out_of_range(command: str, anchor: str, data_root: Path) -> None:
    out = run([command, "--no-github", "--anchor", anchor], data_root)
    one_line(out, 2, f"{anchor} is out of range; use a Monday from 1980-01-07 to 2199-12-30")


@pytest.mark.parametrize("scenario", ["ai-success", "review-bottleneck", "baseline", "detective-game"])
def test_every_bound_edge_generates(scenario: str, data_root: Path, tmp_path: Path) -> None:
    """The bounds the options state are ones the generator supports (--weeks 1 raised IndexError)."""
    for i, extra in enumerate((["--weeks", "1"], ["--weeks", "104", "--anchor", "1980-01-07"])):
        out = run(["generate", "--scenario", scenario, "--no-github", "-o", str(tmp_path / f"o{i}"), *extra], data_root)
        assert out.returncode == 0, out.stderr
    out = run(["generate", "--teams", "1", "--members", "2", "--prs", "1", "--anchor", "2199-12-30"], data_root)
    assert out.returncode == 0, out.stderr


CTRL_C_WHILE_LOADING = """
    import os, signal, sys
    class Interrupt:
        def find_spec(self, name, path=None, target=None):
            if name == "click":
                sys.meta_path.remove(self)
                os.kill(os.getpid(), signal.SIGINT)  # the user's Ctrl-C, while the command line loads
            return None
    sys.meta_path.insert(0, Interrupt())
"""


def test_ctrl_c_while_the_command_line_loads(data_root: Path, tmp_path: Path) -> None:
    out = run(["--help"], data_root, CTRL_C_WHILE_LOADING, tmp_path)
    one_line(out, 130, "interrupted")


DISK_FULL_IN_SNAPSHOTS = """
    import builtins, errno, os
    import pyarrow.parquet as pq
    def full(where):
        if "/snapshots/" in str(where) and os.environ.get("FULL_DISK"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(where))
    real = pq.write_table
    def write_table(table, where, *args, **kwargs):  # a large table, encoded straight into its file
        full(where)
        return real(table, where, *args, **kwargs)
    pq.write_table = write_table
    real_open = builtins.open
    def open_(file, mode="r", *args, **kwargs):  # a small one, encoded in memory, then written
        if any(c in mode for c in "wax"):
            full(file)
        return real_open(file, mode, *args, **kwargs)
    builtins.open = open_
"""


def test_a_full_disk_during_snapshot(data_root: Path, tmp_path: Path, monkeypatch) -> None:
    args = ["snapshot", "--scenario", "baseline", "--no-github"]
    assert run(args, data_root).returncode == 0
    snaps = data_root / "snapshots"
    (snap,) = snaps.iterdir()
    before = {p.name: p.read_bytes() for p in snap.iterdir()}
    monkeypatch.setenv("FULL_DISK", "1")
    out = run([*args, "--force"], data_root, DISK_FULL_IN_SNAPSHOTS, tmp_path)
    one_line(out, 1, "no space left on device")
    assert "the previous output is unchanged" in out.stderr
    assert sorted(p.name for p in snaps.iterdir()) == [snap.name]  # no .NAME.tmp-PID left behind
    assert {p.name: p.read_bytes() for p in snap.iterdir()} == before
    verify_snapshot(snap)
