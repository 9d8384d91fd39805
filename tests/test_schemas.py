"""The app tables' schemas come from the app's DDL (pipeline/base/appddl.py), the rest from schemas.py."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.base.appddl import app_ddl
from pipeline.base.schemas import ALL_TABLES, APP_LOAD_ORDER, APP_TABLES, SNAPSHOT_TABLES, TS, spec

ROOT = Path(__file__).resolve().parents[1]
VENDORED_DDL = ROOT / "pipeline" / "base" / "sql" / "app-schema.sql"
SHARED_DDL = ROOT.parent / "shared" / "docs" / "app-schema.sql"


def test_vendored_ddl_is_the_apps_ddl():
    if not SHARED_DDL.is_file():
        pytest.skip("../shared/docs/app-schema.sql not present (a user's clone)")
    assert VENDORED_DDL.read_text() == SHARED_DDL.read_text()


def test_every_column_of_the_ddl_is_in_its_spec_in_order():
    text = VENDORED_DDL.read_text()
    creates = re.findall(r'^CREATE TABLE "(\w+)" \((.*)\);$', text, re.M)
    assert len(creates) == 13 and [t.name for t in APP_TABLES] == [name for name, _ in creates]
    for name, body in creates:
        # a column definition starts the body or follows ', "'; constraints start with CONSTRAINT
        chunks = re.split(r', (?=")', body.split(", CONSTRAINT ")[0])
        declared = [re.match(r'"(\w+)"', c).group(1) for c in chunks]
        assert list(spec(name).column_names) == declared, name
        nullable = {d for d, c in zip(declared, chunks, strict=True) if " NOT NULL" not in c}
        assert {f.name for f in spec(name).schema if f.nullable} == nullable, name


@pytest.mark.parametrize(
    ("table", "column", "arrow", "nullable", "max_length", "json"),
    [
        ("teams_team", "id", pa.int64(), False, None, False),
        ("teams_team", "slug", pa.string(), False, 50, False),
        ("teams_team", "onboarding_pipeline_error", pa.string(), True, None, False),
        ("teams_team", "background_sync_progress", pa.int32(), False, None, False),
        ("metrics_teammember", "copilot_last_editor", pa.string(), True, 100, False),
        ("metrics_aiusagedaily", "date", pa.date32(), False, None, False),
        ("metrics_aiusagedaily", "active_hours", pa.decimal128(5, 2), True, None, False),
        ("metrics_pullrequest", "labels", pa.string(), False, None, True),
        ("metrics_pullrequest", "llm_summary", pa.string(), True, None, True),
        ("metrics_pullrequest", "is_ai_assisted", pa.bool_(), True, None, False),
        ("metrics_pullrequest", "ai_confidence_score", pa.decimal128(4, 3), True, None, False),
        ("metrics_prreview", "submitted_at", TS, True, None, False),
        ("metrics_prsurvey", "token", pa.string(), True, 64, False),
        ("metrics_weeklymetrics", "story_points_completed", pa.decimal128(10, 1), False, None, False),
    ],
)
def test_ddl_types_map_to_arrow(table, column, arrow, nullable, max_length, json):
    s = spec(table)
    field = s.schema.field(column)
    assert (field.type, field.nullable) == (arrow, nullable)
    assert s.max_lengths().get(column) == max_length
    assert (column in s.json_columns()) == json


def test_a_column_added_to_the_ddl_reaches_the_parsed_columns(tmp_path):
    text = VENDORED_DDL.read_text().replace(
        '"copilot_price_tier" varchar(20) NOT NULL);',
        '"copilot_price_tier" varchar(20) NOT NULL, "plan" varchar(7) NULL);',
    )
    (tmp_path / "app.sql").write_text(text)
    cols = app_ddl(tmp_path / "app.sql").columns("teams_team")
    assert (cols[-1].name, cols[-1].sql_type, cols[-1].nullable, cols[-1].max_length) == ("plan", "varchar(7)", True, 7)


def test_load_order_puts_every_referenced_table_first():
    assert sorted(APP_LOAD_ORDER) == sorted(t.name for t in APP_TABLES)
    assert APP_LOAD_ORDER[0] == "teams_team"
    assert APP_LOAD_ORDER.index("metrics_prsurvey") < APP_LOAD_ORDER.index("metrics_prsurveyreview")
    assert APP_LOAD_ORDER.index("metrics_pullrequest") < APP_LOAD_ORDER.index("metrics_prreview")
    fks = re.findall(r'^ALTER TABLE "(\w+)" .* REFERENCES "(\w+)"', VENDORED_DDL.read_text(), re.M)
    assert len(fks) == 28
    for child, parent in fks:
        assert APP_LOAD_ORDER.index(parent) < APP_LOAD_ORDER.index(child), (child, parent)
    assert set(SNAPSHOT_TABLES) <= set(ALL_TABLES)


def test_every_spec_orders_by_its_own_columns():
    for s in ALL_TABLES.values():
        assert s.order_by and set(s.order_by) <= set(s.column_names), s.name
