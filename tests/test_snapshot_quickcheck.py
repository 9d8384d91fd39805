"""The unchanged-snapshot check that runs no stage (pipeline.runners.quickcheck): it answers "up to date"
only for the same request on the same inputs and an intact snapshot; anything else goes through the full run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.base.manifest import verify_snapshot
from pipeline.base.parquet import write_table
from pipeline.base.schemas import GH_PULL_REQUESTS
from pipeline.cli import main
from tests.test_snapshot import _real_prs

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

ARGS = ["snapshot", "--scenario", "baseline", "--seed", "4", "--no-github"]


def _records(data_root: Path) -> list[Path]:
    root = data_root / "work" / "snapshot"
    return sorted(root.glob("*.json")) if root.is_dir() else []


def test_second_run_answers_from_the_record_with_the_same_lines(data_root, capsys):
    assert main(ARGS) == 0
    first = capsys.readouterr().out.splitlines()
    assert len(_records(data_root)) == 1
    assert main(ARGS) == 0
    second = capsys.readouterr().out.splitlines()
    # the fetch/normalize lines of the run that made it, then "up to date"
    assert second[:-1] == [ln for ln in first if ln.lstrip().startswith(("fetch:", "normalize:"))]
    assert "baseline-seed4-no-github is up to date" in second[-1]


def test_the_unchanged_check_imports_no_table_library(data_root):
    assert main(ARGS) == 0
    code = (
        "import sys; from pipeline.cli import main; rc = main(sys.argv[1:]); "
        "heavy = sorted(m for m in ('pyarrow', 'polars', 'duckdb', 'numpy', 'httpx', 'rich') if m in sys.modules); "
        "print('HEAVY', heavy); sys.exit(rc)"
    )
    env = {**os.environ, "DEMOSEED_DATA": str(data_root)}
    env.pop("GITHUB_TOKEN", None)
    done = subprocess.run([sys.executable, "-c", code, *ARGS], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "is up to date" in done.stdout
    assert "HEAVY []" in done.stdout


def test_a_changed_file_of_the_snapshot_is_not_up_to_date(data_root, capsys):
    assert main(ARGS) == 0
    snap = data_root / "snapshots" / "baseline-seed4-no-github"
    path = snap / "metrics_commit.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(ARGS) == 0  # the full run: the damaged snapshot is demoseed's own, it is rebuilt
    out = capsys.readouterr().out
    assert "is up to date" not in out
    verify_snapshot(snap)


def test_new_input_data_is_not_up_to_date(data_root, tmp_path, capsys):
    real = tmp_path / "real"
    n = 60
    args = ["snapshot", "--scenario", "baseline", "--seed", "4", "--real-data", str(real)]
    write_table(_real_prs(n), GH_PULL_REQUESTS, real / "gh_pull_requests.parquet")
    assert main(args) == 0
    (snap,) = (data_root / "snapshots").iterdir()
    before = verify_snapshot(snap).snapshot_id
    write_table(_real_prs(n - 10), GH_PULL_REQUESTS, real / "gh_pull_requests.parquet")  # other real PRs
    capsys.readouterr()
    assert main(args) == 0
    assert "is up to date" not in capsys.readouterr().out
    assert verify_snapshot(snap).snapshot_id != before


def test_force_never_answers_from_the_record(data_root, capsys):
    assert main(ARGS) == 0
    capsys.readouterr()
    assert main([*ARGS, "--force"]) == 0
    assert "is up to date" not in capsys.readouterr().out
