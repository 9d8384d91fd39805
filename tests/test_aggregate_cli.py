"""`demoseed aggregate --input DIR [--output DIR]` on files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.base.hashing import content_hash
from pipeline.base.parquet import read_table, write_table
from pipeline.base.schemas import spec
from pipeline.cli import main
from stages.aggregate import aggregate
from tests.test_aggregate import WEEKS, tiny_tables


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    d = tmp_path / "gen"
    for name, table in tiny_tables().items():
        write_table(table, spec(name), d / f"{name}.parquet")
    return d


def test_writes_both_tables_with_weeks_from_info_json(app_dir: Path, tmp_path: Path, capsys) -> None:
    (app_dir / "info.json").write_text(json.dumps({"scenario": "x", "week_starts": [w.isoformat() for w in WEEKS]}))
    out = tmp_path / "out"
    assert main(["aggregate", "--input", str(app_dir), "--output", str(out)]) == 0
    msg = capsys.readouterr().out
    assert "12 member-weeks, 6 team-weeks over 3 week(s) (weeks from info.json)" in msg
    expected = aggregate(tiny_tables(), week_starts=WEEKS)
    for name in ("metrics_weeklymetrics", "demoseed_team_weekly"):
        got = read_table(out / f"{name}.parquet", spec(name))
        assert content_hash(got) == content_hash(expected[name]), name


def test_default_output_is_the_input_and_weeks_come_from_the_data(app_dir: Path, capsys) -> None:
    assert main(["aggregate", "--input", str(app_dir)]) == 0
    assert "over 4 week(s) (weeks from the data)" in capsys.readouterr().out
    got = read_table(app_dir / "metrics_weeklymetrics.parquet", spec("metrics_weeklymetrics"))
    assert got.num_rows == 4 * 4  # A, B, C, E x 4 weeks (P8 adds the week of 2025-12-08)


def test_user_errors(app_dir: Path, tmp_path: Path, capsys) -> None:
    assert main(["aggregate", "--input", str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err
    (app_dir / "metrics_pullrequest.parquet").unlink()
    assert main(["aggregate", "--input", str(app_dir), "--output", str(tmp_path / "o")]) == 2
    assert "no metrics_pullrequest.parquet" in capsys.readouterr().err
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "manifest.json").write_text("{}")
    assert main(["aggregate", "--input", str(app_dir), "--output", str(snap)]) == 2
    assert "is a snapshot" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
