"""The `demoseed` command line: commands listed, user errors on one line with exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main

DEMOSEED = Path(sys.executable).with_name("demoseed")


def run(args, **kw):
    return subprocess.run([str(DEMOSEED), *args], capture_output=True, text=True, **kw)


def test_help_lists_the_commands():
    out = run(["--help"])
    assert out.returncode == 0
    listed = [line.split()[0] for line in out.stdout.split("Commands:")[1].strip().splitlines()]
    for name in ("snapshot", "verify", "pack", "unpack", "projects"):
        assert name in listed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["snapshot", "--anchor", "2026-01-06"],
            "2026-01-06 is a Tuesday; the anchor must be a Monday (e.g. 2026-01-05)",
        ),
        (["snapshot", "--anchor", "tomorrow"], "'tomorrow' is not a date"),
        (["snapshot", "--seed", "abc"], "'abc' is not a valid integer"),
        (["snapshot", "--real-share", "0.9"], "'--real-share': 0.9 is not 0 or in 0.20..0.30"),
        (["snapshot", "--weeks", "999"], "'--weeks': 999 is not in the range 1<=x<=104"),
        (["snapshot", "--members", "1", "--teams", "1", "--prs", "5"], "'--members': 1 is not in the range 2<=x<=500"),
        (["snapshot", "--prs", "0", "--teams", "1", "--members", "3"], "'--prs': 0 is not in the range 1<=x<=1000000"),
        (["snapshot", "--team-slug", "Bad Slug"], "--team-slug 'Bad Slug': use lowercase letters"),
        (
            ["snapshot", "--scenario", "ai-success", "--project", "antiwork"],
            "give either --scenario or --project, not both",
        ),
        (
            ["snapshot", "--members", "3"],
            "legacy mode needs --members and --prs (--teams defaults to 1); missing --prs",
        ),
        (["verify"], "nothing to verify"),
        (["verify", "/nonexistent/snap"], "is not a snapshot directory"),
        (["no-such-command"], "No such command 'no-such-command'"),
    ],
)
def test_user_errors_are_one_line_exit_2(args, message, data_root):
    out = run(args)
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in out.stderr


def test_projects_lists_the_presets(capsys):
    assert main(["projects", "--industry", "ai_llm"]) == 0
    out = capsys.readouterr().out
    assert "anthropic" in out and "langchain" in out
    assert "gumroad" not in out


def test_unknown_project_suggests_close_names(capsys, data_root):
    assert main(["snapshot", "--project", "antiwrk"]) == 2
    err = capsys.readouterr().err
    assert "unknown project 'antiwrk'. Did you mean antiwork?" in err


def test_exit_codes_set_by_a_command_reach_the_shell():
    import click

    from pipeline.cli import cli

    @click.command("exit-three")
    @click.pass_context
    def exit_three(ctx):
        ctx.exit(3)

    cli.add_command(exit_three)
    try:
        assert main(["exit-three"]) == 3
    finally:
        cli.commands.pop("exit-three")


def test_the_command_line_starts_without_the_heavy_libraries():
    """`demoseed --help` imports every command module; none may pull in the data libraries."""
    code = (
        "import sys; import pipeline.cli; "
        "print(sorted(m for m in ('numpy', 'pyarrow', 'polars', 'duckdb', 'stages.generate.synthetic.tables') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_fresh_snapshot_loads_only_what_it_uses(tmp_path):
    """Nothing cached, no token: the console script's run loads no fetcher (asyncio, httpx), no
    normalize stage, no DuckDB and no report code; its garbage collector runs with the raised threshold,
    and what is alive at the end is frozen."""
    code = (
        "import contextlib, gc, io, sys\n"
        "from pipeline.base.tuning import GC_THRESHOLDS\nfrom pipeline.entry import main\n"
        "sys.argv = ['demoseed', 'snapshot']\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main() == 0\n"
        "assert gc.get_threshold() == GC_THRESHOLDS, gc.get_threshold()\n"
        "assert gc.get_freeze_count() > 50_000, gc.get_freeze_count()  # the shutdown does not walk them\n"
        "names = ('asyncio', 'httpx', 'duckdb', 'stages.normalize', 'stages.fetch.run', 'pipeline.report', 'rich')\n"
        "print(sorted(m for m in names if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    env.update(DEMOSEED_DATA=str(tmp_path / "data"), PATH="")  # PATH: no `gh auth token` either
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert (tmp_path / "data" / "snapshots" / "ai-success-seed42" / "manifest.json").is_file()
