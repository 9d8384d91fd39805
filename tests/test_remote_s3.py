"""push / pull against a real S3 server (SeaweedFS, tests/s3server.py) run as the user runs them, as
processes: killed with SIGKILL mid-way and run again, two pushes racing for one name, a second pull
with the server out of reach, and one line for each mistake (credentials, bucket, endpoint, name)."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.base.manifest import read_manifest, write_snapshot
from tests import test_remote
from tests.s3server import BUCKET
from tests.tablefactory import make_snapshot_tables
from tests.test_remote import same_tree

pytestmark = pytest.mark.slow  # a real S3 server and the CLI in processes

_names = itertools.count()
parted = test_remote.parted  # the snapshot-in-parts fixture
DEMOSEED = [sys.executable, "-m", "pipeline"]


@pytest.fixture
def env(s3_server, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DEMOSEED_"))}
    return (
        base
        | s3_server.env()
        | {
            "DEMOSEED_CACHE": str(tmp_path / "cache"),
            "DEMOSEED_DATA": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "HOME": str(tmp_path / "home"),
        }
    )


@pytest.fixture
def remote() -> str:
    return f"s3://{BUCKET}/p{os.getpid()}-{next(_names)}"


def demoseed(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DEMOSEED, *args], env=env, capture_output=True, text=True, timeout=timeout)


def keys(env: dict[str, str], remote: str, prefix: str) -> list[str]:
    """The keys under ``prefix`` in the remote, listed by a client of its own."""
    import obstore
    from obstore.store import from_url

    store = from_url(
        remote,
        client_options={"allow_http": True},
        config={
            "endpoint": env["AWS_ENDPOINT_URL"],
            "access_key_id": env["AWS_ACCESS_KEY_ID"],
            "secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
            "region": "us-east-1",
        },
    )
    return sorted(m["path"] for batch in obstore.list(store, prefix) for m in batch)


def kill_when(process: subprocess.Popen[str], ready, deadline: float = 60) -> None:
    """SIGKILL ``process`` as soon as ``ready()`` holds (failing when it ended first)."""
    end = time.monotonic() + deadline
    while not ready():
        assert process.poll() is None, f"the process ended before it could be killed mid-way: {process.communicate()}"
        assert time.monotonic() < end
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_push_killed_mid_way_sends_only_what_is_missing(env, remote: str, parted: Path) -> None:
    total = len({e.sha256 for t in read_manifest(parted).tables.values() for e in (t.parts or [t])})
    push = subprocess.Popen(
        [*DEMOSEED, "push", str(parted), remote, "-j", "1"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    kill_when(push, lambda: len(keys(env, remote, "objects/")) >= 3)
    assert keys(env, remote, "snapshots/") == []  # nothing published: nobody sees a half-pushed snapshot
    there = len(keys(env, remote, "objects/"))
    assert 3 <= there < total
    assert demoseed(env, "ls", remote).stdout.splitlines()[1:] == []
    again = demoseed(env, "push", str(parted), remote)
    assert again.returncode == 0, again.stderr
    assert f"{total - there} files uploaded" in again.stderr and f"{there} already there" in again.stderr
    pulled = demoseed(env, "pull", f"{remote}/{parted.name}", "-d", str(Path(env["DEMOSEED_DATA"]) / "got"))
    assert pulled.returncode == 0, pulled.stderr
    assert same_tree(parted, Path(env["DEMOSEED_DATA"]) / "got" / parted.name)


def test_pull_killed_mid_way_fetches_only_what_is_missing(env, remote: str, parted: Path, tmp_path: Path) -> None:
    assert demoseed(env, "push", str(parted), remote).returncode == 0
    total = len({e.sha256 for t in read_manifest(parted).tables.values() for e in (t.parts or [t])})
    cached = tmp_path / "cache" / "objects" / "sha256"
    dest = tmp_path / "dest"

    def complete() -> list[Path]:
        return [p for p in cached.iterdir() if not p.name.startswith(".")] if cached.is_dir() else []

    pull = subprocess.Popen(
        [*DEMOSEED, "pull", f"{remote}/{parted.name}", "-d", str(dest), "-j", "1"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    kill_when(pull, lambda: len(complete()) >= 3)
    have = len(complete())
    assert 3 <= have < total
    assert not (dest / parted.name).exists()  # no partial snapshot under the destination
    again = demoseed(env, "pull", f"{remote}/{parted.name}", "-d", str(dest))
    assert again.returncode == 0, again.stderr
    assert f"{total - have} files downloaded" in again.stderr and f"{have} from the cache" in again.stderr
    assert same_tree(parted, dest / parted.name)
    assert [p.name for p in cached.iterdir() if p.name.startswith(".")] == []  # the killed pull's leftovers went


def test_concurrent_pushes_of_one_name_one_wins(env, remote: str, tmp_path: Path) -> None:
    snaps = []
    for i in range(2):
        d = tmp_path / f"s{i}"
        write_snapshot(d, make_snapshot_tables(30 + i), name=f"s{i}", params={"seed": i})
        snaps.append(d)
    procs = [
        subprocess.Popen(
            [*DEMOSEED, "push", str(d), remote, "--name", "race"],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for d in snaps
    ]
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], results
    winner = snaps[[r[0] for r in results].index(0)]
    loser = next(r for r in results if r[0] == 2)
    assert "already holds a different snapshot" in loser[2] or "another push published" in loser[2]
    assert loser[2].count("\n") == 1
    got = tmp_path / "got"
    assert demoseed(env, "pull", f"{remote}/race", "-d", str(got)).returncode == 0
    assert (got / "race" / "manifest.json").read_bytes() == (winner / "manifest.json").read_bytes()


def test_a_second_pull_needs_no_network(env, remote: str, tmp_path: Path) -> None:
    snap = tmp_path / "offline-seed1"
    write_snapshot(snap, make_snapshot_tables(20), name="offline-seed1", params={"seed": 1})
    assert demoseed(env, "push", str(snap), remote).returncode == 0
    assert demoseed(env, "pull", f"{remote}/{snap.name}", "-d", str(tmp_path / "a")).returncode == 0
    away = env | {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}  # nothing listens there
    second = demoseed(away, "pull", f"{remote}/{snap.name}", "-d", str(tmp_path / "b"), timeout=10)
    assert second.returncode == 0, second.stderr
    assert "remote unreachable: the cached manifest" in second.stderr
    assert same_tree(snap, tmp_path / "b" / snap.name)
    verified = demoseed(away, "verify", f"{remote}/{snap.name}", timeout=30)
    assert verified.returncode == 0 and verified.stdout.startswith("ok "), verified.stderr
    never = demoseed(away, "pull", f"{remote}/never-pulled", "-d", str(tmp_path / "c"), timeout=10)
    assert never.returncode == 2 and never.stderr.startswith("error: cannot reach s3://")
    assert never.stderr.count("\n") == 1 and not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    ("change", "ref", "message"),
    [
        ({"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, "{remote}/x", "access denied"),
        ({}, "s3://no-such-bucket-here/p/x", "the bucket does not exist"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, "{remote}/x", "cannot reach"),
        ({}, "{remote}/no-such-name", "no snapshot 'no-such-name'"),
    ],
)
def test_each_mistake_is_one_line(env, remote: str, tmp_path: Path, change, ref: str, message: str) -> None:
    snap = tmp_path / "x"
    write_snapshot(snap, make_snapshot_tables(5), name="x", params={"seed": 1})
    assert demoseed(env, "push", str(snap), remote).returncode == 0
    bad = env | change
    ref = ref.format(remote=remote)
    for args in (
        ["pull", ref, "-d", str(tmp_path / "dest")],
        ["ls", ref.rsplit("/", 1)[0]],
        ["push", str(snap), ref.rsplit("/", 1)[0]],
    ):
        if args[0] != "pull" and "no-such-name" in ref:
            continue
        got = demoseed(bad, *args, timeout=10)  # a hang fails here
        assert got.returncode == 2, (args, got.stderr)
        assert got.stderr.count("\n") == 1 and message in got.stderr and "Traceback" not in got.stderr, (
            args,
            got.stderr,
        )
        assert not (tmp_path / "dest").exists()


def test_credentials_and_endpoint_from_the_aws_shared_files(env, remote: str, tmp_path: Path) -> None:
    """With no AWS_* credentials in the environment, the profile in ~/.aws/credentials and ~/.aws/config."""
    aws = tmp_path / "home" / ".aws"
    aws.mkdir(parents=True)
    (aws / "credentials").write_text(
        f"[default]\naws_access_key_id = nobody\naws_secret_access_key = wrong\n\n"
        f"[team]\naws_access_key_id = {env['AWS_ACCESS_KEY_ID']}\naws_secret_access_key = {env['AWS_SECRET_ACCESS_KEY']}\n"
    )
    endpoint = f"region = us-east-1\nendpoint_url = {env['AWS_ENDPOINT_URL']}\n"
    (aws / "config").write_text(f"[default]\n{endpoint}\n[profile team]\n{endpoint}")
    files_only = {
        k: v for k, v in env.items() if k not in {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"}
    }
    snap = tmp_path / "shared-files"
    write_snapshot(snap, make_snapshot_tables(5), name="shared-files", params={"seed": 1})
    refused = demoseed(files_only, "push", str(snap), remote, timeout=10)  # the default profile: a wrong secret
    assert refused.returncode == 2 and "access denied" in refused.stderr
    pushed = demoseed(files_only | {"AWS_PROFILE": "team"}, "push", str(snap), remote)
    assert pushed.returncode == 0, pushed.stderr
    assert keys(env, remote, "snapshots/") == [
        "snapshots/shared-files/manifest.json",
        "snapshots/shared-files/summary.json",
    ]


def test_load_of_a_remote_snapshot_equals_the_load_of_the_directory(
    env,
    remote: str,
    parted: Path,
    tmp_path: Path,
) -> None:
    """make load SNAPSHOT=s3://...: pulled into the cache, verified, then loaded like the local directory."""
    from tests.test_load import dump_duckdb

    assert demoseed(env, "push", str(parted), remote).returncode == 0
    as_of = ["--as-of", "2026-01-05T12:00"]
    local = demoseed(env, "load", str(parted), "--db-url", f"duckdb:///{tmp_path / 'local.duckdb'}", *as_of)
    assert local.returncode == 0, local.stderr
    shared = demoseed(
        env, "load", f"{remote}/{parted.name}", "--db-url", f"duckdb:///{tmp_path / 'shared.duckdb'}", *as_of
    )
    assert shared.returncode == 0, shared.stderr
    assert f"pulled {remote}/{parted.name}" in shared.stderr
    assert dump_duckdb(tmp_path / "shared.duckdb") == dump_duckdb(tmp_path / "local.duckdb")
    assert len(dump_duckdb(tmp_path / "shared.duckdb")["metrics_pullrequest"]) > 0
