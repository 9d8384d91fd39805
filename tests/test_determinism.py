"""Same tables => byte-identical files and manifests, in separate processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

SCRIPT = """
import sys
from tests.tablefactory import make_snapshot_tables
from pipeline.base.manifest import write_snapshot
write_snapshot(sys.argv[1], make_snapshot_tables(25, salt=3), name="det", params={"seed": 7, "weeks": 8}, inputs={"x": "y"})
"""


def _write_in_process(out: Path, hashseed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", SCRIPT, str(out)], check=True, env=env, cwd=root)


def test_two_processes_with_different_hash_seeds_write_identical_snapshots(tmp_path):
    _write_in_process(tmp_path / "a", "1")
    _write_in_process(tmp_path / "b", "4242")
    names_a = sorted(p.name for p in (tmp_path / "a").iterdir())
    names_b = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert names_a == names_b
    assert "manifest.json" in names_a and len(names_a) == 16
    for name in names_a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
