"""push / pull / ls (issue 21) against a real S3 server (SeaweedFS, tests/s3server.py) and a file:// remote:
byte-identical round trips, content-addressed deduplication, verification, the cache, signatures."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from pipeline.base.manifest import canonical_json, read_manifest, snapshot_id, write_snapshot
from pipeline.cli import main
from tests.s3server import BUCKET
from tests.tablefactory import make_snapshot_tables, make_table
from tests.test_makefile import fake_venv, make  # noqa: F401  (fake_venv: a fixture)

pytestmark = pytest.mark.slow  # pushes and pulls, some against a real S3 server

_names = itertools.count()
PARTED = ["snapshot", "--scenario", "review-bottleneck", "--teams", "4", "--seed", "7", "--no-github"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def objects(root: Path) -> dict[str, int]:
    """A file:// remote's objects: name -> inode (an object rewritten gets a new one)."""
    where = root / "objects" / "sha256"
    return {p.name: p.stat().st_ino for p in where.iterdir()} if where.is_dir() else {}


def same_tree(a: Path, b: Path) -> bool:
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*"))
    if names != sorted(p.relative_to(b).as_posix() for p in b.rglob("*")):
        return False
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names if (a / n).is_file())


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Cache, signing key and trust file of the test's own (never the user's), no trust file above."""
    monkeypatch.setenv("DEMOSEED_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEMOSEED_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("DEMOSEED_TRUST", raising=False)
    monkeypatch.delenv("DEMOSEED_SIGNING_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def flat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A format-1 snapshot (one file per table)."""
    directory = tmp_path_factory.mktemp("flat") / "flat-seed3"
    write_snapshot(directory, make_snapshot_tables(40), name="flat-seed3", params={"seed": 3})
    return directory


@pytest.fixture(scope="module")
def parted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot in parts (format 2: tables as directories of part files)."""
    root = tmp_path_factory.mktemp("parted")
    out = root / "parted-seed7"
    old = os.environ.get("DEMOSEED_DATA")
    os.environ["DEMOSEED_DATA"] = str(root / "data")
    try:
        assert main([*PARTED, "-o", str(out), "--partition-teams", "1"]) == 0
    finally:
        if old is None:
            os.environ.pop("DEMOSEED_DATA", None)
        else:
            os.environ["DEMOSEED_DATA"] = old
    assert any(p.is_dir() for p in out.iterdir())
    return out


@pytest.fixture(params=["file", "s3"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "file":
        return f"file://{tmp_path / 'remote'}"
    server = request.getfixturevalue("s3_server")
    monkeypatch = request.getfixturevalue("monkeypatch")
    for k, v in server.env().items():
        monkeypatch.setenv(k, v)
    return f"s3://{BUCKET}/t{os.getpid()}-{next(_names)}"


@pytest.mark.parametrize("which", ["flat", "parted"])
def test_round_trip_is_byte_identical(which: str, request, remote: str, tmp_path: Path, capsys) -> None:
    snap: Path = request.getfixturevalue(which)
    rc, out, err = run(capsys, "push", str(snap), remote)
    assert rc == 0, err
    assert out.strip() == f"{remote}/{snap.name}"
    files = [p for p in snap.rglob("*.parquet")]
    assert f"{len(files)} files uploaded" in err
    rc, out, err = run(capsys, "pull", f"{remote}/{snap.name}", "-d", str(tmp_path / "got"))
    assert rc == 0, err
    assert out.strip() == str(tmp_path / "got" / snap.name)
    assert same_tree(snap, tmp_path / "got" / snap.name)
    assert f"{len(files)} files downloaded" in err and "verified" in err
    # a second pull elsewhere comes from the cache
    rc, _, err = run(capsys, "pull", f"{remote}/{snap.name}", "-d", str(tmp_path / "again"))
    assert rc == 0 and f"0 files downloaded (0.0 MB, 0 bytes), {len(files)} from the cache" in err
    assert same_tree(snap, tmp_path / "again" / snap.name)


def test_push_takes_latest_like_the_reading_commands(flat: Path, isolated: Path, capsys) -> None:
    """`push --latest REMOTE` pushes the newest snapshot under data/snapshots, as `push REMOTE` does;
    a SNAPSHOT together with --latest is refused as load/describe/verify/check refuse it."""
    shutil.copytree(flat, isolated / "data" / "snapshots" / flat.name)
    remote = f"file://{isolated / 'remote'}"
    rc, out, err = run(capsys, "push", "--latest", remote)
    assert rc == 0, err
    assert out.strip() == f"{remote}/{flat.name}"
    rc, out, err = run(capsys, "push", remote, "--name", "again")  # no SNAPSHOT: the newest, still
    assert (rc, out.strip()) == (0, f"{remote}/again")
    rc, out, err = run(capsys, "push", str(flat), remote, "--latest")
    assert rc == 2 and out == ""
    assert "give either a snapshot path or --latest, not both" in err


def test_repush_uploads_nothing_and_shared_tables_upload_once(flat: Path, tmp_path: Path, capsys) -> None:
    root = tmp_path / "remote"
    remote = f"file://{root}"
    assert run(capsys, "push", str(flat), remote)[0] == 0
    before = objects(root)
    assert len(before) == len(list(flat.glob("*.parquet")))
    rc, _, err = run(capsys, "push", str(flat), remote)
    assert rc == 0 and "nothing uploaded" in err
    assert objects(root) == before  # not one object written again
    # another snapshot sharing all tables but one: only that table's file goes up
    tables = make_snapshot_tables(40)
    tables["teams_team"] = make_table(read_spec("teams_team"), 40, salt=9)
    other = tmp_path / "other-seed4"
    write_snapshot(other, tables, name="other-seed4", params={"seed": 4})
    rc, _, err = run(capsys, "push", str(other), remote)
    assert rc == 0
    changed = (other / "teams_team.parquet").stat().st_size
    assert f"1 files uploaded (0.0 MB, {changed} bytes), {len(before) - 1} already there" in err
    after = objects(root)
    assert set(after) - set(before) == {read_manifest(other).tables["teams_team"].sha256}
    assert all(after[k] == v for k, v in before.items())


def read_spec(name: str):
    from pipeline.base.schemas import spec

    return spec(name)


@pytest.mark.parametrize("damage", ["tampered", "truncated"])
def test_a_damaged_object_is_refused_and_nothing_is_left(
    damage: str, flat: Path, remote: str, tmp_path: Path, capsys
) -> None:
    assert run(capsys, "push", str(flat), remote)[0] == 0
    victim = read_manifest(flat).tables["metrics_pullrequest"].sha256
    good = (flat / "metrics_pullrequest.parquet").read_bytes()
    bad = good[:-1] + bytes([good[-1] ^ 1]) if damage == "tampered" else good[: len(good) // 2]
    _put(remote, f"objects/sha256/{victim}", bad)
    rc, out, err = run(capsys, "pull", f"{remote}/{flat.name}", "-d", str(tmp_path / "got"))
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "does not match its sha256 or size" in err, err
    assert not (tmp_path / "got" / flat.name).exists()
    assert not list((tmp_path / "got").glob(".*")) if (tmp_path / "got").exists() else True
    assert not (tmp_path / "cache" / "objects" / "sha256" / victim).exists()
    leftovers = [p.name for p in (tmp_path / "cache" / "objects" / "sha256").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def _put(remote: str, key: str, data: bytes) -> None:
    import obstore

    from pipeline.remote.store import Remote

    obstore.put(Remote.parse(remote).open(), key, data)


def test_partial_pull_takes_only_the_tables_asked(parted: Path, tmp_path: Path, capsys) -> None:
    remote = f"file://{tmp_path / 'remote'}"
    assert run(capsys, "push", str(parted), remote)[0] == 0
    rc, _, err = run(
        capsys,
        "pull",
        f"{remote}/{parted.name}",
        "-d",
        str(tmp_path / "got"),
        "--tables",
        "teams_team,demoseed_team_weekly",
    )
    assert rc == 0, err
    got = tmp_path / "got" / parted.name
    names = sorted(p.relative_to(got).as_posix() for p in got.rglob("*") if p.is_file())
    expected = sorted(f for t in ("teams_team", "demoseed_team_weekly") for f in read_manifest(parted).tables[t].files)
    assert names == sorted([*expected, "manifest.json"])
    assert all((got / f).read_bytes() == (parted / f).read_bytes() for f in expected)
    rc, _, err = run(capsys, "pull", f"{remote}/{parted.name}", "-d", str(tmp_path / "x"), "--tables", "nope")
    assert rc == 2 and "has no table 'nope'" in err


def test_signature_checked_against_the_trust_file(flat: Path, tmp_path: Path, capsys) -> None:
    remote = f"file://{tmp_path / 'remote'}"
    rc, out, err = run(capsys, "keygen", "-C", "alice@team")
    assert rc == 0
    key = tmp_path / "config" / "demoseed" / "id_ed25519"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    alice = out.strip()
    assert alice.startswith("ssh-ed25519 ") and alice.endswith(" alice@team")
    assert (tmp_path / "config" / "demoseed" / "id_ed25519.pub").read_text().strip() == alice
    assert run(capsys, "keygen")[0] == 2  # never overwrites a key
    rc, _, err = run(capsys, "keygen", "-o", str(tmp_path / "mallory"), "-C", "mallory")
    mallory = (tmp_path / "mallory.pub").read_text().strip()

    rc, _, err = run(capsys, "push", str(flat), remote)
    assert rc == 0 and "signed by alice@team (SHA256:" in err
    trust = tmp_path / ".demoseed-trust"
    trust.write_text(f"# the team\n{alice}\n")
    rc, _, err = run(capsys, "pull", f"{remote}/{flat.name}", "-d", str(tmp_path / "ok"))
    assert rc == 0 and "signed by alice@team" in err

    trust.write_text(f"{mallory}\n")  # alice is not listed: refused
    rc, _, err = run(capsys, "pull", f"{remote}/{flat.name}", "-d", str(tmp_path / "no"))
    assert rc == 2 and "a key the trust file does not list" in err and not (tmp_path / "no").exists()
    rc, _, err = run(capsys, "load", f"{remote}/{flat.name}", "--db-url", f"sqlite:///{tmp_path / 'x.db'}")
    assert rc == 2 and "a key the trust file does not list" in err and not (tmp_path / "x.db").exists()

    # signed by mallory, trusted by an explicit --trust; an unsigned push is refused under a trust file
    rc, _, err = run(capsys, "push", str(flat), remote, "--name", "by-mallory", "--key", str(tmp_path / "mallory"))
    assert rc == 0 and "signed by mallory" in err
    assert run(capsys, "pull", f"{remote}/by-mallory", "-d", str(tmp_path / "m"))[0] == 0
    assert run(capsys, "push", str(flat), remote, "--name", "unsigned", "--unsigned")[0] == 0
    rc, _, err = run(capsys, "pull", f"{remote}/unsigned", "-d", str(tmp_path / "u"))
    assert rc == 2 and "is not signed and the trust file requires a signature" in err
    trust.unlink()
    assert run(capsys, "pull", f"{remote}/unsigned", "-d", str(tmp_path / "u"))[0] == 0

    # a manifest changed in the remote after signing: the signature no longer matches, trust file or not
    manifest_key = tmp_path / "remote" / "snapshots" / flat.name / "manifest.json"
    doc = json.loads(manifest_key.read_bytes())
    doc["notes"] = ["edited"]
    doc["snapshot_id"] = snapshot_id(doc)
    sig = tmp_path / "remote" / "snapshots" / flat.name / "signatures"
    old = {p.name: p.read_bytes() for p in sig.iterdir()}
    manifest_key.write_text(canonical_json(doc))
    import hashlib

    (sig / f"{hashlib.sha256(manifest_key.read_bytes()).hexdigest()}.sig").write_bytes(next(iter(old.values())))
    rc, _, err = run(capsys, "pull", f"{remote}/{flat.name}", "-d", str(tmp_path / "t"))
    assert rc == 2 and "the signature does not match the manifest" in err and not (tmp_path / "t").exists()

    rc, out, _ = run(capsys, "ls", remote, "--json", "--verify")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["by-mallory"]["created_by"] == "mallory" and rows["by-mallory"]["signature"] == "valid"
    assert rows["unsigned"]["signature"] == "unsigned" and rows["unsigned"]["signer"] is None
    assert rows[flat.name]["signature"] == "INVALID"
    trust.write_text(f"{mallory}\n")
    rc, out, _ = run(capsys, "ls", remote, "--json")  # the keys named, unchecked
    rows = {r["name"]: r for r in json.loads(out)}
    assert [rows[n]["signature"] for n in (flat.name, "by-mallory", "unsigned")] == ["untrusted", "trusted", "unsigned"]
    rc, out, _ = run(capsys, "ls", remote, "--verify")
    assert [line.split()[0] for line in out.splitlines()] == ["NAME", "by-mallory", flat.name, "unsigned"]
    assert "(trusted)" in out and "(INVALID)" in out
    assert rows["unsigned"]["seed"] == 3 and rows["unsigned"]["id"] == read_manifest(flat).snapshot_id
    assert rows["unsigned"]["bytes"] == sum(p.stat().st_size for p in flat.glob("*.parquet"))


def test_ls_reads_the_summary_push_writes_and_old_pushes_still_list(remote: str, tmp_path: Path, capsys) -> None:
    import hashlib

    import obstore

    from pipeline.remote.share import summary_key
    from pipeline.remote.store import Remote

    run(capsys, "keygen", "-C", "carol@team")
    first = tmp_path / "first-seed3"
    write_snapshot(
        first, make_snapshot_tables(40), name="first-seed3", params={"seed": 3, "request": {"scenario": "x"}}
    )
    other = tmp_path / "other-seed5"
    write_snapshot(other, make_snapshot_tables(41), name="other-seed5", params={"seed": 5})
    assert run(capsys, "push", str(first), remote)[0] == 0
    assert run(capsys, "push", str(first), remote, "--name", "unsigned", "--unsigned")[0] == 0
    store = Remote.parse(remote).open()
    summary = json.loads(bytes(obstore.get(store, summary_key(first.name)).bytes()))
    manifest = (first / "manifest.json").read_bytes()
    assert summary["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert (summary["scenario"], summary["seed"], summary["id"]) == ("x", 3, read_manifest(first).snapshot_id)
    assert summary["bytes"] == sum(p.stat().st_size for p in first.glob("*.parquet"))
    assert "carol@team" in summary["signature"]

    rc, out, _ = run(capsys, "ls", remote, "--json")
    with_summaries = json.loads(out)
    assert [(r["name"], r["created_by"], r["signature"]) for r in with_summaries] == [
        (first.name, "carol@team", "signed"),
        ("unsigned", None, "unsigned"),
    ]
    # a snapshot pushed before summaries were written (no summary.json) lists the same, from its manifest
    for name in (first.name, "unsigned"):
        obstore.delete(store, summary_key(name))
    rc, out, _ = run(capsys, "ls", remote, "--json")
    assert rc == 0 and json.loads(out) == with_summaries
    assert run(capsys, "push", str(first), remote)[0] == 0  # an unchanged re-push adds the missing summary
    again = json.loads(bytes(obstore.get(store, summary_key(first.name)).bytes()))
    assert again == summary

    # --force replaces the summary with the new manifest's; --verify reads the manifest, not a summary
    assert run(capsys, "push", str(other), remote, "--name", first.name, "--force")[0] == 0
    rows = {r["name"]: r for r in json.loads(run(capsys, "ls", remote, "--json")[1])}
    assert rows[first.name]["id"] == read_manifest(other).snapshot_id and rows[first.name]["seed"] == 5
    lie = json.loads(bytes(obstore.get(store, summary_key(first.name)).bytes())) | {"seed": 99, "id": "forged"}
    obstore.put(store, summary_key(first.name), json.dumps(lie).encode())
    rows = {r["name"]: r for r in json.loads(run(capsys, "ls", remote, "--json", "--verify")[1])}
    assert rows[first.name]["seed"] == 5 and rows[first.name]["id"] == read_manifest(other).snapshot_id
    assert rows[first.name]["signature"] == "valid"


def test_commands_read_a_remote_snapshot_through_the_cache(flat: Path, tmp_path: Path, capsys) -> None:
    remote = f"file://{tmp_path / 'remote'}"
    assert run(capsys, "push", str(flat), remote)[0] == 0
    rc, out, err = run(capsys, "verify", f"{remote}/{flat.name}")
    assert rc == 0, err
    assert f"id {read_manifest(flat).snapshot_id}" in out and str(tmp_path / "cache" / "snapshots") in out
    rc, _, err = run(capsys, "verify", f"{remote}/missing")
    assert (
        rc == 2
        and err.strip() == f"error: no snapshot 'missing' in {remote}; 'demoseed ls {remote}' lists the names there"
    )


def test_describe_reads_a_remote_snapshot(parted: Path, tmp_path: Path, capsys) -> None:
    remote = f"file://{tmp_path / 'remote'}"
    assert run(capsys, "push", str(parted), remote)[0] == 0
    rc, local, _ = run(capsys, "describe", str(parted))
    assert rc == 0
    rc, shared, err = run(capsys, "describe", f"{remote}/{parted.name}")
    assert rc == 0, err
    cached = tmp_path / "cache" / "snapshots"
    assert shared.startswith(str(cached)) and "review-bottleneck, seed 7" in shared.splitlines()[0]
    assert shared.split("\n", 1)[1] == local.split("\n", 1)[1]  # the same weeks, from the pulled copy


def test_a_name_holding_another_snapshot_needs_force(flat: Path, tmp_path: Path, capsys) -> None:
    remote = f"file://{tmp_path / 'remote'}"
    assert run(capsys, "push", str(flat), remote, "--name", "shared")[0] == 0
    other = tmp_path / "other"
    write_snapshot(other, make_snapshot_tables(41), name="other", params={"seed": 5})
    rc, _, err = run(capsys, "push", str(other), remote, "--name", "shared")
    assert rc == 2 and "already holds a different snapshot" in err
    assert (tmp_path / "remote" / "snapshots" / "shared" / "manifest.json").read_bytes() == (
        flat / "manifest.json"
    ).read_bytes()
    rc, _, err = run(capsys, "push", str(other), remote, "--name", "shared", "--force")
    assert rc == 0 and "replaced the previous snapshot" in err
    assert (tmp_path / "remote" / "snapshots" / "shared" / "manifest.json").read_bytes() == (
        other / "manifest.json"
    ).read_bytes()


def test_make_push_and_pull_pass_values_as_data(fake_venv: Path, tmp_path: Path) -> None:  # noqa: F811
    """make push/pull hand REMOTE, SNAPSHOT and REF to demoseed as single arguments (spaces, quotes and
    ';' are data), and make load takes a remote SNAPSHOT."""
    odd = "file:///tmp/a dir/x'; touch PWNED; echo '"
    out, calls = make("push", fake_venv, tmp_path, f"REMOTE={odd}", "SNAPSHOT=my snap")
    assert out.returncode == 0, out.stderr
    assert [c["argv"] for c in calls] == [["push", "my snap", odd]]
    out, calls = make("push", fake_venv, tmp_path, f"REMOTE={odd}")
    assert [c["argv"] for c in calls] == [["push", odd]]
    out, calls = make("pull", fake_venv, tmp_path, f"REF={odd}/name")
    assert [c["argv"] for c in calls] == [["pull", f"{odd}/name"]]
    out, calls = make("load", fake_venv, tmp_path, "SNAPSHOT=s3://bucket/team/ai-success-seed42")
    assert [c["argv"] for c in calls] == [["load", "s3://bucket/team/ai-success-seed42"]]
    out, calls = make("push", fake_venv, tmp_path)
    assert out.returncode != 0 and calls == [] and "give REMOTE=" in out.stderr
    assert not (tmp_path / "PWNED").exists()


def test_a_static_http_host_of_a_pushed_prefix_serves_pulls(flat: Path, tmp_path: Path, capsys) -> None:
    """A pushed prefix copied to a static web server (here Python's, on 127.0.0.1) is a read-only remote."""
    import functools
    import http.server
    import threading

    root = tmp_path / "remote"
    assert run(capsys, "push", str(flat), f"file://{root}")[0] == 0

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        remote = f"http://127.0.0.1:{server.server_address[1]}"
        rc, _, err = run(capsys, "pull", f"{remote}/{flat.name}", "-d", str(tmp_path / "got"))
        assert rc == 0, err
        assert same_tree(flat, tmp_path / "got" / flat.name)
        rc, _, err = run(capsys, "push", str(flat), remote)
        assert rc == 2 and "is read only" in err
        rc, _, err = run(capsys, "pull", f"{remote}/absent", "-d", str(tmp_path / "x"))
        assert rc == 2 and err.count("\n") == 1 and "absent" in err, err
    finally:
        server.shutdown()
        server.server_close()


def test_a_key_push_cannot_use_says_what_to_do(flat: Path, tmp_path: Path, capsys) -> None:
    """A passphrase-protected ~/.ssh/id_ed25519 (found by default) or an RSA key: one line naming the ways out."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    ssh = tmp_path / "home" / ".ssh"
    ssh.mkdir(parents=True)
    if shutil.which("ssh-keygen"):
        made = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "passphrase", "-C", "me", "-f", str(ssh / "id_ed25519")]
        subprocess.run(made, check=True, capture_output=True)
    else:
        (ssh / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n")
    remote = f"file://{tmp_path / 'remote'}"
    rc, _, err = run(capsys, "push", str(flat), remote)
    assert rc == 2 and err.count("\n") == 1 and "not an unencrypted OpenSSH private key" in err and "--unsigned" in err
    assert not (tmp_path / "remote" / "snapshots").exists()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    (tmp_path / "rsa").write_bytes(rsa_key)
    rc, _, err = run(capsys, "push", str(flat), remote, "--key", str(tmp_path / "rsa"))
    assert rc == 2 and "not an Ed25519 key" in err
    rc, _, err = run(capsys, "push", str(flat), remote, "--unsigned")
    assert rc == 0 and "unsigned" in err


def test_a_partial_pull_is_completed_by_a_full_one(flat: Path, tmp_path: Path, capsys) -> None:
    remote = f"file://{tmp_path / 'remote'}"
    assert run(capsys, "push", str(flat), remote)[0] == 0
    ref = f"{remote}/{flat.name}"
    assert run(capsys, "pull", ref, "-d", str(tmp_path / "got"), "--tables", "teams_team")[0] == 0
    rc, _, err = run(capsys, "pull", ref, "-d", str(tmp_path / "got"))
    assert rc == 0, err
    assert same_tree(flat, tmp_path / "got" / flat.name)
    rc, _, err = run(capsys, "pull", ref, "-d", str(tmp_path / "got"))
    assert rc == 0 and "up to date" in err
    for bad in ("s3://bucket", f"{remote}/bad name"):
        rc, _, err = run(capsys, "pull", bad)
        assert rc == 2 and err.count("\n") == 1, err


def test_a_changed_local_file_stops_the_push_before_the_manifest(flat: Path, tmp_path: Path, capsys) -> None:
    snap = tmp_path / "changed"
    shutil.copytree(flat, snap)
    path = snap / "metrics_prreview.parquet"
    data = path.read_bytes()
    path.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    remote = f"file://{tmp_path / 'remote'}"
    rc, out, err = run(capsys, "push", str(snap), remote)
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert "metrics_prreview.parquet: sha256 of the file differs from the manifest" in err
    assert not (tmp_path / "remote" / "snapshots").exists()
    assert read_manifest(flat).tables["metrics_prreview"].sha256 not in objects(tmp_path / "remote")
    doc = json.loads((flat / "manifest.json").read_bytes())
    doc["params"]["seed"] = 99  # an edited manifest: its id no longer matches
    shutil.copy(flat / "metrics_prreview.parquet", path)
    (snap / "manifest.json").write_text(canonical_json(doc))
    rc, _, err = run(capsys, "push", str(snap), remote)
    assert rc == 2 and "snapshot_id does not match its contents" in err


def test_a_pull_destination_that_cannot_be_written_is_refused_before_any_download(
    flat: Path, tmp_path: Path, capsys
) -> None:
    remote = f"file://{tmp_path / 'remote'}"
    assert run(capsys, "push", str(flat), remote, "--unsigned")[0] == 0
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    for dest, says in ((Path("/proc/x"), "cannot write in /proc"), (a_file / "sub", f"{a_file} is a file")):
        rc, out, err = run(capsys, "pull", f"{remote}/flat-seed3", "-d", str(dest))
        assert rc == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: cannot pull into"), err
        assert says in lines[0] and "give a folder you can write to" in lines[0], err
        assert out == ""
        assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("objects/*/*"))
    assert a_file.read_text() == "mine"
