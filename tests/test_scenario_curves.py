"""Every week's value of every scenario curve is checked against the curve's bounds, with the TOML line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.base.errors import UserError
from pipeline.cli import main
from stages.generate.scenario import load_scenario, parse_scenario
from tests.test_scenarios import GOOD, write


def _with_curve(line: str) -> str:
    assert "cycle_time_hours = 30" in GOOD
    return GOOD.replace("cycle_time_hours = 30", line, 1)  # line 12 of GOOD


def _with_ai_share(line: str) -> str:
    assert "ai_share = [0.2, 0.5]" in GOOD
    return GOOD.replace("ai_share = [0.2, 0.5]", line, 1)  # line 11 of GOOD


def _error(text: str) -> str:
    with pytest.raises(UserError) as exc:
        parse_scenario(text, "my.toml")
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_a_wobble_that_leaves_the_bounds_is_refused_with_its_line() -> None:
    msg = _error(
        _with_curve("cycle_time_hours = { value = 10, wobble_period = 3, wobble_center = 1, wobble_step = 1000 }")
    )
    assert msg == (
        "scenario my.toml, line 12: curves.cycle_time_hours.wobble_step: week 1 of 6 comes to -990; "
        "every week's value must be within 1 to 2000"
    )


def test_ai_share_may_not_wobble_past_0_or_100_percent() -> None:
    msg = _error(_with_ai_share("ai_share = { value = 0.5, wobble_period = 3, wobble_center = 1, wobble_step = 0.8 }"))
    assert "line 11: curves.ai_share.wobble_step: week 1 of 6 comes to -0.3;" in msg
    up = _error(_with_ai_share("ai_share = { value = 0.5, wobble_period = 3, wobble_center = 0, wobble_step = 0.3 }"))
    assert (
        "line 11: curves.ai_share.wobble_step: week 3 of 6 comes to 1.1; every week's value must be within 0 to 1" in up
    )
    # reaching the bounds exactly is allowed, as a single value of 0 or 1 is
    text = _with_ai_share("ai_share = { value = 0.5, wobble_period = 3, wobble_center = 1, wobble_step = 0.5 }")
    assert parse_scenario(text, "ok.toml").curves["ai_share"].week_values(3) == [0.0, 0.5, 1.0]


def test_a_linear_curve_with_a_wobble_is_checked_at_every_week() -> None:
    # start and end are in range; the wobble on top of the line passes 1 near the end only
    curve = "ai_share = { start = 0.1, end = 0.9, wobble_period = 4, wobble_center = 0, wobble_step = 0.05 }"
    text = _with_ai_share(curve)
    s = parse_scenario(text, "my.toml")  # 6 weeks: the largest value is 0.95
    assert max(s.curves["ai_share"].week_values(6)) == pytest.approx(0.95)
    with pytest.raises(UserError, match=r"line 11: curves.ai_share.wobble_step: week 4 of 4 comes to 1.05;"):
        s.check_curves(4)


def test_a_curve_in_its_own_table_names_the_wobble_line() -> None:
    text = GOOD.replace(
        "cycle_time_hours = 30\n",
        "cycle_time_hours = 30\n\n[curves.review_time_hours]\nvalue = 2\nwobble_period = 2\nwobble_center = 1\nwobble_step = 5\n",
    )
    assert "line 18: curves.review_time_hours.wobble_step: week 1 of 6 comes to -3;" in _error(text)


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        (
            "cycle_time_hours = { value = 10, wobble_period = 0, wobble_step = 5 }",
            "line 12: curves.cycle_time_hours.wobble_period: 0 is out of range; allowed 2 to 52",
        ),
        (
            "cycle_time_hours = { value = 10, wobble_period = 1 }",
            "line 12: curves.cycle_time_hours.wobble_period: 1 is out of range; allowed 2 to 52",
        ),
        (
            "cycle_time_hours = { value = 10, wobble_step = 5 }",
            "line 12: curves.cycle_time_hours.wobble_step: a wobble needs wobble_period (2 to 52 weeks)",
        ),
        (
            "cycle_time_hours = { value = 10, wobble_center = 1 }",
            "line 12: curves.cycle_time_hours.wobble_center: a wobble needs wobble_period (2 to 52 weeks)",
        ),
    ],
)
def test_a_wobble_needs_a_real_period(curve: str, expected: str) -> None:
    assert expected in _error(_with_curve(curve))


def test_every_curve_of_the_builtins_stays_in_bounds_for_any_weeks() -> None:
    for name in ("ai-success", "review-bottleneck", "baseline", "detective-game"):
        s = load_scenario(name)
        for weeks in (1, 2, 3, 8, 52, 104):
            s.check_curves(weeks)


def test_weeks_on_the_command_line_are_checked_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    curve = "ai_share = { start = 0.1, end = 0.9, wobble_period = 4, wobble_center = 0, wobble_step = 0.05 }"
    path = write(tmp_path, _with_ai_share(curve))
    out = tmp_path / "out"
    assert main(["generate", "--scenario", str(path), "--weeks", "4", "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 11: curves.ai_share.wobble_step: week 4 of 4 comes to 1.05" in err[0]
    assert not out.exists()
