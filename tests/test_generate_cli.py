"""``demoseed generate`` end to end: byte-identical Parquet across processes, flags, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.base.hashing import file_sha256
from pipeline.base.parquet import write_table
from pipeline.base.schemas import GENERATED_TABLES, spec
from pipeline.cli import main
from tests.test_generate_blend import gh_tables

ROOT = Path(__file__).resolve().parents[1]


def run_cli(args: list[str], hashseed: str, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": hashseed, "DEMOSEED_DATA": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "generate", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def hashes(directory: Path) -> dict[str, str]:
    return {p.name: file_sha256(p) for p in sorted(directory.iterdir())}


def test_byte_identical_across_processes_and_seed_sensitive(tmp_path: Path) -> None:
    a = run_cli(["--scenario", "detective-game", "--seed", "7", "-o", str(tmp_path / "a")], "1", tmp_path)
    b = run_cli(["--scenario", "detective-game", "--seed", "7", "-o", str(tmp_path / "b")], "987", tmp_path)
    c = run_cli(["--scenario", "detective-game", "--seed", "8", "-o", str(tmp_path / "c")], "1", tmp_path)
    for r in (a, b, c):
        assert r.returncode == 0, r.stderr
    ha, hb, hc = hashes(tmp_path / "a"), hashes(tmp_path / "b"), hashes(tmp_path / "c")
    assert set(ha) == {f"{t}.parquet" for t in GENERATED_TABLES} | {"demoseed_provenance.parquet", "info.json"}
    assert ha == hb
    differing = {name for name in ha if ha[name] != hc[name]}
    assert {"metrics_pullrequest.parquet", "metrics_prreview.parquet", "metrics_teammember.parquet"} <= differing
    info = json.loads((tmp_path / "a" / "info.json").read_text())
    assert info["seed"] == 7 and info["scenario"] == "detective-game" and info["real_share_realized"] == 0
    assert "detective-game seed 7" in a.stdout and "real share 0" in a.stdout
    t = pq.read_table(tmp_path / "a" / "metrics_pullrequest.parquet")
    assert t.schema.equals(spec("metrics_pullrequest").schema)


def test_default_output_dir_and_real_data_flag(tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture) -> None:
    real_dir = tmp_path / "gh"
    for name, table in gh_tables().items():
        write_table(table, spec(name), real_dir / f"{name}.parquet")
    assert main(["generate", "--scenario", "baseline", "--seed", "3", "--real-data", str(real_dir)]) == 0
    out = data_root / "work" / "generate" / "baseline-seed3"
    info = json.loads((out / "info.json").read_text())
    assert 0.20 <= info["real_share_realized"] <= 0.30
    assert "real share 2" in capsys.readouterr().out
    assert main(["generate", "--scenario", "baseline", "--seed", "3", "--no-github", "-o", str(tmp_path / "n")]) == 0
    info = json.loads((tmp_path / "n" / "info.json").read_text())
    assert info["real_share_realized"] == 0 and info["real_share_reason"] == "--no-github"


def test_legacy_mode_cli(tmp_path: Path, data_root: Path) -> None:
    out = tmp_path / "out"
    args = ["generate", "--teams", "2", "--members", "3", "--prs", "20", "--team-slug", "acme", "-o", str(out)]
    assert main(args) == 0
    t = pq.read_table(out / "teams_team.parquet")
    assert t["slug"].to_pylist() == ["acme", "acme-2"]
    assert pq.read_table(out / "metrics_pullrequest.parquet").num_rows == 40


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--real-share", "0.5"], "'--real-share': 0.5 is not 0 or in 0.20..0.30"),
        (["--weeks", "105"], "'--weeks': 105 is not in the range 1<=x<=104"),
        (["--anchor", "2026-01-06"], "2026-01-06 is a Tuesday; the anchor must be a Monday"),
        (["--scenario", "nope"], "unknown scenario 'nope'"),
        (["--teams", "0"], "--teams"),
        (["--members", "1"], "--members"),
        (["--team-slug", "Bad Slug"], "--team-slug 'Bad Slug'"),
        (["--prs", "10"], "legacy mode (no --scenario) needs --members M and --prs P"),
        (["--real-data", "/nonexistent/dir"], "--real-data /nonexistent/dir: no such directory"),
        (["--real-data", "/tmp", "--no-github"], "either --real-data or --no-github"),
    ],
)
def test_bad_flags_one_line_exit_2(
    args: list[str], message: str, data_root: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["generate", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert message in err[0]


def test_normalize_output_is_used_by_default(data_root: Path) -> None:
    from pipeline.runners.normalize import NormalizeResult, mark_latest
    from pipeline.stagecache import write_stage

    directory = data_root / "work" / "normalize" / "somekey"
    tables = write_stage(directory, gh_tables(), {"raw_rows": 1, "report": {}})
    mark_latest(NormalizeResult(("acme/x",), tables, {}, 1, "fp", directory, cached=False))
    assert main(["generate", "--scenario", "baseline", "--seed", "4"]) == 0
    info = json.loads((data_root / "work" / "generate" / "baseline-seed4" / "info.json").read_text())
    assert info["real_data"] == str(directory)
    assert 0.20 <= info["real_share_realized"] <= 0.30
