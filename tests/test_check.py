"""``demoseed check`` runs the whole load in its transaction and rolls it back: exit 0 exactly when ``load`` with
the same arguments succeeds, with load's own one-line refusal otherwise, and the database as it was (no file it
would create is left behind). ``--plan-only`` runs only the plan (schema and data fit), writing no rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import psycopg
import pytest

from pipeline.base.schemas import APP_LOAD_ORDER
from pipeline.cli import main
from pipeline.runners.load import Follow, run_check, run_load
from stages.load.app import probe_app
from stages.load.ddl import APP_SCHEMA_SQL
from tests.loaddata import write_test_snapshot
from tests.test_load import AS_OF
from tests.test_load_migrations import APP, PY, migrate
from tests.test_load_refusals import _state, changed, one_line_error, sqlite_bumping_additions

pytestmark = pytest.mark.slow  # whole loads rolled back in PostgreSQL and SQLite, the Django project's migrations

WHEN = "2026-03-04T12:00"


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_snapshot(tmp_path_factory.mktemp("checksnap") / "two-teams")


def check_json(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, dict]:
    code = main(["check", *args, "--as-of", WHEN, "--json"])
    return code, json.loads(capsys.readouterr().out)


def load_refusal(capsys: pytest.CaptureFixture, *args: str) -> str:
    assert main(["load", *args, "--as-of", WHEN]) != 0
    return one_line_error(capsys)


def pg_app(dsn: str, first: Path | None, setup: str = "") -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(APP_SCHEMA_SQL.read_text())
    if first is not None:
        assert run_load(first, dsn, as_of=AS_OF).ok
    if setup:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(setup)


def refused_alike(capsys: pytest.CaptureFixture, dsn: str, snap: Path) -> str:
    """check refuses with exit 2 and load's own line; the database (rows, next ids, schema) is as it was."""
    before = _state(dsn)
    code, doc = check_json(capsys, str(snap), "--db-url", dsn)
    assert code == 2 and doc["ok"] is False
    assert _state(dsn) == before
    assert doc["refusal"] == load_refusal(capsys, str(snap), "--db-url", dsn)
    assert _state(dsn) == before
    return str(doc["refusal"])


@pytest.mark.postgres
def test_check_finds_a_check_constraint_the_rows_break(
    pg_database: str, snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pg_app(pg_database, snapshot, "ALTER TABLE metrics_commit ADD CONSTRAINT small_commits CHECK (additions < 1000)")
    snap = changed(tmp_path, "metrics_commit", "additions", {5: 5000})
    assert refused_alike(capsys, pg_database, snap).startswith(
        'metrics_commit: snapshot row id 5 has additions = 5000, which breaks CHECK constraint "small_commits"'
    )
    assert main(["check", str(snap), "--db-url", pg_database, "--as-of", WHEN, "--plan-only"]) == 0  # rows unread


@pytest.mark.postgres
def test_check_finds_a_unique_constraint_the_rows_break(
    pg_database: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pg_app(pg_database, None, "ALTER TABLE metrics_prfile ADD CONSTRAINT one_file_per_team UNIQUE (team_id, filename)")
    snap = changed(tmp_path, "metrics_prfile", "filename", {3: "src/same.py", 4: "src/same.py"})
    assert 'which UNIQUE constraint "one_file_per_team" allows once' in refused_alike(capsys, pg_database, snap)


@pytest.mark.postgres
def test_check_on_a_clean_target_exits_0_names_the_rows_and_load_then_succeeds(
    pg_database: str, snapshot: Path, capsys: pytest.CaptureFixture
) -> None:
    pg_app(pg_database, None)
    before = _state(pg_database)
    code, doc = check_json(capsys, str(snapshot), "--db-url", pg_database)
    assert code == 0 and doc["ok"] is True and doc["refusal"] is None
    assert doc["rows"]["metrics_pullrequest"] == 8 and doc["rows"]["teams_team"] == 2
    assert _state(pg_database) == before
    assert not any(doc["differences"].values())
    built = next(n for n in doc["notes"] if n.startswith("built against app schema"))
    assert built.endswith(", the one this demoseed knows")  # no "differences above" when there are none
    assert main(["load", str(snapshot), "--db-url", pg_database, "--as-of", WHEN]) == 0
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT count(*) FROM metrics_pullrequest").fetchone() == (8,)


def sqlite_counts(db: Path) -> tuple[list[int], list[tuple]]:
    with sqlite3.connect(db) as con:
        counts = [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in APP_LOAD_ORDER]
        schema = con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY 1, 2").fetchall()
    return counts, schema


def test_check_finds_a_trigger_that_changes_the_rows(
    snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = sqlite_bumping_additions(tmp_path / "app.db")
    before = sqlite_counts(db)
    url = f"sqlite:///{db}"
    code, doc = check_json(capsys, str(snapshot), "--db-url", url)
    assert code == 2 and doc["refusal"].startswith(
        f"read-back from {url} differs from the snapshot (metrics_commit: read-back differs in additions)"
    )
    assert sqlite_counts(db) == before
    assert doc["refusal"] == load_refusal(capsys, str(snapshot), "--db-url", url)
    assert sqlite_counts(db) == before
    assert [p.name for p in tmp_path.iterdir()] == [db.name]  # no journal left


@pytest.mark.parametrize("kind", ["duckdb", "sqlite"])
def test_check_of_a_missing_file_runs_the_load_elsewhere_and_never_creates_it(
    kind: str, snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = tmp_path / f"app.{kind}"
    url = f"{kind}:///{db}"
    code, doc = check_json(capsys, str(snapshot), "--db-url", url, "--no-rebase-dates")
    assert code == 0 and doc["creates_tables"] == list(APP_LOAD_ORDER)
    assert doc["rows"]["metrics_pullrequest"] == 8
    assert any(f"{db} does not exist: load creates it" in n for n in doc["notes"])
    # the load instant holds back every row but the teams: load's refusal, found by check
    empty = ("--no-rebase-dates", "--as-of", "2020-01-01")
    assert main(["check", str(snapshot), "--db-url", url, *empty]) == 2
    out = capsys.readouterr().out
    assert main(["load", str(snapshot), "--db-url", url, *empty]) == 2
    line = one_line_error(capsys)
    assert line.startswith("the load instant (2020-01-01 23:59 UTC) holds back every row but the teams")
    assert out.rstrip().endswith(f"load would fail: {line}")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert main(["load", str(snapshot), "--db-url", url, "--no-rebase-dates", "--as-of", WHEN]) == 0
    assert db.exists()
    before = db_counts(kind, db)
    capsys.readouterr()
    code, doc = check_json(capsys, str(snapshot), "--db-url", url, "--no-rebase-dates", "--clear")
    assert code == 0 and doc["clear"]["teams"] == ["alpha", "beta"] and doc["clear"]["deleted"]["metrics_commit"] == 8
    assert db_counts(kind, db) == before and [p.name for p in tmp_path.iterdir()] == [db.name]


def db_counts(kind: str, db: Path) -> list[int]:
    if kind == "sqlite":
        return sqlite_counts(db)[0]
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in APP_LOAD_ORDER]


# -- what the snapshot was made for: the app's migrations (snapshot --app), newer or older targets ----------------

# the migration graph's leaf: the un-numbered pullrequest_public_id before it sorts after it by name
METRICS_LATEST, TEAMS_LATEST = "0005_teammember_first_seen_commit_trace_id", "0002_timezone_and_demo_flag"
LEGACY = ["snapshot", "--teams", "3", "--members", "4", "--prs", "30", "--seed", "42", "--no-github"]


def test_snapshot_with_app_records_its_migrations_outside_the_id_and_describe_names_them(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from pipeline.base.manifest import verify_snapshot
    from tests.test_pinned_snapshots import PINNED

    assert main([*LEGACY, "--output", str(tmp_path / "with"), "--app", str(APP), "--app-python", PY]) == 0
    assert main([*LEGACY, "--output", str(tmp_path / "without")]) == 0
    made = verify_snapshot(tmp_path / "with")
    plain = verify_snapshot(tmp_path / "without")
    assert made.snapshot_id == plain.snapshot_id == PINNED["legacy"][0]
    assert made.app_migrations == {"metrics": METRICS_LATEST, "teams": TEAMS_LATEST}
    assert plain.app_migrations is None
    assert not (APP / "app.sqlite3").exists()  # the probe never creates the app's (unset) SQLite database
    capsys.readouterr()
    assert main(["describe", str(tmp_path / "with")]) == 0
    sha = made.app_schema_sha256
    assert sha is not None
    out = capsys.readouterr().out
    assert (
        f"built against app schema {sha[:12]}, for app migrations metrics.{METRICS_LATEST}, teams.{TEAMS_LATEST}"
        in (" ".join(out.split()))
    )
    assert main(["describe", str(tmp_path / "without")]) == 0
    assert "app migrations not recorded (made without --app)" in capsys.readouterr().out


def made_for(where: Path, migrations: dict[str, str]) -> Path:
    from pipeline.base.manifest import recording_app_migrations

    with recording_app_migrations(migrations):
        return write_test_snapshot(where)


def sqlite_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *targets: str) -> str:
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    migrate(url, *targets)
    monkeypatch.setenv("DJANGOAPP_DATABASE_URL", url)
    return url


def test_check_and_load_say_the_target_is_newer_in_which_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_app(tmp_path, monkeypatch)
    snap = made_for(tmp_path / "old", {"metrics": "0002_fields_with_defaults", "teams": TEAMS_LATEST})
    want = (
        f"target is newer: metrics 0003_remove_teammember_slack_user_id .. {METRICS_LATEST} (4) "
        "applied after this snapshot was made"
    )
    follow = Follow(app=APP, app_python=PY)
    assert want in run_check(snap, None, as_of=AS_OF, follow=follow).notes
    assert want in run_check(snap, None, as_of=AS_OF, follow=follow, plan_only=True).notes
    assert want in run_load(snap, None, as_of=AS_OF, follow=follow).notes


def test_check_says_the_target_is_older(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = sqlite_app(tmp_path, monkeypatch, "metrics", "0002")
    recorded = probe_app(APP, PY, list(APP_LOAD_ORDER)).defined
    assert recorded == {"metrics": METRICS_LATEST, "teams": TEAMS_LATEST}
    snap = made_for(tmp_path / "new", recorded)
    checked = run_check(snap, url, as_of=AS_OF)
    assert not checked.ok  # the columns of teams 0002 / metrics 0002 have no value without --app or --fill
    assert f"target is older: metrics is at 0002_fields_with_defaults, the snapshot at {METRICS_LATEST}" in " | ".join(
        checked.notes
    )


def test_without_recorded_migrations_check_names_the_columns_the_target_differs_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    url = sqlite_app(tmp_path, monkeypatch)
    snap = write_test_snapshot(tmp_path / "plain")
    assert main(["check", str(snap), "--app", str(APP), "--app-python", PY, "--as-of", WHEN]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("target differs from the schema"))
    assert line == (
        "target differs from the schema this snapshot was built against in: teams_team.is_demo (added), "
        "teams_team.timezone_name (added), metrics_teammember.slack_user_id (removed), metrics_teammember.joined_at "
        "(added), metrics_teammember.first_seen (added), metrics_pullrequest.extra_data (added), "
        "metrics_pullrequest.review_tags (added), metrics_pullrequest.risk_level (added), "
        "metrics_pullrequest.public_id (added), metrics_commit.trace_id (added), "
        "metrics_jiraissue.sprint_name (renamed to sprint_title)"
    )
    assert url.startswith("sqlite:///")
    loaded = run_load(snap, None, as_of=AS_OF, follow=Follow(app=APP, app_python=PY))
    assert line in loaded.notes and any(line in s for s in loaded.summary_lines())
