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

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


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
    assert "metrics_prfile.file_category: in the snapshot but not in the target" in msg
    assert (
        "metrics_commit.github_sha: character varying(12) is too short: the snapshot's longest value is 40 characters"
        in msg
    )
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


# --------------------------------------------------------------------------- COPY: FREEZE, failures mid-stream


def _frozen_pages(dsn: str) -> dict[str, tuple[int, int]]:
    """Per app table: (pages, pages all-frozen in the visibility map), read with pg_visibility."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_visibility")
        out = {}
        for name in APP_LOAD_ORDER:
            pages = conn.execute("SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int", (name,))
            (frozen,) = conn.execute(
                "SELECT all_frozen FROM pg_visibility_map_summary(%s::regclass)", (name,)
            ).fetchone()
            out[name] = (int(pages.fetchone()[0]), int(frozen))
    return out


def test_rows_go_in_frozen_into_tables_the_load_created_or_emptied(pg_database: str, snapshot: Path) -> None:
    """COPY ... FREEZE: into tables it created, and into the app's empty tables (TRUNCATEd in the transaction)."""
    run_load(snapshot, pg_database, as_of=AS_OF)
    created = _frozen_pages(pg_database)
    assert all(pages > 0 and frozen == pages for pages, frozen in created.values()), created

    # the app's own empty tables, and one of them referenced by a table of the app's we do not load
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        conn.execute(APP_SCHEMA_SQL.read_text())
        conn.execute("CREATE TABLE app_note (id bigint PRIMARY KEY, pr_id bigint REFERENCES metrics_pullrequest (id))")
    report = run_load(snapshot, pg_database, as_of=AS_OF)
    assert report.ok and report.rows == 87
    frozen = _frozen_pages(pg_database)
    # TRUNCATE would refuse metrics_pullrequest (app_note points at it): loaded, but not frozen
    assert frozen["metrics_pullrequest"][1] == 0 < frozen["metrics_pullrequest"][0]
    assert all(f == p > 0 for name, (p, f) in frozen.items() if name != "metrics_pullrequest"), frozen
    assert _dump_rows(pg_database) == dump_expected()
    assert_app_ddl_besides_note(pg_database)


def test_keys_are_built_after_the_rows_and_come_back_exactly(pg_database: str, snapshot: Path) -> None:
    """Primary keys and UNIQUE constraints of tables the load fills from empty are absent during its COPY
    (one sorted build after the rows), except a key a table we do not load points at; all come back as they were."""
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(APP_SCHEMA_SQL.read_text())
        conn.execute("CREATE TABLE app_note (id bigint PRIMARY KEY, pr_id bigint REFERENCES metrics_pullrequest (id))")
        conn.execute("CREATE TABLE copy_saw (tbl text, unique_indexes int)")
        conn.execute(
            "CREATE FUNCTION saw() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO copy_saw "
            "SELECT TG_TABLE_NAME, count(*) FROM pg_index WHERE indrelid = TG_RELID AND indisunique; RETURN NULL; END $$"
        )
        for name in ("teams_team", "metrics_commit", "metrics_pullrequest"):
            conn.execute(f"CREATE TRIGGER saw BEFORE INSERT ON {name} FOR EACH STATEMENT EXECUTE FUNCTION saw()")
    report = run_load(snapshot, pg_database, as_of=AS_OF)
    assert report.ok and report.rows == 87
    with psycopg.connect(pg_database, autocommit=True) as conn:
        saw = dict(conn.execute("SELECT tbl, unique_indexes FROM copy_saw").fetchall())
        for name in ("teams_team", "metrics_commit", "metrics_pullrequest"):
            conn.execute(f"DROP TRIGGER saw ON {name}")
        conn.execute("DROP TABLE copy_saw; DROP FUNCTION saw()")
        after = dict(
            conn.execute(
                "SELECT indrelid::regclass::text, count(*) FROM pg_index WHERE indisunique "
                "AND indrelid::regclass::text IN ('teams_team', 'metrics_commit', 'metrics_pullrequest') GROUP BY 1"
            ).fetchall()
        )
    # during the COPY: none on teams_team (pkey + slug) and metrics_commit (pkey + unique_team_commit); on
    # metrics_pullrequest only the pkey app_note points at (unique_team_pr was dropped)
    assert saw == {"teams_team": 0, "metrics_commit": 0, "metrics_pullrequest": 1}
    assert after == {"teams_team": 2, "metrics_commit": 2, "metrics_pullrequest": 2}
    assert _dump_rows(pg_database) == dump_expected()
    assert_app_ddl_besides_note(pg_database)


def app_tables_with_commit_trigger(dsn: str, name: str, assignment: str) -> None:
    """The app's empty tables, with a row trigger on metrics_commit that runs ``assignment`` on each new row."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(APP_SCHEMA_SQL.read_text())
        conn.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {assignment}; RETURN NEW; END $$; "
            f"CREATE TRIGGER {name} BEFORE INSERT ON metrics_commit FOR EACH ROW EXECUTE FUNCTION {name}()"
        )


def assert_rolled_back(dsn: str, before: dict[str, list]) -> None:
    """The schema as it was (indexes, keys and FKs dropped for the bulk load are back) and every table empty."""
    with psycopg.connect(dsn) as conn:
        assert schema_signature(conn, "public") == before
        for name in APP_LOAD_ORDER:
            assert conn.execute(f"SELECT count(*) FROM {name}").fetchone() == (0,), name


def test_a_duplicate_key_fails_the_load_when_the_key_comes_back(pg_database: str, snapshot: Path) -> None:
    """With the keys built after the rows, a duplicate is refused then, still inside the transaction."""
    app_tables_with_commit_trigger(pg_database, "same_sha", "NEW.github_sha := 'same'")
    with psycopg.connect(pg_database) as conn:
        before = schema_signature(conn, "public")
    with pytest.raises(UserError) as info:
        run_load(snapshot, pg_database, as_of=AS_OF)
    assert str(info.value) == (
        "metrics_commit: (team_id, github_sha) = (1, same) twice among the rows as they went in, where the snapshot "
        'has no duplicate (UNIQUE constraint "unique_team_commit"): a trigger or rule in the database changed them; '
        "rolled back, nothing written; drop or disable it for the load"
    )
    assert_rolled_back(pg_database, before)


def dump_expected() -> dict[str, list]:
    expected = shifted(build_tables(), SHIFT)
    return {name: expected[name] for name in APP_LOAD_ORDER}


def assert_app_ddl_besides_note(dsn: str) -> None:
    """public holds exactly the app's DDL once app_note (and its foreign key) is moved out of the way."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA elsewhere; ALTER TABLE app_note SET SCHEMA elsewhere")
    assert_app_ddl(dsn, "public")


def _dump_rows(dsn: str) -> dict[str, list]:
    got = dump(dsn)
    return {name: got[name] for name in APP_LOAD_ORDER}


def test_a_row_postgresql_refuses_mid_copy_rolls_everything_back(pg_database: str, snapshot: Path) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(APP_SCHEMA_SQL.read_text())
        # the app's migrations could hold a rule our rows break: PostgreSQL refuses the row inside the COPY
        conn.execute("ALTER TABLE metrics_commit ADD CONSTRAINT no_big_commits CHECK (additions < 0)")
        before = schema_signature(conn, "public")
    with pytest.raises(UserError) as info:
        run_load(snapshot, pg_database, as_of=AS_OF)
    assert str(info.value) == (
        'metrics_commit: snapshot row id 1 has additions = 2, which breaks CHECK constraint "no_big_commits" '
        "(CHECK ((additions < 0))); rolled back, nothing written; relax or drop the constraint "
        '(ALTER TABLE metrics_commit DROP CONSTRAINT "no_big_commits") or load a snapshot that satisfies it'
    )
    assert_rolled_back(pg_database, before)


def test_an_encoder_failure_mid_stream_rolls_back_and_leaves_no_thread(
    pg_database: str, snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from stages.load import postgres

    calls = {"n": 0}
    real = postgres._Encoding.batch

    def failing(self: postgres._Encoding, batch: pa.RecordBatch) -> bytes:
        calls["n"] += 1
        if calls["n"] == 4:  # a later table: earlier ones are in, uncommitted
            raise RuntimeError("encoder broke")
        return real(self, batch)

    monkeypatch.setattr(postgres._Encoding, "batch", failing)
    with pytest.raises(UserError, match=r"rolled back: encoder broke"):
        run_load(snapshot, pg_database, as_of=AS_OF)
    assert calls["n"] == 4
    assert not [t for t in threading.enumerate() if t.name.startswith("demoseed-copy")]
    assert table_names(pg_database) == []  # the tables the load created are gone with the transaction
    monkeypatch.setattr(postgres._Encoding, "batch", real)
    assert run_load(snapshot, pg_database, as_of=AS_OF).ok
    assert _dump_rows(pg_database) == dump_expected()


# --------------------------------------------------------------------------- read-back of streamed rows


def test_streamed_aggregates_equal_the_sql_aggregates_of_the_same_rows(snapshot: Path) -> None:
    """What the COPY path adds up batch by batch equals DuckDB's SQL aggregates (the other targets' side)."""
    from stages.load.backend import StreamAggregates, aggregate_kinds, duckdb_aggregate_expr
    from stages.load.core import _same
    from stages.load.ddl import app_ddl, quote
    from stages.load.extensions import connect
    from stages.load.plan import select_sql
    from stages.load.postgres import _Encoding
    from stages.load.schema_check import spec_type

    duck = connect()
    kinds_seen = set()
    for name in APP_LOAD_ORDER:
        s = spec(name)
        sql = select_sql(
            s,
            f"SELECT * FROM read_parquet('{snapshot / f'{name}.parquet'}')",
            offsets={name: 1000},
            refs=app_ddl().references(name),
            days=-7,
            dialect="postgres",
        )
        exprs = ", ".join(f"CAST({duckdb_aggregate_expr(k, quote(c))} AS VARCHAR)" for c, k in aggregate_kinds(s))
        want = duck.execute(f"SELECT {exprs} FROM ({sql})").fetchone()
        reader = duck.execute(sql).to_arrow_reader(3)  # several batches per table
        enc = _Encoding(reader.schema, {f.name: spec_type(f) for f in s.schema})
        agg = StreamAggregates(s)
        for batch in reader:
            agg.add(enc.cast(batch))
        got = agg.result()
        kinds_seen |= {k for _c, k in aggregate_kinds(s)}
        assert len(got) == len(want) and int(got[0]) > 0, name
        for (col, kind), a, b in zip(aggregate_kinds(s), got, want):
            assert _same(a, b), (name, col, kind, a, b)
    assert kinds_seen == {"count", "nonnull", "sum", "epoch", "days", "true", "length"}
    empty = StreamAggregates(spec("metrics_pullrequest"))  # no row: SQL gives 0 for counts, NULL for sums
    assert set(empty.result()[1:]) == {None, "0"} and empty.result()[0] == "0"


def test_streamed_tables_open_no_second_duckdb_for_the_read_back(
    pg_database: str, snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every PostgreSQL table is streamed (its sums added up as it is sent): the read-back reads nothing again."""
    from stages.load import core

    opened = []
    real = core.connect

    def counting(*args: object, **kwargs: object) -> object:
        opened.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(core, "connect", counting)
    report = run_load(snapshot, pg_database, as_of=AS_OF)
    assert report.ok and report.rows == 87 and all(t.content_ok for t in report.tables)
    assert opened == []


def test_read_back_catches_a_value_the_database_changed_before_commit(
    pg_database: str, snapshot: Path, capsys: pytest.CaptureFixture
) -> None:
    """A trigger alters what goes in: the read-back (inside the transaction) says so and nothing is committed."""
    app_tables_with_commit_trigger(pg_database, "bump", "NEW.additions := NEW.additions + 1")
    with psycopg.connect(pg_database) as conn:
        before = schema_signature(conn, "public")
    assert main(["load", str(snapshot), "--db-url", pg_database, "--as-of", "2026-03-04T12:00"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (
        f"error: read-back from {pg_database} differs from the snapshot (metrics_commit: read-back differs in "
        "additions): rolled back, nothing written; a trigger, rule or column default in the database changes the "
        "rows as they go in (drop or disable it for the load)\n"
    )
    assert_rolled_back(pg_database, before)


def test_read_back_epoch_sum_is_exact_to_the_microsecond(pg_database: str) -> None:
    """PostgreSQL's side of the ``epoch`` read-back (float8, for speed) floors every instant as integers do."""
    from stages.load.postgres import PostgresBackend
    from stages.load.target import parse_db_url

    instants = [
        dt.datetime(2199, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2241, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 5, 12, 0, 0, 500_000, tzinfo=dt.UTC),
        dt.datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(1980, 1, 7, tzinfo=dt.UTC),
    ]
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    for when in instants:
        micros = (when - epoch) // dt.timedelta(microseconds=1)
        backend = PostgresBackend(parse_db_url(pg_database))
        try:
            (got,) = backend.query(
                f"SELECT {backend.aggregate_expr('epoch', 'ts')} FROM (SELECT TIMESTAMPTZ '{when.isoformat()}' AS ts) t"
            )[0]
        finally:
            backend.close()
        assert int(got) == micros // 1_000_000, when
