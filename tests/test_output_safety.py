"""-o/--output replaces only the command's own earlier output, and only with --force (issue 12.1).

Everything else (a user's directory, the data root, a file, the current
directory) is refused in one line before anything is touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

DEMOSEED = Path(sys.executable).with_name("demoseed")


def run(args: list[str], data_root: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEMOSEED_DATA": str(data_root)}
    env.pop("GITHUB_TOKEN", None)
    return subprocess.run([str(DEMOSEED), *args], capture_output=True, text=True, env=env, cwd=cwd)


def one_line_error(out: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def users_dir(tmp_path: Path) -> Path:
    d = tmp_path / "mine"
    (d / "sub").mkdir(parents=True)
    (d / "notes.txt").write_text("my notes")
    (d / "sub" / "photo.jpg").write_bytes(b"\xff\xd8 not really")
    return d


SNAP = ["snapshot", "--scenario", "baseline", "--no-github", "--weeks", "2"]
GEN = ["generate", "--scenario", "baseline", "--no-github", "--weeks", "2"]


@pytest.mark.parametrize("command", [SNAP, GEN, ["normalize"]])
def test_a_users_directory_is_refused_and_left_alone(command, users_dir: Path, data_root: Path) -> None:
    before = tree(users_dir)
    for extra in ([], ["--force"]) if command[0] != "normalize" else ([],):
        out = run([*command, "-o", str(users_dir), *extra], data_root)
        one_line_error(out, "not empty and not")
        assert tree(users_dir) == before
    assert sorted(p.name for p in users_dir.parent.iterdir()) == ["data", "mine"]  # no .mine.tmp-PID / .old-PID


def test_the_data_root_and_the_snapshots_directory_are_refused(data_root: Path) -> None:
    assert run(SNAP, data_root).returncode == 0
    (data_root / "raw" / "github").mkdir(parents=True)
    (data_root / "raw" / "github" / "keep.txt").write_text("cache")
    before = tree(data_root)
    for target in (data_root, data_root / "snapshots"):
        one_line_error(run([*SNAP, "-o", str(target), "--force"], data_root), "not empty and not a snapshot")
    assert tree(data_root) == before


@pytest.mark.parametrize("command", [SNAP, GEN])
def test_an_existing_file_is_refused(command, tmp_path: Path, data_root: Path) -> None:
    f = tmp_path / "f"
    f.write_text("precious")
    one_line_error(run([*command, "-o", str(f)], data_root), "is a file")
    assert f.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["f", "data"])


@pytest.mark.parametrize("command", [SNAP, GEN])
def test_the_current_directory_is_refused(command, tmp_path: Path, data_root: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    one_line_error(run([*command, "-o", "."], data_root, cwd=here), "current directory")
    assert here.is_dir() and not any(here.iterdir())


def test_own_earlier_output_is_replaced_only_with_force(tmp_path: Path, data_root: Path) -> None:
    out_dir = tmp_path / "snap"
    assert run([*SNAP, "-o", str(out_dir)], data_root).returncode == 0
    first = tree(out_dir)
    # the same request again: up to date, nothing replaced, no --force needed
    again = run([*SNAP, "-o", str(out_dir)], data_root)
    assert again.returncode == 0 and "is up to date" in again.stdout
    # another request into the same directory: refused without --force, replaced with it
    other = [*SNAP[:-1], "3", "-o", str(out_dir)]
    one_line_error(run(other, data_root), "--force")
    assert tree(out_dir) == first
    assert run([*other, "--force"], data_root).returncode == 0
    assert tree(out_dir) != first
    # a generate output is not a snapshot: refused even with --force
    gen_dir = tmp_path / "gen"
    assert run([*GEN, "-o", str(gen_dir)], data_root).returncode == 0
    one_line_error(run([*SNAP, "-o", str(gen_dir), "--force"], data_root), "not empty and not a snapshot")
    one_line_error(run([*GEN, "-o", str(gen_dir)], data_root), "--force")
    assert run([*GEN, "-o", str(gen_dir), "--force"], data_root).returncode == 0


def test_an_empty_directory_is_fine(tmp_path: Path, data_root: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run([*GEN, "-o", str(empty)], data_root).returncode == 0
    assert (empty / "info.json").is_file()
