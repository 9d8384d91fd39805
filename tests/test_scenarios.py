"""Scenario files: the built-ins carry the documented numbers; bad files fail with key and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.base.errors import UserError
from pipeline.cli import cli, main
from pipeline.paths import DEFAULT_ANCHOR
from stages.generate.scenario import list_scenarios, load_scenario

GOOD = """\
name = "my-team"
title = "My story"
weeks = 6
prs_per_member_week = [2, 3]

[team]
name = "My Team"
slug = "my-team"

[curves]
ai_share = [0.2, 0.5]
cycle_time_hours = 30

[[archetypes]]
name = "standard_dev"
count = 3

[[archetypes]]
name = "skeptic"
count = 1
ai_offset = -0.1
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def test_builtins_have_the_documented_parameters() -> None:
    by_name = {s.name: s for s in list_scenarios()}
    assert list(by_name) == ["ai-success", "review-bottleneck", "baseline", "detective-game"]
    ai = by_name["ai-success"]
    assert (ai.team_name, ai.team_slug, ai.members, ai.weeks) == ("AI Pioneers", "ai-pioneers", 5, 8)
    assert ai.prs_per_member_week == (3, 5)
    assert ai.curve("ai_share")[[0, -1]].tolist() == pytest.approx([0.10, 0.75])
    assert ai.curve("cycle_time_hours")[[0, -1]].tolist() == pytest.approx([72, 24])
    assert ai.curve("review_time_hours")[[0, -1]].tolist() == pytest.approx([24, 8])
    assert ai.curve("quality_rating")[[0, -1]].tolist() == pytest.approx([2.5, 2.8])
    assert ai.curve("revert_rate")[[0, -1]].tolist() == pytest.approx([0.05, 0.03])
    assert ai.curve("ci_pass_rate")[[0, -1]].tolist() == pytest.approx([0.85, 0.95])
    arch = {a.name: a for a in ai.archetypes}
    assert (arch["early_adopter"].count, arch["early_adopter"].ai_offset, arch["early_adopter"].volume) == (2, 0.2, 1.2)
    assert arch["skeptic"].review_weight == 1.2 and arch["skeptic"].guess_accuracy == (0.3, 0.5)

    rb = by_name["review-bottleneck"]
    shares = {a.name: a.review_share for a in rb.archetypes}
    assert shares == {"bottleneck_reviewer": 0.60, "productive_dev": 0.25, "balanced_dev": 0.15}
    assert rb.curve("pr_open")[[0, -1]].tolist() == pytest.approx([0.10, 0.25])
    assert rb.curve("review_time_hours")[[0, -1]].tolist() == pytest.approx([8, 32])

    base = by_name["baseline"]
    # v = (week mod 3 - 1) * 0.02 on 0.15; cycle 48 + (week mod 4 - 1.5) * 2
    assert base.curve("ai_share").tolist() == pytest.approx([0.13, 0.15, 0.17, 0.13, 0.15, 0.17, 0.13, 0.15])
    assert base.curve("cycle_time_hours").tolist() == pytest.approx([45, 47, 49, 51, 45, 47, 49, 51])

    det = by_name["detective-game"]
    assert det.members == 6
    assert {a.name: a.guess_accuracy for a in det.archetypes} == {
        "obvious_ai": (0.55, 0.70),
        "stealth_ai": (0.20, 0.35),
        "obvious_manual": (0.25, 0.40),
        "stealth_manual": (0.50, 0.65),
    }
    assert det.curve("review_approved")[0] == pytest.approx(0.70)


def test_user_file_loads(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, GOOD))
    assert (s.name, s.members, s.weeks, s.team_slug) == ("my-team", 4, 6, "my-team")
    assert s.curve("ai_share")[-1] == pytest.approx(0.5)
    assert s.curve("pr_merged")[0] == pytest.approx(0.70)  # default where the file says nothing


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("cycle_time_hours = 30", "cycle_time_hours = 30\nai_shar = 0.3", "line 13: curves.ai_shar: unknown key"),
        ("weeks = 6", 'weeks = "six"', "line 3: weeks: expected an integer, got str 'six'"),
        ('name = "skeptic"', 'name = "wizard"', "line 19: archetypes[1].name: unknown archetype 'wizard'"),
        ("ai_offset = -0.1", "ai_offset = -3", "line 21: archetypes[1].ai_offset: -3 is out of range"),
        ("ai_share = [0.2, 0.5]", "ai_share = [0.2, 1.5]", "line 11: curves.ai_share: 1.5 is out of range"),
        ("prs_per_member_week = [2, 3]", "prs_per_member_week = [5, 3]", "line 4: prs_per_member_week: low 5"),
        ('slug = "my-team"', 'slug = "My Team!"', "line 8: team.slug: use lowercase letters"),
        ("count = 3", "count = 0", "line 16: archetypes[0].count: 0 is out of range"),
    ],
)
def test_bad_files_name_key_and_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(UserError) as exc:
        load_scenario(path)
    assert expected in str(exc.value)
    assert str(path) in str(exc.value)
    assert "\n" not in str(exc.value)


def test_state_shares_must_add_up(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("cycle_time_hours = 30", "cycle_time_hours = 30\npr_open = 0.5"))
    with pytest.raises(UserError, match=r"line 13: curves.pr_open: pr_merged/pr_closed/pr_open must add up to 1"):
        load_scenario(path)


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not valid TOML"):
        load_scenario(write(tmp_path, "name = \n"))
    with pytest.raises(UserError, match="does not exist"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(UserError, match="unknown scenario 'nope'"):
        load_scenario("nope")


def test_scenarios_command_lists_all() -> None:
    result = CliRunner().invoke(cli, ["scenarios"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["scenario", "team", "members", "weeks"]
    rows = {ln.split()[0]: ln for ln in lines[1:]}
    assert set(rows) == {"ai-success", "review-bottleneck", "baseline", "detective-game"}
    assert rows["detective-game"].split()[1:6] == ["AI", "Detectives", "(ai-detectives)", "6", "8"]
    assert "60 %" in rows["review-bottleneck"]
    listed = CliRunner().invoke(cli, ["generate", "--list-scenarios"])
    assert listed.exit_code == 0 and listed.output == result.output


def test_bad_scenario_file_via_cli_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, GOOD.replace('name = "skeptic"', 'name = "wizard"'))
    assert main(["generate", "--scenario", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 19" in err[0] and "wizard" in err[0]


def test_user_scenario_generates(tmp_path: Path) -> None:
    from stages.generate import GenerateConfig, generate

    path = write(tmp_path, GOOD)
    r = generate(GenerateConfig(anchor=DEFAULT_ANCHOR, scenario=str(path), seed=2))
    assert r.info.scenario == "my-team" and r.info.weeks == 6
    assert r.tables["teams_team"]["slug"].to_pylist() == ["my-team"]
    assert r.tables["metrics_teammember"].num_rows == 4
    assert r.info.scenario_parameters["curves"]["ai_share"] == {"start": 0.2, "end": 0.5}
