"""What a generate run is asked for (:class:`GenerateConfig`) and the bounds of every parameter.

The bounds are the numbers the generator supports; the command line builds
its options from them (``pipeline/options.py``) and :meth:`GenerateConfig.check`
applies the same numbers to a config built in code, so there is one set.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from pipeline.base.errors import UserError
from pipeline.base.runrecord import Mode

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")  # a scenario name or team slug: lowercase, digits, dashes; max 40


@dataclass(frozen=True)
class GenerateConfig:
    """A scenario (or legacy mode, ``scenario=None``) and the parameters that override it.

    ``None`` means "the scenario's value" (weeks, members, team slug), the
    default (teams 1, real share 0.25) or, for ``anchor``, the caller's
    default anchor (see :meth:`with_anchor`).
    """

    scenario: str | Path | None = "ai-success"
    seed: int = 42
    anchor: dt.date | None = None
    weeks: int | None = None
    real_share: float | None = None
    teams: int | None = None
    members: int | None = None
    prs: int | None = None
    team_slug: str | None = None
    project: str | None = None  # a real project's preset (its own generator; not part of as_params)

    SEED: ClassVar[tuple[int, int]] = (0, 2**63 - 1)
    ANCHOR: ClassVar[tuple[dt.date, dt.date]] = (dt.date(1980, 1, 7), dt.date(2199, 12, 30))  # Mondays
    WEEKS: ClassVar[tuple[int, int]] = (1, 104)
    TEAMS: ClassVar[tuple[int, int]] = (1, 100_000)
    MEMBERS: ClassVar[tuple[int, int]] = (2, 500)  # reviews need two people
    PRS: ClassVar[tuple[int, int]] = (1, 1_000_000)
    REAL_SHARE: ClassVar[tuple[float, float]] = (0.20, 0.30)  # or exactly 0: synthetic only
    DEFAULT_REAL_SHARE: ClassVar[float] = 0.25
    DEFAULT_SCENARIO: ClassVar[str] = "ai-success"

    @property
    def mode(self) -> Mode:
        """Resolved once from the config: a real project, legacy mode (no scenario) or a scenario."""
        return Mode.of(project=self.project, scenario=self.scenario)

    @property
    def legacy(self) -> bool:
        return self.mode is Mode.LEGACY

    def with_anchor(self, default: dt.date) -> GenerateConfig:
        """This config with ``anchor`` set (``default`` when none was given)."""
        return self if self.anchor is not None else replace(self, anchor=default)

    def check(self) -> None:
        """Every bound, and legacy mode's required sizes; UserError naming the flag otherwise."""
        self.check_bounds()
        if self.legacy and (self.members is None or self.prs is None):
            raise UserError("legacy mode (no --scenario) needs --members M and --prs P (and --teams N, default 1)")

    def check_bounds(self) -> None:
        """Every bound, as the command line states it (the same constants)."""
        for flag, value, (low, high), unit in (
            ("--seed", self.seed, self.SEED, ""),
            ("--weeks", self.weeks, self.WEEKS, " weeks"),
            ("--teams", self.teams, self.TEAMS, " teams"),
            ("--members", self.members, self.MEMBERS, " members (reviews need two people)"),
            ("--prs", self.prs, self.PRS, " PRs per team"),
        ):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise UserError(f"{flag} {value!r}: use a whole number from {low} to {high}{unit}")
        rs = self.real_share
        if rs is not None and not real_share_ok(rs):
            low_rs, high_rs = self.REAL_SHARE
            raise UserError(f"--real-share {rs}: use {low_rs:.2f} to {high_rs:.2f} (or 0 for synthetic only)")
        if self.anchor is not None:
            if not anchor_ok(self.anchor):
                low_a, high_a = self.ANCHOR
                raise UserError(f"--anchor {self.anchor}: use a Monday from {low_a} to {high_a}")
            if self.anchor.weekday() != 0:
                monday = self.anchor - dt.timedelta(days=self.anchor.weekday())
                raise UserError(f"--anchor {self.anchor}: must be a Monday (e.g. {monday})")
        if self.team_slug is not None and not SLUG.match(self.team_slug):
            raise UserError(f"--team-slug {self.team_slug!r}: use lowercase letters, digits and dashes (max 40)")

    def as_params(self) -> dict[str, Any]:
        """The config as JSON values (the anchor as an ISO date, a scenario path as text)."""
        return {
            "scenario": None if self.scenario is None else str(self.scenario),
            "seed": self.seed,
            "anchor": self.anchor.isoformat() if self.anchor else None,
            "weeks": self.weeks,
            "real_share": self.real_share,
            "teams": self.teams,
            "members": self.members,
            "prs": self.prs,
            "team_slug": self.team_slug,
        }


def real_share_ok(value: float) -> bool:
    """0 (synthetic only) or within :attr:`GenerateConfig.REAL_SHARE`."""
    low, high = GenerateConfig.REAL_SHARE
    return value == 0 or low <= value <= high


def anchor_ok(day: dt.date) -> bool:
    """Within :attr:`GenerateConfig.ANCHOR` (the weeks before it, and the week after, stay valid dates)."""
    low, high = GenerateConfig.ANCHOR
    return low <= day <= high
