"""The Makefile hands every value to the shell as data (issue 12.8): DB_URL through the environment
(DEMOSEED_DB_URL, never on a command line that `ps` shows), every variable quoted, paths with spaces.

``make`` runs for real; a stand-in ``demoseed`` (VENV points at a directory holding it) records its
arguments and the DEMOSEED_DB_URL it received, so these tests see exactly what the recipes pass.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import without_outer_make

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed"), pytest.mark.slow]

RECORDER = """#!{python}
import json, os, sys
with open(os.environ["RECORD"], "a") as fh:
    fh.write(json.dumps({{"argv": sys.argv[1:], "db_url": os.environ.get("DEMOSEED_DB_URL"),
                          "DB_URL": os.environ.get("DB_URL"), "app": os.environ.get("DEMOSEED_APP"),
                          "APP": os.environ.get("APP")}}) + "\\n")
"""


@pytest.fixture
def fake_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    tool = venv / "bin" / "demoseed"
    tool.write_text(RECORDER.format(python=sys.executable))
    tool.chmod(0o755)
    (venv / ".installed").touch()  # the Makefile's stamp, newer than what it depends on: nothing to install
    newest = max((ROOT / n).stat().st_mtime for n in ("pyproject.toml", "requirements.lock"))
    os.utime(venv / ".installed", (newest + 1, newest + 1))
    return venv


def make(
    target: str, fake_venv: Path, tmp_path: Path, *assignments: str
) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    record = tmp_path / "record.jsonl"
    record.unlink(missing_ok=True)
    env = without_outer_make(os.environ)
    env["RECORD"] = str(record)
    out = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), target, f"VENV={fake_venv}", *assignments],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    calls = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    return out, calls


def test_db_url_goes_through_the_environment_only(fake_venv: Path, tmp_path: Path) -> None:
    url = "postgresql://app:s3cr'et$x;y@localhost:5432/app"
    out, calls = make("load", fake_venv, tmp_path, f"DB_URL={url}")
    assert out.returncode == 0, out.stderr
    (call,) = calls
    assert call["db_url"] == url  # the password with ' and $ arrives intact
    assert url not in " ".join(call["argv"]) and "--db-url" not in call["argv"]
    assert call["DB_URL"] is None  # not left in the environment under the generic name either
    assert "s3cr" not in out.stdout + out.stderr  # and make does not echo it


@pytest.mark.parametrize("target", ["load", "check"])
def test_app_goes_to_load_and_check_as_demoseed_app(target: str, fake_venv: Path, tmp_path: Path) -> None:
    out, calls = make(target, fake_venv, tmp_path, "APP=../my app;$x", "DB_URL=sqlite:///x.db")
    assert out.returncode == 0, out.stderr
    (call,) = calls
    assert call["argv"] == [target, "--latest"]
    assert (call["app"], call["db_url"], call["APP"]) == ("../my app;$x", "sqlite:///x.db", None)


def test_an_injected_command_runs_nothing(fake_venv: Path, tmp_path: Path) -> None:
    evil = "x'; echo INJECTED; touch PWNED; echo '"
    for target, var in (("load", "DB_URL"), ("load", "SNAPSHOT"), ("snapshot", "SCENARIO"), ("snapshot", "SEED")):
        out, calls = make(target, fake_venv, tmp_path, f"{var}={evil}")
        assert "INJECTED" not in (out.stdout + out.stderr).splitlines(), (target, var, out)
        assert not (tmp_path / "PWNED").exists() and not (ROOT / "PWNED").exists()
        assert len(calls) == 1, (target, var, out.stderr)


def test_paths_with_spaces_and_args(fake_venv: Path, tmp_path: Path) -> None:
    out, calls = make("snapshot", fake_venv, tmp_path, "SCENARIO=my dir/my team.toml", "ARGS=--weeks 12 --force")
    assert out.returncode == 0, out.stderr
    assert calls[0]["argv"] == [
        "snapshot",
        "--scenario",
        "my dir/my team.toml",
        "--seed",
        "42",
        "--weeks",
        "12",
        "--force",
    ]
    out, calls = make("snapshot", fake_venv, tmp_path, "PROJECT=antiwork", "SEED=7", "ARGS=*")
    assert calls[0]["argv"] == ["snapshot", "--project", "antiwork", "--seed", "7", "*"]  # no globbing
    out, calls = make("load", fake_venv, tmp_path, "SNAPSHOT=data/snapshots/my snap")
    assert calls[0]["argv"] == ["load", "data/snapshots/my snap"] and calls[0]["db_url"] is None
    out, calls = make("verify", fake_venv, tmp_path, "SNAPSHOT=my snap")
    assert calls[0]["argv"] == ["verify", "my snap"]
    out, calls = make("describe", fake_venv, tmp_path)
    assert calls[0]["argv"] == ["describe", "--latest"]


def test_the_real_make_load_keeps_the_password_off_the_command_line(tmp_path: Path) -> None:
    """`make load -n` (dry run) prints the recipe: no URL in it."""
    out = subprocess.run(
        ["make", "--no-print-directory", "-n", "-C", str(ROOT), "load", "DB_URL=postgresql://u:hunter2@h/db"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "hunter2" not in out.stdout


def test_files_a_user_writes_in_the_repo_root_are_git_ignored() -> None:
    """`make load DB_URL=sqlite:///demo.db`, `pack -o rb42.tar.gz`: nothing to commit by accident (issue 12.10)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    names = ["demo.db", "app.duckdb", "other.duckdb.wal", "rb42.tar.gz", "data/snapshots/x/manifest.json"]
    out = subprocess.run(["git", "-C", str(ROOT), "check-ignore", *names], capture_output=True, text=True)
    assert out.stdout.split() == names
