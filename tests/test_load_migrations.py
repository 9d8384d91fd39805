"""Loading after the app's next migration: a real Django project (tests/djangoapp) migrated into PostgreSQL and SQLite.

tests/djangoapp is written for these tests (not the app's code): apps ``teams``
and ``metrics`` whose 0001 migrations create the 13 tables demoseed loads,
then later migrations the way Django writes them: ``AddField`` with
``default=''``, ``False``, ``list``, ``dict``, ``timezone.now``; one field with
``db_default``; a removed field (``slack_user_id``) and a renamed one
(``sprint_name`` -> ``sprint_title``). Every row of issue 20's table is a test
here, each refused or mis-worded before the load plan existed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from pipeline.base.errors import UserError
from pipeline.cli import main
from pipeline.runners.load import Follow, run_check, run_load
from stages.load.ddl import APP_SCHEMA_SQL
from tests.loaddata import build_tables, write_test_snapshot
from tests.test_load import AS_OF

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

APP = Path(__file__).resolve().parent / "djangoapp"
PY = sys.executable  # the test environment's interpreter has Django (the dev extra)


def migrate(url: str, *targets: str) -> None:
    """Run the test project's own ``manage.py migrate`` (optionally to ``app_label migration``) against ``url``."""
    env = {**os.environ, "DJANGOAPP_DATABASE_URL": url}
    args = [PY, "manage.py", "migrate", "--noinput", "-v0", *targets]
    subprocess.run(args, cwd=APP, env=env, check=True, capture_output=True, timeout=300)


def rows(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_snapshot(tmp_path_factory.mktemp("migsnap") / "two-teams")


@pytest.fixture
def app_pg(pg_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """pg_database migrated by the test project to its latest migrations; the project's settings point at it."""
    migrate(pg_database)
    monkeypatch.setenv("DJANGOAPP_DATABASE_URL", pg_database)
    return pg_database


def app_schema_db(dsn: str, *alter: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(APP_SCHEMA_SQL.read_text())
        for stmt in alter:
            conn.execute(stmt)


# -- after an ordinary migration -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_after_the_apps_migrations_load_with_app_uses_its_model_defaults(app_pg: str, snapshot: Path) -> None:
    report = run_load(snapshot, None, as_of=AS_OF, follow=Follow(app=APP, app_python=PY))
    assert report.ok and report.target.startswith("postgresql://postgres@127.0.0.1")
    assert rows(app_pg, "SELECT DISTINCT is_demo, timezone_name FROM teams_team") == [(False, "")]
    assert rows(app_pg, "SELECT DISTINCT joined_at FROM metrics_teammember") == [(AS_OF,)]
    assert rows(app_pg, "SELECT DISTINCT review_tags, extra_data, risk_level FROM metrics_pullrequest") == [
        ([], {}, "low")
    ]
    sprints = sorted(build_tables()["metrics_jiraissue"].column("sprint_name").to_pylist())
    assert sorted(r[0] for r in rows(app_pg, "SELECT sprint_title FROM metrics_jiraissue")) == sprints
    text = " | ".join(report.summary_lines())
    for needle in (
        "teams_team.is_demo: false (the app's model default)",
        "teams_team.timezone_name: '' (the app's model default)",
        "metrics_teammember.joined_at: the load instant (timezone.now) (the app's model default)",
        "metrics_pullrequest.review_tags: [] (the app's model default)",
        "metrics_pullrequest.extra_data: {} (the app's model default)",
        "metrics_pullrequest.risk_level: by the database (db_default)",
        "metrics_jiraissue.sprint_name: written to sprint_title (the app's migrations renamed it)",
        "metrics_teammember.slack_user_id: not in the target, and the app's models confirm it is gone",
        # by the migration graph: the un-numbered pullrequest_public_id sorts after 0005 by name, not in the graph
        f"latest migrations applied metrics.{METRICS_LEAF}, teams.0002_timezone_and_demo_flag",
    ):
        assert needle in text, needle


METRICS_LEAF = "0005_teammember_first_seen_commit_trace_id"


def row_uuid(snapshot: Path, table: str, column: str, row_id: int) -> uuid.UUID:
    """The UUID a per-row default (uuid.uuid4) gets: from md5(snapshot id / table.column / the row's id), v4 layout."""
    sid = json.loads((snapshot / "manifest.json").read_text())["snapshot_id"]
    digest = hashlib.md5(f"{sid}/{table}.{column}/{row_id}".encode()).digest()
    return uuid.UUID(bytes=digest, version=4)


@pytest.mark.postgres
def test_uuid4_default_is_a_uuid_per_row_derived_from_the_row_and_date_today_the_load_instants_date(
    app_pg: str, snapshot: Path
) -> None:
    follow = Follow(app=APP, app_python=PY)
    as_of = dt.datetime(2026, 3, 4, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))  # 2026-03-05 in UTC
    checked = run_check(snapshot, None, as_of=as_of, follow=follow)
    assert checked.ok, checked.refusal
    report = run_load(snapshot, None, as_of=as_of, follow=follow)
    assert report.ok
    got = rows(app_pg, "SELECT id, public_id FROM metrics_pullrequest ORDER BY id")
    assert len(got) == 8 and len({u for _, u in got}) == 8
    assert got == [(i, row_uuid(snapshot, "metrics_pullrequest", "public_id", i)) for i, _ in got]
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for _, u in got)
    assert rows(app_pg, "SELECT DISTINCT first_seen FROM metrics_teammember") == [(dt.date(2026, 3, 5),)]
    assert rows(app_pg, "SELECT count(*) FROM metrics_commit WHERE trace_id IS NULL") == rows(
        app_pg, "SELECT count(*) FROM metrics_commit"
    )
    text = " | ".join(report.summary_lines())
    assert (
        "metrics_pullrequest.public_id: a UUID per row, derived from the row (the app's default uuid.uuid4) "
        "(the app's model default)"
    ) in text
    assert (
        "metrics_teammember.first_seen: the load instant's date (UTC, as Django with TIME_ZONE=UTC; "
        "datetime.date.today) (the app's model default)"
    ) in text


def test_app_defaults_called_per_row_are_told_apart_in_the_apps_process() -> None:
    import datetime
    import secrets

    from django.db import models
    from django.utils import timezone

    from stages.load.appprobe import _default

    assert _default(models.UUIDField(default=uuid.uuid4))[2:] == ("uuid", "uuid.uuid4")
    assert _default(models.DateField(default=datetime.date.today))[1:3] == ("now", None)
    assert _default(models.DateField(default=timezone.localdate))[1:3] == ("now", None)
    assert _default(models.DateTimeField(default=timezone.now))[1:3] == ("now", None)
    assert _default(models.DateTimeField(default=datetime.datetime.now))[1:3] == ("now", None)  # a builtin classmethod
    assert _default(models.CharField(default=secrets.token_hex))[1:] == (None, "varies", "secrets.token_hex")
    assert _default(models.JSONField(default=list))[1:3] == ([], None)
    assert _default(models.CharField(default="x"))[1:3] == ("x", None)


def test_a_default_giving_every_row_a_new_value_is_refused_naming_the_column_and_fill() -> None:
    from pipeline.base.schemas import spec
    from stages.load.drift import AppModels, ModelField, plan_tables
    from stages.load.schema_check import Column, show, spec_type

    s = spec("teams_team")
    columns = [Column(f.name, spec_type(f), show(spec_type(f)), True, False) for f in s.schema]
    columns.append(Column("invite_code", ("str", 64), "character varying(64)", False, False))
    model = ModelField("invite_code", False, True, None, per_row="varies", callable="secrets.token_hex")
    app = AppModels(
        {"teams_team": {**{c.name: ModelField(c.name, True, False) for c in columns}, "invite_code": model}}
    )
    plan = plan_tables({"teams_team": s}, {"teams_team": columns}, lambda t, e: {}, app=app)
    assert plan.refusal() == (
        "the app schema does not fit the snapshot: teams_team.invite_code: the app's default secrets.token_hex gives "
        "every row a new value, which demoseed cannot reproduce; give --fill teams_team.invite_code=VALUE"
    )
    fixed = plan_tables(
        {"teams_team": s}, {"teams_team": columns}, lambda t, e: {}, app=app, fills={("teams_team", "invite_code"): "x"}
    )
    assert not fixed.refused


@pytest.mark.postgres
def test_without_app_every_unfillable_column_is_refused_in_one_line_nothing_written(
    app_pg: str, snapshot: Path
) -> None:
    with pytest.raises(UserError) as info:
        run_load(snapshot, app_pg, as_of=AS_OF)
    msg = str(info.value)
    assert "\n" not in msg
    assert (
        "no value for NOT NULL column(s) teams_team.is_demo, teams_team.timezone_name, metrics_teammember.joined_at, "
        "metrics_teammember.first_seen, metrics_pullrequest.extra_data, metrics_pullrequest.review_tags, "
        "metrics_pullrequest.public_id, metrics_jiraissue.sprint_title "
        "(not in the snapshot, no database default): give --app DIR to use the app's model defaults, "
        "or --fill TABLE.COLUMN=VALUE"
    ) in msg
    assert "metrics_teammember.slack_user_id: in the snapshot but not in the target" in msg
    assert "risk_level" not in msg  # db_default: the database fills it
    assert rows(app_pg, "SELECT count(*) FROM teams_team") == [(0,)]


PUBLIC, TRACE = "6f1c1d9e-6a53-4f0e-9a1c-0d3f5b2a7c11", "0b7e44f2-1c4a-4e8e-8f0a-5d6c7b8a9e01"


@pytest.mark.postgres
def test_fill_and_ignore_missing_columns_by_hand(app_pg: str, snapshot: Path) -> None:
    fills = (
        "teams_team.timezone_name=Europe/Kyiv",
        "teams_team.is_demo=true",
        "metrics_teammember.joined_at=2026-01-05T08:00:00+00:00",
        'metrics_pullrequest.review_tags=["demo"]',
        "metrics_pullrequest.extra_data={}",
        "metrics_jiraissue.sprint_title=Sprint",
        "metrics_teammember.first_seen=now",
        f"metrics_pullrequest.public_id={PUBLIC}",
        f"metrics_commit.trace_id={TRACE}",  # a nullable uuid column
    )
    checked = run_check(snapshot, app_pg, as_of=AS_OF, follow=Follow(fills=fills, ignore_missing=True))
    assert checked.ok, checked.refusal
    report = run_load(snapshot, app_pg, as_of=AS_OF, follow=Follow(fills=fills, ignore_missing=True))
    assert report.ok
    assert rows(app_pg, "SELECT DISTINCT public_id FROM metrics_pullrequest") == [(uuid.UUID(PUBLIC),)]
    assert rows(app_pg, "SELECT DISTINCT trace_id FROM metrics_commit") == [(uuid.UUID(TRACE),)]
    assert rows(app_pg, "SELECT DISTINCT first_seen FROM metrics_teammember") == [(AS_OF.date(),)]
    assert rows(app_pg, "SELECT DISTINCT is_demo, timezone_name FROM teams_team") == [(True, "Europe/Kyiv")]
    assert rows(app_pg, "SELECT DISTINCT review_tags FROM metrics_pullrequest") == [(["demo"],)]
    assert rows(app_pg, "SELECT DISTINCT sprint_title FROM metrics_jiraissue") == [("Sprint",)]
    text = " | ".join(report.summary_lines())
    assert "teams_team.timezone_name: 'Europe/Kyiv' (from --fill)" in text
    assert "teams_team.is_demo: true (from --fill)" in text  # rendered as the app's fills are: false, not 'false'
    assert 'metrics_pullrequest.review_tags: ["demo"] (from --fill)' in text
    assert "metrics_teammember.joined_at: '2026-01-05T08:00:00+00:00' (from --fill)" in text
    assert (
        "metrics_teammember.first_seen: the load instant's date (UTC, as Django with TIME_ZONE=UTC) (from --fill)"
        in text
    )
    assert f"metrics_pullrequest.public_id: '{PUBLIC}' (from --fill)" in text
    assert "metrics_teammember.slack_user_id: not in the target (--ignore-missing-columns)" in text
    with pytest.raises(UserError, match=r"--fill metrics_commit.trace_id='nope': not a value for uuid"):
        run_load(snapshot, app_pg, as_of=AS_OF, follow=Follow(fills=("metrics_commit.trace_id=nope",)))
    with pytest.raises(UserError, match=r"--fill teams_team.is_demo='maybe': not a value for boolean"):
        run_load(snapshot, app_pg, as_of=AS_OF, follow=Follow(fills=("teams_team.is_demo=maybe",)))
    with pytest.raises(UserError, match=r"--fill names teams_team.nope, which the target does not have"):
        run_load(
            snapshot,
            app_pg,
            as_of=AS_OF,
            clear=True,
            follow=Follow(fills=(*fills, "teams_team.nope=1"), ignore_missing=True),
        )


@pytest.mark.postgres
def test_check_previews_exactly_what_load_does_and_exits_0_only_when_load_would(
    app_pg: str, snapshot: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["check", str(snapshot), "--db-url", app_pg, "--as-of", "2026-01-07", "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and "no value for NOT NULL column(s) teams_team.is_demo" in doc["refusal"]
    assert "metrics_pullrequest.risk_level: by the database (default)" in doc["differences"]["filled"]
    assert rows(app_pg, "SELECT count(*) FROM teams_team") == [(0,)]

    assert main(["check", str(snapshot), "--app", str(APP), "--app-python", PY, "--as-of", "2026-01-07"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("load would succeed")
    checked = run_check(snapshot, None, as_of=AS_OF, follow=Follow(app=APP, app_python=PY))
    assert checked.ok and checked.plan is not None
    loaded = run_load(snapshot, None, as_of=AS_OF, follow=Follow(app=APP, app_python=PY))
    assert checked.plan.summary_lines() == [
        line for line in loaded.summary_lines() if line in checked.plan.summary_lines()
    ]
    assert len(checked.plan.summary_lines()) == 3  # filled, renamed, left out


# -- the table, row by row (the app's schema in PostgreSQL, altered) ------------------------------------------


@pytest.mark.postgres
def test_narrower_types_and_not_null_load_when_the_rows_fit(pg_database: str, snapshot: Path) -> None:
    app_schema_db(
        pg_database,
        "ALTER TABLE metrics_pullrequest ALTER COLUMN github_repo TYPE varchar(100)",
        "ALTER TABLE metrics_pullrequest ALTER COLUMN github_pr_id TYPE integer",
        "ALTER TABLE metrics_commit ALTER COLUMN committed_at SET NOT NULL",
        "ALTER TABLE metrics_pullrequest ADD COLUMN size integer GENERATED ALWAYS AS (additions + deletions) STORED NOT NULL",
        "ALTER TABLE metrics_pullrequest ALTER COLUMN labels TYPE text",
    )
    report = run_load(snapshot, pg_database, as_of=AS_OF)
    assert report.ok
    text = " | ".join(report.summary_lines())
    assert "metrics_pullrequest.github_repo: character varying(100) (declared varchar(255)); longest value" in text
    assert "metrics_pullrequest.github_pr_id: integer (declared bigint); values" in text
    assert "metrics_commit.committed_at: NOT NULL in the target; no snapshot row is NULL there" in text
    assert "metrics_pullrequest.size: generated by the database" in text
    assert "metrics_pullrequest.labels: text (declared jsonb); the JSON is written as its text" in text
    labels = [json.loads(r[0]) for r in rows(pg_database, "SELECT labels FROM metrics_pullrequest ORDER BY id")]
    assert labels == [json.loads(v) for v in build_tables()["metrics_pullrequest"].column("labels").to_pylist()]
    assert rows(pg_database, "SELECT count(*) FROM metrics_pullrequest WHERE size = additions + deletions") == [(8,)]


@pytest.mark.postgres
def test_rows_that_do_not_fit_are_refused_naming_column_limit_and_extreme(pg_database: str, snapshot: Path) -> None:
    app_schema_db(
        pg_database,
        "ALTER TABLE metrics_pullrequest ALTER COLUMN github_repo TYPE varchar(5)",
        "ALTER TABLE metrics_pullrequest ALTER COLUMN cycle_time_hours TYPE numeric(4, 0)",
        "ALTER TABLE metrics_pullrequest ALTER COLUMN llm_summary SET NOT NULL",
        "ALTER TABLE metrics_pullrequest ALTER COLUMN github_pr_id TYPE smallint",
        "INSERT INTO teams_team (id, created_at, updated_at, billing_details_last_changed, name, slug, "
        "onboarding_complete, onboarding_pipeline_status, background_sync_progress, background_llm_progress, "
        "copilot_status, copilot_consecutive_failures, copilot_price_tier) VALUES (40000, now(), now(), now(), 'X', "
        "'x', true, '', 0, 0, '', 0, '')",
    )
    longest = max(len(r) for r in build_tables()["metrics_pullrequest"].column("github_repo").to_pylist())
    with pytest.raises(UserError) as info:
        run_load(snapshot, pg_database, as_of=AS_OF)
    msg = str(info.value)
    assert "\n" not in msg
    assert (
        f"metrics_pullrequest.github_repo: character varying(5) is too short: the snapshot's longest value is "
        f"{longest} characters"
    ) in msg
    assert (
        "metrics_pullrequest.cycle_time_hours: numeric(4, 0) keeps 0 decimal(s); 8 snapshot value(s) have more" in msg
    )
    assert "metrics_pullrequest.llm_summary: NOT NULL in the target, but 4 snapshot row(s) are NULL there" in msg
    assert "has NULLs there" not in msg
    assert rows(pg_database, "SELECT count(*) FROM metrics_pullrequest") == [(0,)]


@pytest.mark.postgres
def test_check_counts_what_clear_removes_in_the_apps_own_tables(pg_database: str, snapshot: Path) -> None:
    app_schema_db(pg_database)
    run_load(snapshot, pg_database, as_of=AS_OF)
    with psycopg.connect(pg_database) as conn:
        conn.execute(
            "CREATE TABLE app_note (id bigint PRIMARY KEY, pr_id bigint NOT NULL REFERENCES metrics_pullrequest(id))"
        )
        conn.execute("CREATE TABLE app_pin (id bigint PRIMARY KEY, pr_id bigint REFERENCES metrics_pullrequest(id))")
        conn.execute("INSERT INTO app_note SELECT id, id FROM metrics_pullrequest WHERE team_id = 1")
        conn.execute("INSERT INTO app_pin SELECT id, id FROM metrics_pullrequest WHERE team_id = 2 LIMIT 3")
    checked = run_check(snapshot, pg_database, as_of=AS_OF, clear=True)
    assert checked.ok
    assert checked.clear_teams == ["alpha", "beta"]
    assert checked.foreign == {"app_note": ("deleted", 4), "app_pin.pr_id": ("set NULL", 3)}
    assert checked.deleted["metrics_pullrequest"] == 8
    assert rows(pg_database, "SELECT count(*) FROM app_note") == [(4,)]  # check wrote nothing
    loaded = run_load(snapshot, pg_database, as_of=AS_OF, clear=True)
    assert loaded.foreign == checked.foreign


@pytest.mark.postgres
def test_clear_counts_a_row_both_deleted_and_set_null_once_as_deleted(pg_database: str, snapshot: Path) -> None:
    app_schema_db(pg_database)
    run_load(snapshot, pg_database, as_of=AS_OF)
    with psycopg.connect(pg_database) as conn:  # as the app's metrics_prcomment: CASCADE on the PR, SET_NULL author
        conn.execute(
            "CREATE TABLE app_comment (id bigint PRIMARY KEY, "
            "pr_id bigint NOT NULL REFERENCES metrics_pullrequest(id), "
            "author_id bigint REFERENCES metrics_teammember(id))"
        )
        conn.execute(
            "INSERT INTO app_comment SELECT id, id, author_id FROM metrics_pullrequest "
            "WHERE team_id = 1 AND author_id IS NOT NULL LIMIT 1"
        )
    want = {"app_comment": ("deleted", 1)}
    assert run_check(snapshot, pg_database, as_of=AS_OF, clear=True).foreign == want
    assert run_check(snapshot, pg_database, as_of=AS_OF, clear=True, plan_only=True).foreign == want
    loaded = run_load(snapshot, pg_database, as_of=AS_OF, clear=True)
    assert loaded.foreign == want
    teams = next(r for r in loaded.tables if r.name == "teams_team")
    assert teams.ids_kept == teams.inserted_rows == 2
    table = loaded.rich_table()
    assert list(table.columns[2].cells)[:1] == ["kept"]  # the team rows keep their ids: no offset applied


@pytest.mark.postgres
def test_empty_database_with_app_says_migrate_first_and_migrate_runs_the_apps_migrate(
    pg_database: str, snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGOAPP_DATABASE_URL", pg_database)
    with pytest.raises(UserError) as info:
        run_load(snapshot, None, as_of=AS_OF, follow=Follow(app=APP, app_python=PY))
    assert str(info.value) == (
        f"the app's database {pg_database} has not been migrated: run the app's manage.py migrate first "
        "(or add --migrate)"
    )
    migrate(pg_database, "metrics", "0002")
    with pytest.raises(UserError, match=r"lacks migrations metrics.0003_remove_teammember_slack_user_id, "):
        run_load(snapshot, None, as_of=AS_OF, follow=Follow(app=APP, app_python=PY))
    report = run_load(snapshot, None, as_of=AS_OF, follow=Follow(app=APP, app_python=PY, migrate=True))
    assert report.ok and any(n.startswith("ran the app's manage.py migrate") for n in report.notes)
    assert rows(pg_database, "SELECT count(*) FROM django_migrations WHERE app = 'metrics'") == [(6,)]


@pytest.mark.postgres
def test_empty_postgres_without_app_creates_tables_and_says_they_are_outside_the_apps_migrations(
    pg_database: str, snapshot: Path
) -> None:
    checked = run_check(snapshot, pg_database, as_of=AS_OF)
    assert checked.ok and len(checked.created) == 13
    assert rows(pg_database, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") == [(0,)]
    report = run_load(snapshot, pg_database, as_of=AS_OF)
    assert any("outside the app's migrations" in n and "manage.py migrate first" in n for n in report.notes)


# -- SQLite, and the app's errors ----------------------------------------------------------------------------------


def test_sqlite_app_database_after_migrations(snapshot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "app.sqlite3"
    migrate(f"sqlite:///{db}")
    monkeypatch.setenv("DJANGOAPP_DATABASE_URL", f"sqlite:///{db}")
    report = run_load(snapshot, None, as_of=AS_OF, follow=Follow(app=APP, app_python=PY))
    assert report.ok and report.target.startswith(f"sqlite:///{db}")
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT DISTINCT is_demo, timezone_name FROM teams_team").fetchall() == [(0, "")]
        assert conn.execute(
            "SELECT DISTINCT review_tags, extra_data, risk_level FROM metrics_pullrequest"
        ).fetchall() == [("[]", "{}", "low")]
        assert conn.execute("SELECT DISTINCT joined_at FROM metrics_teammember").fetchall() == [
            (AS_OF.strftime("%Y-%m-%d %H:%M:%S.%f"),)
        ]
        got = conn.execute("SELECT id, public_id FROM metrics_pullrequest ORDER BY id").fetchall()
        # Django keeps a UUIDField on SQLite as char(32), 32 hex digits
        assert got == [(i, row_uuid(snapshot, "metrics_pullrequest", "public_id", i).hex) for i, _ in got] and got
        assert conn.execute("SELECT DISTINCT first_seen FROM metrics_teammember").fetchall() == [("2026-03-04",)]


def test_app_errors_are_one_line(snapshot: Path, tmp_path: Path) -> None:
    cases = [
        (Follow(app=tmp_path / "nope"), "--app {}: no such directory"),
        (Follow(app=tmp_path), "--app {}: no manage.py there"),
        (Follow(app=APP, app_python=str(tmp_path / "python9")), "--app-python {}: no such interpreter"),
        (Follow(migrate=True), "--migrate runs the app's manage.py migrate: give --app DIR too"),
    ]
    for follow, needle in cases:
        with pytest.raises(UserError) as info:
            run_load(snapshot, None, as_of=AS_OF, follow=follow)
        shown = needle.format(follow.app if "python" not in needle else follow.app_python)
        assert shown in str(info.value) and "\n" not in str(info.value)
    bare = shutil.which("python3", path="/usr/bin:/bin")
    if bare and subprocess.run([bare, "-c", "import django"], capture_output=True).returncode != 0:
        with pytest.raises(UserError) as info:
            run_load(snapshot, None, as_of=AS_OF, follow=Follow(app=APP, app_python=bare))
        assert "did not start: ModuleNotFoundError: No module named 'django'" in str(info.value)
        assert "give --app-python" in str(info.value)


def test_manifest_records_the_app_schema_outside_the_id_and_check_names_it(snapshot: Path, tmp_path: Path) -> None:
    import hashlib

    from pipeline.base.manifest import read_manifest, snapshot_id

    doc = json.loads((snapshot / "manifest.json").read_text())
    assert doc["app_schema"]["sha256"] == hashlib.sha256(APP_SCHEMA_SQL.read_bytes()).hexdigest()
    without = {k: v for k, v in doc.items() if k != "app_schema"}
    assert snapshot_id(without) == doc["snapshot_id"]  # the pinned ids do not move
    assert read_manifest(snapshot).app_schema_sha256 == doc["app_schema"]["sha256"]
    checked = run_check(snapshot, f"sqlite:///{tmp_path / 'none.db'}", as_of=AS_OF)
    assert checked.ok and checked.created and not (tmp_path / "none.db").exists()
    assert f"built against app schema {doc['app_schema']['sha256'][:12]}, the one this demoseed knows" in " ".join(
        checked.notes
    )


def test_a_relative_app_python_is_made_absolute_not_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stages.load.app import app_python

    link = tmp_path / "venv" / "bin" / "python"
    link.parent.mkdir(parents=True)
    link.symlink_to(PY)
    monkeypatch.chdir(tmp_path)
    assert app_python(APP, "venv/bin/python") == str(link)  # the app runs in DIR: a relative path would miss
