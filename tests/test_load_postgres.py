"""Load stage against the real PostgreSQL at 127.0.0.1:5432 (own database per test)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from pipeline.base.errors import IntegrityError, UserError
from pipeline.base.schemas import APP_LOAD_ORDER, spec
from pipeline.cli import main
from pipeline.runners.load import run_load
from stages.load.ddl import APP_SCHEMA_SQL
from tests.loaddata import build_tables, table, write_test_snapshot
from tests.test_load import AS_OF, SHIFT, TODAY, bad_snapshot, shifted

pytestmark = pytest.mark.postgres


def dump(dsn: str, schema: str = "public", teams: tuple[int, ...] = ()) -> dict[str, list]:
    """Every app table's rows as dicts (ordered by id), plus the next id each identity hands out."""
    out: dict[str, list] = {}
    with psycopg.connect(dsn) as conn:
        for name in APP_LOAD_ORDER:
            key = "id" if name == "teams_team" else "team_id"
            where = f"WHERE {key} IN ({', '.join(map(str, teams))})" if teams else ""
            cur = conn.execute(f'SELECT * FROM "{schema}"."{name}" {where} ORDER BY id')
            cols = [d.name for d in cur.description]
            out[name] = [dict(zip(cols, row)) for row in cur.fetchall()]
        nexts = []
        for name in APP_LOAD_ORDER:
            seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (f'"{schema}"."{name}"',)).fetchone()[0]
            last, called = conn.execute(f"SELECT last_value, is_called FROM {seq}").fetchone()
            nexts.append((name, last + 1 if called else last))
        out["_next_ids"] = nexts
    return out


def schema_signature(conn: psycopg.Connection, schema: str) -> dict[str, list]:
    """Columns (name, type, nullability, identity), indexes and constraints of a schema, schema name removed."""
    columns = conn.execute(
        "SELECT table_name, ordinal_position, column_name, data_type, character_maximum_length, numeric_precision, "
        "numeric_scale, is_nullable, is_identity, identity_generation FROM information_schema.columns "
        "WHERE table_schema = %s ORDER BY 1, 2",
        (schema,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT tablename, indexname, replace(indexdef, %s, '') FROM pg_indexes WHERE schemaname = %s ORDER BY 1, 2",
        (f"{schema}.", schema),
    ).fetchall()
    constraints = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, c.contype, replace(pg_get_constraintdef(c.oid), %s, ''), "
        "c.condeferrable, c.condeferred FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE n.nspname = %s ORDER BY 2",
        (f"{schema}.", schema),
    ).fetchall()
    constraints = [(t.split(".")[-1], *rest) for t, *rest in constraints]
    return {"columns": columns, "indexes": indexes, "constraints": constraints}


def assert_app_ddl(dsn: str, schema: str) -> None:
    """The schema's tables, columns, indexes and constraints equal app-schema.sql's (built in a scratch schema)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP SCHEMA IF EXISTS ref CASCADE")
        conn.execute("CREATE SCHEMA ref")
        conn.execute("SET search_path TO ref")
        conn.execute(APP_SCHEMA_SQL.read_text())
        ours, ref = schema_signature(conn, schema), schema_signature(conn, "ref")
        conn.execute("DROP SCHEMA ref CASCADE")
    assert ours == ref
    assert (len(ref["columns"]), len(ref["indexes"]), len(ref["constraints"])) == (214, 103, 54)


def table_names(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_snapshot(tmp_path_factory.mktemp("pgsnap") / "two-teams")


def _app_insert_member(dsn: str, schema: str, team_id: int) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            f'INSERT INTO "{schema}".metrics_teammember (created_at, updated_at, team_id, email, display_name, '
            "github_username, github_id, jira_account_id, slack_user_id, role, is_active) "
            "VALUES (now(), now(), %s, '', 'New', 'new', '', '', '', 'developer', true) RETURNING id",
            (team_id,),
        ).fetchone()[0]


def test_load_into_empty_database_then_clear_reload_is_identical(pg_database: str, snapshot: Path) -> None:
    report = run_load(snapshot, pg_database, as_of=AS_OF)
    assert report.ok and report.rows == 87 and len(report.created_tables) == 13
    first = dump(pg_database)
    expected = shifted(build_tables(), SHIFT)
    for name in APP_LOAD_ORDER:
        assert first[name] == expected[name], name
    assert dict(first["_next_ids"])["metrics_pullrequest"] == 9
    assert_app_ddl(pg_database, "public")

    with pytest.raises(UserError, match="already exist"):
        run_load(snapshot, pg_database, as_of=AS_OF)
    again = run_load(snapshot, pg_database, as_of=AS_OF, clear=True)
    assert (
        again.ok and again.cleared_team_ids == [1, 2] and sum(t.deleted_rows for t in again.tables) == 85
    )  # the 2 team rows stay
    assert dump(pg_database) == first
    assert_app_ddl(pg_database, "public")  # the clear emptied the tables: indexes and FKs were dropped and rebuilt
    assert _app_insert_member(pg_database, "public", 1) == 7


def test_load_into_empty_app_tables_rebuilds_their_indexes_exactly(pg_database: str, snapshot: Path) -> None:
    with psycopg.connect(pg_database) as conn:
        conn.execute(APP_SCHEMA_SQL.read_text())
        conn.execute('CREATE INDEX "app_extra_idx" ON metrics_prfile (filename) WHERE additions > 100')
    report = run_load(snapshot, pg_database, as_of=AS_OF)
    assert report.ok and report.created_tables == []
    assert dump(pg_database) == {**shifted(build_tables(), SHIFT), "_next_ids": dump(pg_database)["_next_ids"]}
    with psycopg.connect(pg_database) as conn:
        extra = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'app_extra_idx'").fetchone()[0]
        conn.execute("DROP INDEX app_extra_idx")
    assert extra == "CREATE INDEX app_extra_idx ON public.metrics_prfile USING btree (filename) WHERE (additions > 100)"
    assert_app_ddl(pg_database, "public")


def test_load_into_existing_app_schema_with_another_team(pg_database: str, snapshot: Path) -> None:
    """A non-public schema made from the app's DDL, already holding team 'gamma' inserted app-style."""
    with psycopg.connect(pg_database) as conn:
        conn.execute("CREATE SCHEMA app")
        conn.execute("SET search_path TO app")
        conn.execute(APP_SCHEMA_SQL.read_text())
        conn.execute(
            "INSERT INTO teams_team (created_at, updated_at, billing_details_last_changed, name, slug, onboarding_complete, "
            "onboarding_pipeline_status, background_sync_progress, background_llm_progress, copilot_status, "
            "copilot_consecutive_failures, copilot_price_tier) VALUES (now(), now(), now(), 'Gamma', 'gamma', true, '', 0, 0, "
            "'', 0, '')"
        )
        for i in range(3):
            conn.execute(
                "INSERT INTO metrics_teammember (created_at, updated_at, team_id, email, display_name, github_username, "
                "github_id, jira_account_id, slack_user_id, role, is_active) VALUES (now(), now(), 1, %s, 'G', 'g', %s, '', "
                "'', 'developer', true)",
                (f"g{i}@example.com", str(1000 + i + 1)),
            )
        conn.execute("SELECT setval('metrics_pullrequest_id_seq', 40)")  # the app used ids up to 40, rows since deleted
    before = dump(pg_database, "app")
    report = run_load(snapshot, pg_database + "?schema=app", as_of=AS_OF)
    assert report.ok and report.created_tables == [] and report.team_ids == [2, 3]
    offsets = {t.name: t.id_offset for t in report.tables}
    assert offsets["teams_team"] == 1 and offsets["metrics_teammember"] == 3 and offsets["metrics_pullrequest"] == 0
    after = dump(pg_database, "app")
    assert (
        after["teams_team"][0] == before["teams_team"][0]
        and after["metrics_teammember"][:3] == before["metrics_teammember"]
    )
    loaded = dump(pg_database, "app", teams=(2, 3))
    want = shifted(build_tables(), SHIFT, offsets)
    for name in APP_LOAD_ORDER:
        assert loaded[name] == want[name], name
    members = {m["id"]: m["team_id"] for m in after["metrics_teammember"]}
    assert all(members[pr["author_id"]] == pr["team_id"] for pr in loaded["metrics_pullrequest"])
    nexts = dict(after["_next_ids"])
    assert nexts["teams_team"] == 4 and nexts["metrics_teammember"] == 10
    assert nexts["metrics_pullrequest"] == 41  # never moved backwards
    assert _app_insert_member(pg_database, "app", 1) == 10
    assert table_names(pg_database) == [f"app.{t}" for t in sorted(APP_LOAD_ORDER)]


def test_failure_mid_load_leaves_the_database_exactly_as_before(
    pg_database: str, snapshot: Path, tmp_path: Path
) -> None:
    run_load(snapshot, pg_database, as_of=AS_OF)
    before = dump(pg_database)
    # 1) a unique violation in the last table, after --clear deleted the teams' rows
    with pytest.raises(UserError, match=r"rolled back.*unique_team_member_week"):
        run_load(bad_snapshot(tmp_path / "bad"), pg_database, as_of=AS_OF, clear=True)
    assert dump(pg_database) == before
    # 2) a deferred foreign key that only fails at COMMIT, after the sequences moved
    tables = build_tables(("zeta", "eta"))
    tables["metrics_weeklymetrics"] = table(
        "metrics_weeklymetrics", 1, id=lambda i: 1, team_id=lambda i: 1, member_id=lambda i: 999
    )
    with pytest.raises(UserError, match=r"rolled back.*foreign key"):
        run_load(write_test_snapshot(tmp_path / "fk", tables), pg_database, as_of=AS_OF)
    assert dump(pg_database) == before
    # 3) into an empty database: no table is left behind
    with psycopg.connect(pg_database) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    with pytest.raises(UserError, match="rolled back"):
        run_load(bad_snapshot(tmp_path / "bad2"), pg_database, as_of=AS_OF)
    assert table_names(pg_database) == []


def test_tampered_snapshot_refused_and_schema_mismatch_reported(
    pg_database: str, snapshot: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(snapshot, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["tables"]["metrics_commit"]["rows"] = 9
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="metrics_commit"):
        run_load(copy, pg_database, as_of=AS_OF)
    assert table_names(pg_database) == []

    with psycopg.connect(pg_database) as conn:
        conn.execute(APP_SCHEMA_SQL.read_text())
        conn.execute("ALTER TABLE metrics_prfile DROP COLUMN file_category")
        conn.execute("ALTER TABLE metrics_commit ALTER COLUMN github_sha TYPE varchar(12)")
    with pytest.raises(UserError) as info:
        run_load(snapshot, pg_database, as_of=AS_OF)
    msg = str(info.value)
    assert "metrics_prfile: missing column(s) file_category" in msg
    assert "metrics_commit.github_sha: is character varying(12), expected varchar(40)" in msg
    assert "\n" not in msg


def test_cli_errors_are_one_line_exit_2(pg_database: str, snapshot: Path, capsys: pytest.CaptureFixture) -> None:
    base = pg_database.rsplit("/", 1)[0].replace("postgresql://postgres@", "postgresql://postgres:topsecret@")
    for url, needle in [
        (base + "/demoseed_no_such_db", "database 'demoseed_no_such_db' does not exist"),
        (base.replace("postgres:topsecret", "nobody_here:topsecret") + "/postgres", "refused user 'nobody_here'"),
    ]:
        assert main(["load", str(snapshot), "--db-url", url]) == 2
        err = capsys.readouterr().err
        assert needle in err and "topsecret" not in err and err.count("\n") == 1, err
    assert main(["load", str(snapshot), "--db-url", pg_database, "--schema", "demo", "--today", "2026-03-04"]) == 0
    assert "read back" in capsys.readouterr().out
    assert dump(pg_database, "demo")["teams_team"][0]["slug"] == "alpha"
    assert pa.types.is_timestamp(spec("teams_team").schema.field("created_at").type) and dt.date(
        2026, 3, 2
    ) == TODAY - dt.timedelta(days=2)


@pytest.mark.parametrize("name", ["before", "at", "mid-week", "after"])
def test_shift_before_at_after_the_anchor_and_mid_week(
    name: str, pg_database: str, data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from tests.test_load_shift import INSTANTS, cli_load, pin_clock

    instant, weeks = INSTANTS[name]
    pin_clock(monkeypatch, instant)
    out = cli_load(data_root, pg_database, capsys)
    assert f"shifted by {weeks:+d} week(s)" in out
    loaded = dump(pg_database)
    want = shifted(build_tables(), dt.timedelta(weeks=weeks))
    for name_ in APP_LOAD_ORDER:
        assert loaded[name_] == want[name_], name_


def test_as_of_a_mid_week_instant_nothing_later_and_foreign_keys_hold(pg_database: str, tmp_path: Path) -> None:
    """Issue 11.1 on the real target: deferred FKs check every cut row at COMMIT; nothing dated after the instant."""
    from tests.test_load_asof import INSTANTS, after_instant, make_snapshot

    snap = make_snapshot(tmp_path / "rb", "review-bottleneck", 3)
    instant = INSTANTS["mid-week"]
    report = run_load(snap, pg_database, as_of=instant)
    assert report.ok and report.held_back > 0 and report.reopened_prs > 0
    with psycopg.connect(pg_database) as conn:
        assert after_instant(conn, instant) == {}  # type: ignore[arg-type]
        (open_merged,) = conn.execute(
            "SELECT count(*) FROM metrics_pullrequest WHERE state = 'open' AND merged_at IS NOT NULL"
        ).fetchone() or (0,)
    assert open_merged == 0
