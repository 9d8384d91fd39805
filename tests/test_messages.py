"""Inputs that used to end in a traceback, a hang or a misleading line (issue 22, items 6-13, 15-17).

Each test runs the command as a user would (the console script in a
subprocess, or :func:`pipeline.cli.main`) and checks the one line it prints,
its exit status and that nothing was written. docs/errors.md lists them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.base.manifest import write_snapshot
from pipeline.cli import main
from tests import own_mounts_allowed, with_own_mounts
from tests.tablefactory import make_snapshot_tables

pytestmark = pytest.mark.slow  # the CLI in processes, a Dask scheduler that never answers

DEMOSEED = Path(sys.executable).with_name("demoseed")


def run(
    args: list[str], data_root: Path | None = None, *, prefix: list[str] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """demoseed ``args`` (after the command ``prefix``, if any) without a token, in ``data_root``."""
    full = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "DEMOSEED_DASK")} | env
    if data_root is not None:
        full["DEMOSEED_DATA"] = str(data_root)
    command = [*(prefix or []), str(DEMOSEED), *args]
    return subprocess.run(command, capture_output=True, text=True, env=full, timeout=120)


def one_line_error(out: subprocess.CompletedProcess[str], *fragments: str, code: int = 2) -> str:
    assert out.returncode == code, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    for fragment in fragments:
        assert fragment in lines[0], out.stderr
    assert "Traceback" not in out.stderr and ".tmp-" not in out.stderr
    return lines[0]


@pytest.fixture
def snap(tmp_path: Path) -> Path:
    directory = tmp_path / "src" / "baseline-seed3"
    write_snapshot(directory, make_snapshot_tables(6), name="baseline-seed3", params={"seed": 3})
    return directory


# 10 ---------------------------------------------------------------------------------------------


def test_no_command_prints_the_help_as_help_does() -> None:
    out = run([])
    help_text = run(["--help"]).stdout
    assert out.returncode == 2  # as click's own standalone mode: a call without a command did nothing
    assert out.stderr.strip() == help_text.strip()
    assert "error:" not in out.stderr


# 6 ----------------------------------------------------------------------------------------------


def test_an_archive_holding_a_member_twice_is_refused_before_writing(snap: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.tar"
    assert run(["pack", str(snap), "-o", str(good)]).returncode == 0
    with tarfile.open(good) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]  # type: ignore[union-attr]
    twice = tmp_path / "twice.tar"
    with tarfile.open(twice, "w") as tar:
        for m, data in [*members, members[-1]]:
            tar.addfile(m, io.BytesIO(data) if data is not None else None)
    dest = tmp_path / "dest"
    out = run(["unpack", str(twice), "-d", str(dest)])
    one_line_error(out, f"entry '{members[-1][0].name}' appears twice")
    assert not dest.exists()


# 11 ---------------------------------------------------------------------------------------------


def _swap_for_a_link(snap: Path, tmp_path: Path) -> Path:
    target = tmp_path / "elsewhere.parquet"
    table = snap / "teams_team.parquet"
    target.write_bytes(table.read_bytes())  # the same bytes: only the link itself is wrong
    table.unlink()
    table.symlink_to(target)
    return target


def test_verify_says_a_table_file_is_a_link(snap: Path, tmp_path: Path) -> None:
    target = _swap_for_a_link(snap, tmp_path)
    out = run(["verify", str(snap)])
    assert out.returncode == 2, out
    assert f"teams_team: teams_team.parquet is a link (to {target})" in out.stderr, out.stderr
    assert "missing" not in out.stderr


def test_pack_refuses_a_table_file_that_is_a_link(snap: Path, tmp_path: Path) -> None:
    _swap_for_a_link(snap, tmp_path)
    out = run(["pack", str(snap), "-o", str(tmp_path / "out.tar")])
    one_line_error(out, "teams_team.parquet is a link", "plain files only")
    assert not (tmp_path / "out.tar").exists()


# 12 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["x.tar", ".", "sub/x.tar.gz"])
def test_pack_refuses_an_output_inside_the_snapshot(snap: Path, where: str) -> None:
    before = sorted(p.name for p in snap.iterdir())
    out = run(["pack", str(snap), "-o", str(snap / where)])
    one_line_error(out, "is inside the snapshot", str(snap))
    assert sorted(p.name for p in snap.iterdir()) == before
    assert run(["verify", str(snap)]).returncode == 0


# 13 ---------------------------------------------------------------------------------------------

SNAP = ["snapshot", "--no-github", "--weeks", "2"]
GEN = ["generate", "--no-github", "--weeks", "2"]


@pytest.mark.parametrize("command", [SNAP, GEN])
def test_an_output_that_cannot_be_created_is_refused_before_any_stage(
    command: list[str], tmp_path: Path, data_root: Path
) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    for target, says in ((Path("/proc/x"), "cannot write in /proc"), (a_file / "x", f"{a_file} is a file")):
        out = run([*command, "-o", str(target)], data_root)
        one_line_error(out, f"-o {target}", says)
        assert out.stdout == ""  # no stage ran
    assert a_file.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "notes.txt"]
    assert list(data_root.iterdir()) == []


def test_a_read_only_output_folder_is_refused_before_any_stage(tmp_path: Path, data_root: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    prefix: list[str] = []
    if os.geteuid() == 0:  # root ignores the mode bits: a read-only mount of the folder instead
        read_only = f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}"'
        if not own_mounts_allowed(read_only):
            pytest.skip("root writes into a read-only folder, and unshare (for a read-only mount) is not allowed")
        prefix = with_own_mounts(read_only)
    out = run([*SNAP, "-o", str(folder / "x")], data_root, prefix=prefix)
    one_line_error(out, f"cannot write in {folder}")
    assert out.stdout == ""
    assert list(folder.iterdir()) == [] and list(data_root.iterdir()) == []


def test_a_data_root_that_is_a_file_is_refused_before_any_stage(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("mine")
    out = run(SNAP, DEMOSEED_DATA=str(readme))
    one_line_error(out, f"DEMOSEED_DATA={readme} is a file")
    assert out.stdout == ""
    assert readme.read_text() == "mine"


# 15 ---------------------------------------------------------------------------------------------


def test_ctrl_c_says_interrupted_and_exits_130(tmp_path: Path, data_root: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"} | {"DEMOSEED_DATA": str(data_root)}
    big = ["snapshot", "--no-github", "--teams", "10", "--members", "50", "--prs", "20000", "-o", str(tmp_path / "s")]
    proc = subprocess.Popen([str(DEMOSEED), *big], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the command runs (fetch skipped); generating 200,000 PRs takes seconds
    assert "fetch: skipped" in first
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err == "interrupted\n"  # stderr is no terminal: no line to close a ^C echo
    assert not (tmp_path / "s").exists()


def test_a_scenario_path_that_is_a_folder_says_so(tmp_path: Path, data_root: Path) -> None:
    folder = tmp_path / "mine.toml"
    folder.mkdir()
    one_line_error(run(["snapshot", "--no-github", "--scenario", str(folder)], data_root), f"{folder} is a folder")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["describe", "--scenario", "nope"], "nope"),
        (["projects", "--industry", "nope"], "nope"),
        (["snapshot", "--no-github", "--repo", "x"], "--repo 'x' is not owner/name"),
        (["snapshot", "--no-github", "--repo", "../etc"], "--repo '../etc' is not owner/name"),
        (["fetch", "--repo", "../etc"], "--repo '../etc' is not owner/name"),
    ],
)
def test_unknown_names_are_errors(args: list[str], fragment: str, data_root: Path) -> None:
    out = run(args, data_root)
    one_line_error(out, fragment)
    assert out.stdout == ""


# 7, 8 -------------------------------------------------------------------------------------------

PARTITIONED = ["snapshot", "--no-github", "--scenario", "review-bottleneck", "--teams", "5", "--partition-teams", "2"]


@pytest.mark.parametrize("address", ["not-an-address", "tcp://127.0.0.1", "http://127.0.0.1:8786", "tcp://:8786"])
def test_a_dask_address_that_is_no_address_is_refused_before_any_stage(address: str, data_root: Path) -> None:
    out = run([*PARTITIONED, "--dask", address], data_root)
    one_line_error(out, f"--dask {address!r} is not a Dask scheduler address", "tcp://HOST:PORT")
    assert out.stdout == ""


@pytest.mark.parametrize("args", [PARTITIONED, ["snapshot", "--no-github", "--weeks", "2"]])
def test_demoseed_dask_garbage_is_refused_even_for_one_partition(args: list[str], data_root: Path) -> None:
    out = run(args, data_root, DEMOSEED_DASK="garbage")
    one_line_error(out, "DEMOSEED_DASK='garbage' is not a Dask scheduler address")
    assert out.stdout == ""


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A local TCP server that accepts connections and never answers (a hung scheduler or a wrong port)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_dask_scheduler_that_never_answers_is_given_up_on(
    silent_server: str, data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.runners import executors

    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT", 1.0)
    code = main([*PARTITIONED, "-o", str(data_root / "s"), "--dask", f"tcp://{silent_server}"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and f"--dask tcp://{silent_server}: cannot reach the Dask scheduler" in err, err
    assert "did not answer within 1 s" in err
    assert not (data_root / "s").exists()


# 9 ----------------------------------------------------------------------------------------------


def test_snapshot_says_at_once_what_it_waits_for_from_github(silent_server: str, data_root: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DEMOSEED_DASK"} | {
        "DEMOSEED_DATA": str(data_root),
        "GITHUB_TOKEN": "ghp_test",
        "GITHUB_API_URL": f"http://{silent_server}",
    }
    args = [str(DEMOSEED), "snapshot", "--weeks", "2", "--repo", "pallets/flask"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline()  # the old code said nothing until the first request's deadline passed
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert first.strip() == (
        f"fetch: asking GitHub ({silent_server}, GraphQL) for 1 repo: pallets/flask; "
        "a request waits at most 5 s to connect and 30 s for its answer"
    )


# 16 ---------------------------------------------------------------------------------------------


def _snapshot(data_root: Path, *args: str, scenario: tuple[str, ...] = ("--scenario", "baseline")) -> tuple[str, str]:
    """(directory name, snapshot id) of ``demoseed snapshot --no-github ARGS``."""
    out = run(["snapshot", "--no-github", *scenario, *args], data_root)
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.strip().startswith("snapshot:"))
    directory = line.split("snapshot: ", 1)[1].split(" ")[0]
    return Path(directory).name, line.split("(id ", 1)[1][:16]


def test_a_name_and_id_follow_the_requests_values_not_their_spelling(data_root: Path) -> None:
    from stages.generate.scenario import load_scenario

    baseline = load_scenario("baseline")
    plain = _snapshot(data_root)
    spelled = _snapshot(
        data_root,
        *("--weeks", str(baseline.weeks), "--teams", "1", "--anchor", "2026-01-05", "--real-share", "0.250"),
        *("--members", str(baseline.members), "--team-slug", baseline.team_slug),
    )
    assert spelled == plain
    assert plain[0] == "baseline-seed42-no-github"
    assert _snapshot(data_root, "--real-share", "-0") == _snapshot(data_root, "--real-share", "0")
    assert _snapshot(data_root, "--real-share", "-0")[0] == "baseline-seed42-rs0-no-github"
    made = sorted(p.name for p in (data_root / "snapshots").iterdir())
    assert made == ["baseline-seed42-no-github", "baseline-seed42-rs0-no-github"]


# 17 ---------------------------------------------------------------------------------------------


def _edit_manifest(snap: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    path = snap / "manifest.json"
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(name="another-name"),
        lambda d: d.update(notes=["all fine"]),
        lambda d: d["tool"].update(version="9.9.9"),
        lambda d: d["params"].update(seed=7),
    ],
    ids=["name", "notes", "tool.version", "params"],
)
def test_verify_catches_an_edit_of_any_manifest_field(snap: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    assert run(["verify", str(snap)]).returncode == 0
    _edit_manifest(snap, edit)
    out = run(["verify", str(snap)])
    assert out.returncode == 2, out
    assert "the manifest was edited" in out.stderr, out.stderr


@pytest.mark.parametrize("command", [["verify"], ["describe"], ["pack"], ["load", "--db-url", "sqlite:///x.db"]])
def test_a_manifest_name_that_is_a_path_is_refused_where_it_is_read(
    snap: Path, command: list[str], tmp_path: Path
) -> None:
    _edit_manifest(snap, lambda d: d.update(name="../../escape"))
    out = subprocess.run(
        [str(DEMOSEED), *command, str(snap)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert out.returncode == 2, out
    assert "name '../../escape' is not a snapshot name" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "escape").exists() and not (tmp_path.parent / "escape").exists()
    assert not (tmp_path / "x.db").exists()


def test_an_os_error_names_the_users_path_not_the_temporary_one() -> None:
    from pipeline.cli import os_error_line

    err = OSError(28, "No space left on device", "/data/snapshots/.big.tmp-4242/metrics_pullrequest/part-00001.parquet")
    assert os_error_line(err) == (
        "no space left on device (/data/snapshots/big/metrics_pullrequest/part-00001.parquet); "
        "free some space and run again (the previous output is unchanged)"
    )
    assert (
        os_error_line(OSError(13, "Permission denied", "/srv/.app.duckdb.tmp-7"))
        == "Permission denied (/srv/app.duckdb)"
    )


def test_pack_and_unpack_check_where_they_write_first(snap: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    out = run(["pack", str(snap), "-o", str(a_file / "x.tar")])
    one_line_error(out, f"cannot write {a_file / 'x.tar'}: {a_file} is a file, not a folder")
    one_line_error(run(["pack", str(snap), "-o", "/proc/x.tar"]), "cannot write /proc/x.tar: cannot write in /proc")
    archive = tmp_path / "s.tar"
    assert run(["pack", str(snap), "-o", str(archive)]).returncode == 0
    out = run(["unpack", str(archive), "-d", "/proc/x"])
    one_line_error(out, "cannot unpack into /proc/x: cannot write in /proc")  # not "no space left"
    assert a_file.read_text() == "mine"


def test_a_legacy_request_with_its_defaults_spelled_out_is_the_same_request(data_root: Path) -> None:
    legacy = ["--teams", "2", "--members", "3", "--prs", "12"]
    plain = _snapshot(data_root, *legacy, scenario=())
    spelled = _snapshot(data_root, *legacy, "--weeks", "8", "--team-slug", "demo-team", scenario=())
    assert spelled == plain and plain[0] == "legacy-t2m3p12-seed42-no-github"
