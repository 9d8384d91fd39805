"""The documentation runs as written and points at what exists.

* Every fenced block whose info string is ``sh runnable`` in ``README.md`` and
  ``docs/*.md`` runs, offline, in a fresh directory (each file's blocks in
  order, in one directory whose ``data/`` is ``DEMOSEED_DATA``), with
  ``.venv/bin`` first on PATH and ``make`` running this repository's Makefile
  against its ``.venv``; every block exits 0 (docs/development.md).
* Every relative link in those files points at a file that exists, and a
  ``file.md#anchor`` link at a heading of that file.
* docs/architecture.md's table of layering rules says what
  tests/test_layering.py enforces, rule for rule.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import test_layering, without_outer_make

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = "sh runnable"

FENCE = re.compile(r"^```([^`]*)$")  # an info string holds no backtick (CommonMark)
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`[^`\n]*`")


def _blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced block, in order."""
    blocks: list[tuple[str, str]] = []
    info: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        m = FENCE.match(line)
        if info is None and m:
            info, body = m.group(1).strip(), []
        elif info is not None and line.strip() == "```":
            blocks.append((info, "\n".join(body)))
            info = None
        elif info is not None:
            body.append(line)
    assert info is None, "an unclosed code fence"
    return blocks


def _outside_fences(text: str) -> list[str]:
    lines: list[str] = []
    inside = False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
        elif not inside:
            lines.append(line)
    return lines


def _prose(text: str) -> str:
    """The text outside fenced blocks and code spans (where links are links)."""
    return "\n".join(CODE_SPAN.sub("", line) for line in _outside_fences(text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text without markup, lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    lines = _outside_fences(path.read_text("utf-8"))
    return {_slug(line.lstrip("#").strip()) for line in lines if line.startswith("#")}


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_block_reader_sees_fences_and_markers() -> None:
    text = "a\n```sh runnable\nmake snapshot\n```\n``` ```sh ``` is prose\n```sh\ndemoseed fetch\n```\n[x](docs/a.md) `[y](b.md)`\n"
    assert _blocks(text) == [("sh runnable", "make snapshot"), ("sh", "demoseed fetch")]
    assert LINK.findall(_prose(text)) == ["docs/a.md"]
    assert _slug("Normalize: raw GitHub nodes → flat tables") == "normalize-raw-github-nodes--flat-tables"
    assert _slug("Seeing the story: `demoseed describe`") == "seeing-the-story-demoseed-describe"


RUNNABLE_FILES = [p for p in DOCS if any(info == RUNNABLE for info, _ in _blocks(p.read_text("utf-8")))]


def test_the_core_path_is_covered_by_runnable_blocks() -> None:
    code = "\n".join(body for p in RUNNABLE_FILES for info, body in _blocks(p.read_text("utf-8")) if info == RUNNABLE)
    for command in ("make snapshot", "make describe", "make report", "make load", "make verify"):
        assert command in code, command
    for sub in ("snapshot", "describe", "verify", "pack", "unpack", "load", "report", "generate", "aggregate"):
        assert re.search(rf"(^|\s)demoseed {sub}\b", code, re.M), sub
    assert "sqlite:///" in code and "duckdb:///" in code and "--partition-teams" in code


def _sandbox(tmp_path: Path) -> dict[str, str]:
    """A fresh working directory: data/ is DEMOSEED_DATA, .venv is the repo's, make runs the repo's Makefile."""
    venv = ROOT / ".venv"
    make = shutil.which("make")
    if make is None or not (venv / "bin" / "demoseed").exists():
        pytest.skip("needs make and the repository's .venv (make venv)")
    (tmp_path / ".venv").symlink_to(venv)
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "make"
    # -o: the installed stamp counts as up to date (the tests run inside that venv), so nothing is reinstalled
    wrapper.write_text(
        f'#!/bin/sh\nexec "{make}" -f "{ROOT / "Makefile"}" VENV="{venv}" -o "{venv / ".installed"}" "$@"\n'
    )
    wrapper.chmod(0o755)
    (tmp_path / ".gh").mkdir()
    env = without_outer_make(os.environ, "GITHUB_TOKEN", "GH_TOKEN", "GITHUB_API_URL", "DEMOSEED_DASK")
    env.update(
        PATH=f"{bin_dir}:{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        DEMOSEED_DATA=str(tmp_path / "data"),
        GH_CONFIG_DIR=str(tmp_path / ".gh"),  # `gh auth token` finds no login: offline
    )
    return env


def _run(body: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A block as a bash script that stops at the first failing command (pipes included)."""
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", body],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_a_failing_command_fails_its_block(tmp_path: Path) -> None:
    env = _sandbox(tmp_path)
    assert _run("demoseed --version\nmake -s help >/dev/null", tmp_path, env).returncode == 0
    assert _run("demoseed verify data/snapshots/none\necho never", tmp_path, env).returncode == 2
    assert _run("demoseed verify data/snapshots/none | cat\necho never", tmp_path, env).stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize("doc", RUNNABLE_FILES, ids=_rel)
def test_runnable_blocks_run_as_written(doc: Path, tmp_path: Path) -> None:
    env = _sandbox(tmp_path)
    for n, (info, body) in enumerate(_blocks(doc.read_text("utf-8"))):
        if info != RUNNABLE:
            continue
        run = _run(body, tmp_path, env)
        assert run.returncode == 0, (
            f"{_rel(doc)}, block {n}:\n{body}\n-- exit {run.returncode}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
        )
    assert (tmp_path / "data").is_dir()


@pytest.mark.parametrize("doc", DOCS, ids=_rel)
def test_relative_links_point_at_what_exists(doc: Path) -> None:
    broken = []
    for target in LINK.findall(_prose(doc.read_text("utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{_rel(doc)}: {broken}"


def _layering_table() -> list[tuple[str, str, str]]:
    text = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    after = text.split("<!-- layering-rules", 1)[1].splitlines()[1:]
    rows = []
    for line in after:
        if not line.startswith("|"):
            break
        cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
        if cells[0].endswith("/"):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def _layering_messages() -> set[str]:
    tree = ast.parse((ROOT / "tests" / "test_layering.py").read_text("utf-8"))
    func = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_violation")
    return {
        n.value.value
        for n in ast.walk(func)
        if isinstance(n, ast.Return) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
    }


def test_the_architecture_doc_states_the_layering_test_rules() -> None:
    rows = _layering_table()
    for directory, imported, message in rows:
        assert test_layering._violation(f"{directory}x.py", imported) == message, (directory, imported)
    assert {m for _, _, m in rows} == _layering_messages()
    assert "import_module" in (ROOT / "docs" / "architecture.md").read_text("utf-8")
