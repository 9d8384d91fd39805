"""Scenario promises: declared once in each scenario's TOML, held by the built-ins, shown by the report."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import polars as pl
import pytest

from pipeline.base.errors import UserError
from pipeline.cli import main
from pipeline.paths import DEFAULT_ANCHOR
from pipeline.report.checks import promise_check
from stages.aggregate import aggregate
from stages.generate import GenerateConfig, generate
from stages.generate.promises import without_promises
from stages.generate.scenario import BUILTIN, load_scenario

REPO = Path(__file__).resolve().parents[1]


@functools.cache
def team_weeks(scenario: str, seed: int) -> pl.DataFrame:
    res = generate(GenerateConfig(scenario=scenario, seed=seed, anchor=DEFAULT_ANCHOR))
    df = pl.from_arrow(aggregate(res.tables, week_starts=list(res.info.week_starts))["demoseed_team_weekly"])
    assert isinstance(df, pl.DataFrame)
    return df.sort("week_start")


def test_every_builtin_declares_its_promises():
    declared = {name: [p.rule for p in load_scenario(name).promises] for name in BUILTIN}
    assert declared == {
        "ai-success": ["AI-assisted share ≤ 20 % in week 1", "AI-assisted share ≥ 65 % in the last week"],
        "review-bottleneck": ["top reviewer does 60 % ± 5 % of all reviews"],
        "baseline": ["no trend in AI share, cycle time and review time"],
        "detective-game": ["team guess accuracy 30–70 %"],
    }


def test_the_docs_quote_the_declared_promises():
    """docs/scenarios.md lists each built-in's promises as its TOML declares them (one source: the TOML)."""
    text = (REPO / "docs" / "scenarios.md").read_text("utf-8")
    listed = text.split("<!-- promises -->", 1)[1].split("<!-- /promises -->", 1)[0].strip().splitlines()
    declared = [
        f"- {name}: " + "; ".join(f'"{p.rule}"' for p in load_scenario(name).promises)
        for name in ("ai-success", "review-bottleneck", "baseline", "detective-game")
    ]
    assert sorted(listed) == sorted(declared)
    assert {name for name in BUILTIN} == {"ai-success", "review-bottleneck", "baseline", "detective-game"}


@pytest.mark.slow
@pytest.mark.parametrize("seed", (1, 42, 2024))
@pytest.mark.parametrize("scenario", sorted(BUILTIN))
def test_the_builtins_keep_their_promises(scenario, seed):
    for promise in load_scenario(scenario).promises:
        check = promise_check(promise, team_weeks(scenario, seed))
        assert check.held, (scenario, seed, check)


def test_a_broken_promise_is_reported_broken():
    (promise,) = load_scenario("review-bottleneck").promises
    weeks = team_weeks("baseline", 42)  # nobody carries 60 % of the reviews in a balanced team
    check = promise_check(promise, weeks)
    assert check.held is False and check.detail.endswith("%")


def test_promises_are_not_part_of_the_snapshot_identity():
    """The promises are left out of the hashed text and the manifest's parameters (the pinned ids hold:
    tests/test_pinned_snapshots.py)."""
    for name in BUILTIN:
        text = load_scenario(name).source_text
        assert "[[promises]]" in text and "[[promises]]" not in without_promises(text)
        assert "promises" not in load_scenario(name).as_dict()
    base = without_promises(load_scenario("baseline").source_text)
    assert without_promises(base) == base


def _user_file(tmp_path: Path, promise: str) -> Path:
    text = (REPO / "stages/generate/scenarios/baseline.toml").read_text("utf-8")
    path = tmp_path / "my-team.toml"
    path.write_text(without_promises(text).replace('name = "baseline"', 'name = "my-team"') + promise, "utf-8")
    return path


def test_a_users_scenario_declares_its_own_promises_and_the_report_checks_them(tmp_path, data_root):
    promise = '\n[[promises]]\nrule = "AI share at most 99 % in the last week"\nmeasure = "last"\ncolumn = "ai_assisted_share"\nat_most = 0.99\n'
    path = _user_file(tmp_path, promise)
    snap = tmp_path / "snap"
    assert main(["snapshot", "--scenario", str(path), "--no-github", "--weeks", "4", "-o", str(snap)]) == 0
    out = tmp_path / "r.html"
    assert main(["report", str(snap), "-o", str(out)]) == 0
    page = out.read_text("utf-8")
    assert "✓ AI share at most 99 % in the last week" in page
    assert "no trend in AI share" not in page  # baseline's own promise is not the user's
    path.write_text(path.read_text("utf-8").replace("0.99", "0.01"), "utf-8")  # the file changed since
    assert main(["report", str(snap), "-o", str(out)]) == 0
    assert "AI share at most" not in out.read_text("utf-8")


@pytest.mark.parametrize(
    ("promise", "expected"),
    [
        ('measure = "median"\ncolumn = "reviews"\nat_most = 1\n', "promises[0].measure: use one of first, last"),
        ('measure = "last"\ncolumn = "nope"\nat_most = 1\n', "promises[0].column: 'nope' is not a column"),
        ('measure = "last"\ncolumn = "reviews"\n', "give a bound"),
        ('measure = "last"\ncolumn = "reviews"\nat_most = 1\nsoon = 2\n', "promises[0].soon: unknown key"),
    ],
)
def test_a_bad_promise_names_its_key(tmp_path, promise, expected):
    path = _user_file(tmp_path, '\n[[promises]]\nrule = "r"\n' + promise)
    with pytest.raises(UserError, match=re.escape(expected)) as info:
        load_scenario(path)
    assert "line" in str(info.value)
