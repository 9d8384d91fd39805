"""The process tuning (pipeline/base/tuning.py) and its plain fallbacks.

A load into a real PostgreSQL runs with glibc's allocator tuned when glibc is
there (mallopt before the load, malloc_trim between its steps), and runs the
same without it when the C library is not glibc or lacks those functions. The
start-up tuning freezes what is alive at the end of a command, and a command
ends as usual where ``gc.freeze`` is missing.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import gc
import subprocess
import sys
import types
from pathlib import Path

import pytest

from pipeline.base import tuning
from pipeline.runners.load import run_load
from tests.loaddata import write_test_snapshot

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

AS_OF = dt.datetime(2026, 3, 4, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_snapshot(tmp_path_factory.mktemp("snap") / "two-teams")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Every glibc call the tuning makes: (function, whether it reached glibc)."""
    seen: list[tuple[str, bool]] = []
    through = tuning._glibc_call

    def record(name: str, *args: int) -> bool:
        seen.append((name, reached := through(name, *args)))
        return reached

    cached = tuning._glibc
    monkeypatch.setattr(tuning, "_glibc_call", record)
    cached.cache_clear()
    yield seen
    cached.cache_clear()  # the next test finds glibc again


def _loaded(dsn: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("teams_team", "metrics_teammember", "metrics_pullrequest", "metrics_weeklymetrics")
        }


def _load(dsn: str, snapshot: Path) -> dict[str, int]:
    report = run_load(snapshot, dsn, as_of=AS_OF)
    assert report.ok and report.rows == 87
    return _loaded(dsn)


def test_a_load_on_glibc_tunes_the_allocator(pg_database: str, snapshot: Path, calls: list[tuple[str, bool]]) -> None:
    if tuning._glibc() is None:
        pytest.skip("not glibc")
    counts = _load(pg_database, snapshot)
    assert counts["teams_team"] == 2 and counts["metrics_pullrequest"] > 0
    assert calls[0] == ("mallopt", True)  # before the load
    assert calls[-1] == ("malloc_trim", True)  # after it
    assert ("malloc_trim", True) in calls[1:-1]  # between its steps


def test_a_load_without_glibc_runs_plain(
    pg_database: str, snapshot: Path, calls: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_glibc(name: str, *args: object, **kwargs: object) -> ctypes.CDLL:
        raise OSError(f"{name}: cannot open shared object file")  # what musl or macOS answer

    monkeypatch.setattr(ctypes, "CDLL", no_glibc)
    counts = _load(pg_database, snapshot)
    assert counts["teams_team"] == 2 and counts["metrics_pullrequest"] > 0
    assert tuning._glibc() is None
    assert calls and all(not reached for _, reached in calls)  # asked, and nothing called


def test_a_load_on_a_c_library_without_the_functions_runs_plain(
    pg_database: str, snapshot: Path, calls: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tuning, "_glibc", lambda: types.SimpleNamespace())  # a libc with neither function
    counts = _load(pg_database, snapshot)
    assert counts["teams_team"] == 2 and counts["metrics_pullrequest"] > 0
    assert {name for name, _ in calls} == {"mallopt", "malloc_trim"}
    assert all(not reached for _, reached in calls)


def test_end_command_freezes_and_is_skipped_where_freeze_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    code = (
        "import gc\n"
        "from pipeline.base import tuning\n"
        "tuning.start_command()\n"
        "assert gc.get_threshold() == tuning.GC_THRESHOLDS\n"
        "kept = [[i] for i in range(1000)]\n"
        "tuning.end_command()\n"
        "print(gc.get_freeze_count() >= 1000)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    monkeypatch.delattr(gc, "freeze")
    frozen = gc.get_freeze_count()
    tuning.end_command()  # another interpreter's gc: nothing to freeze, the command ends as usual
    assert gc.get_freeze_count() == frozen
