"""The file classifier equals the app's: every row of the app's answers for 1,789 real paths."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.base.filecategory import CATEGORIES, category_of, file_category
from pipeline.paths import DEFAULT_ANCHOR

TABLE = Path(__file__).parent / "data" / "file-categories.tsv"  # the app's own answers (shared fixture)


def _app_answers() -> pl.DataFrame:
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "path\tcategory"
    rows = [line.split("\t") for line in lines[1:]]
    return pl.DataFrame({"path": [r[0] for r in rows], "want": [r[1] for r in rows]})


def test_equals_the_app_on_every_row_of_its_table() -> None:
    df = _app_answers()
    assert df.height == 1789
    got = df.with_columns(got=file_category(pl.col("path")))
    differ = got.filter(pl.col("got") != pl.col("want"))
    assert differ.height == 0, differ.head(20)
    assert set(got["got"]) == set(CATEGORIES)  # the table exercises every category


def test_scalar_helper_matches_the_expression() -> None:
    df = _app_answers()
    sample = df.gather_every(40)
    assert [category_of(p) for p in sample["path"]] == sample["want"].to_list()


@pytest.mark.parametrize(
    ("path", "category"),
    [
        ("src/app/migrations/0001_initial.py", "backend"),  # no "migration" category in the app
        ("tests/test_api.py", "test"),
        ("Tests/helpers.py", "backend"),  # "/tests/" needs a slash before it
        ("web/src/Button.test.tsx", "test"),
        ("src/pages/api/users.ts", "backend"),
        ("apps/web/src/main.ts", "frontend"),
        ("src/Controllers/user.js", "backend"),  # matched by the lower-case "/controllers/"
        ("lib/util.js", "javascript"),
        ("tools/build.mjs", "javascript"),  # .mjs is a JavaScript path before it is a backend extension
        ("docs/intro.mdx", "frontend"),
        ("docs/intro.md", "docs"),
        ("pyproject.toml", "config"),
        ("Dockerfile", "config"),
        (".flake8", "config"),
        ("LICENSE", "other"),
    ],
)
def test_rules(path: str, category: str) -> None:
    assert category_of(path) == category


def test_null_path_stays_null() -> None:
    out = pl.DataFrame({"p": ["a.py", None]}, schema={"p": pl.String}).select(file_category(pl.col("p")))
    assert out.to_series().to_list() == ["backend", None]


def test_scenario_and_real_modes_classify_a_path_alike() -> None:
    """A synthetic catalog path, met again as a real file through normalize, gets the same category."""
    from stages.generate.words import path_catalog
    from stages.normalize import normalize
    from tests.test_normalize import file, pr_node, raw_table

    paths, categories = path_catalog()
    synthetic = dict(zip(paths.to_pylist(), categories.to_pylist(), strict=True))
    assert set(synthetic.values()) == {"backend", "test", "frontend", "docs"}  # no "migration"
    assert synthetic["src/billing/migrations/0001_models.py"] == "backend"
    node = pr_node("acme/api", 1, files=[file(p, "MODIFIED") for p in synthetic])
    real = normalize(raw_table([node])).tables["gh_files"]
    assert dict(zip(real["path"].to_pylist(), real["file_category"].to_pylist(), strict=True)) == synthetic


def test_generated_files_carry_the_apps_category() -> None:
    from stages.generate import GenerateConfig, generate

    files = generate(GenerateConfig(anchor=DEFAULT_ANCHOR, scenario="baseline", seed=3, weeks=2)).tables[
        "metrics_prfile"
    ]
    df = pl.from_arrow(files.select(["filename", "file_category"]))
    assert isinstance(df, pl.DataFrame) and df.height > 50
    assert df.filter(file_category(pl.col("filename")) != pl.col("file_category")).height == 0
