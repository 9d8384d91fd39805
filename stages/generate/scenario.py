"""Scenarios as data: TOML files, validated with messages that name key and line.

A scenario file says who the team is (name, slug, member archetypes) and how
its weekly parameters move (curves). Week ``w`` runs 0..weeks-1 and progress
``p = w / (weeks - 1)``. A curve is one of::

    ai_share = 0.70                       # constant
    ai_share = [0.10, 0.75]               # linear from start to end
    ai_share = { value = 0.15, wobble_period = 3, wobble_center = 1, wobble_step = 0.02 }
    #          value + (w mod period - center) * step   (start/end may replace value)

Every week's value of every curve must lie within the curve's bounds
(:data:`CURVES`), checked for the scenario's weeks and again for a run's
``--weeks`` (:meth:`Scenario.check_curves`); a wobble repeats every 2 to 52
weeks, and ``wobble_center`` / ``wobble_step`` need a ``wobble_period``.

Python 3.11's ``tomllib`` reports no line numbers for semantic errors, so
:func:`stages.generate.tomllines.line_of` finds the line of a key in the source text.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pipeline.base.errors import UserError
from pipeline.base.repos import repo_ok
from stages.generate.config import SLUG
from stages.generate.promises import Promise, promises_of
from stages.generate.tomllines import line_of

if TYPE_CHECKING:  # numpy loads when a curve is evaluated for generation, not to read or list scenarios
    import numpy as np

BUILTIN = ("ai-success", "review-bottleneck", "baseline", "detective-game")

# name -> (default, lower bound, upper bound)
CURVES: dict[str, tuple[float, float, float]] = {
    "ai_share": (0.15, 0.0, 1.0),
    "cycle_time_hours": (48.0, 1.0, 2000.0),
    "review_time_hours": (16.0, 0.25, 1000.0),
    "quality_rating": (2.6, 1.0, 3.0),
    "revert_rate": (0.04, 0.0, 1.0),
    "hotfix_rate": (0.03, 0.0, 1.0),
    "ci_pass_rate": (0.88, 0.0, 1.0),
    "pr_merged": (0.70, 0.0, 1.0),
    "pr_closed": (0.20, 0.0, 1.0),
    "pr_open": (0.10, 0.0, 1.0),
    "review_approved": (0.60, 0.0, 1.0),
    "review_changes_requested": (0.25, 0.0, 1.0),
    "review_commented": (0.15, 0.0, 1.0),
}
_CURVE_TABLE_KEYS = ("value", "start", "end", "wobble_period", "wobble_center", "wobble_step")

ARCHETYPES = (
    "early_adopter",
    "follower",
    "skeptic",
    "bottleneck_reviewer",
    "productive_dev",
    "balanced_dev",
    "standard_dev",
    "occasional_ai_user",
    "obvious_ai",
    "stealth_ai",
    "obvious_manual",
    "stealth_manual",
)
_ARCH_KEYS = ("name", "count", "ai_offset", "volume", "review_weight", "review_share", "guess_accuracy")
_TOP_KEYS = (
    "name",
    "title",
    "story",
    "weeks",
    "prs_per_member_week",
    "reviewers_per_pr",
    "survey_rate",
    "jira_prefix",
    "source_repos",
    "team",
    "curves",
    "archetypes",
    "promises",
)
_TEAM_KEYS = ("name", "slug")


@dataclass(frozen=True)
class Curve:
    """A weekly parameter: linear start->end plus an optional periodic wobble."""

    start: float
    end: float
    wobble_period: int = 0
    wobble_center: float = 0.0
    wobble_step: float = 0.0

    def week_values(self, weeks: int) -> list[float]:
        """The curve's value in each week (float64 arithmetic, the same as :meth:`values`)."""
        out = []
        for w in map(float, range(weeks)):
            v = self.start + (self.end - self.start) * (w / (weeks - 1) if weeks > 1 else 0.0)
            if self.wobble_period:
                v = v + (w % self.wobble_period - self.wobble_center) * self.wobble_step
            out.append(v)
        return out

    def values(self, weeks: int) -> np.ndarray:
        import numpy as np

        return np.array(self.week_values(weeks), dtype=np.float64)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"start": self.start, "end": self.end}
        if self.wobble_period:
            d.update(wobble_period=self.wobble_period, wobble_center=self.wobble_center, wobble_step=self.wobble_step)
        return d


@dataclass(frozen=True)
class Archetype:
    name: str
    count: int
    ai_offset: float = 0.0
    volume: float = 1.0
    review_weight: float = 1.0
    review_share: float | None = None
    guess_accuracy: tuple[float, float] = (0.4, 0.6)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario (built-in or a user's file)."""

    name: str
    title: str
    story: str
    team_name: str
    team_slug: str
    weeks: int
    prs_per_member_week: tuple[int, int]
    reviewers_per_pr: tuple[int, int]
    survey_rate: float
    jira_prefix: str
    archetypes: tuple[Archetype, ...]
    curves: dict[str, Curve] = field(default_factory=dict)
    source_repos: tuple[str, ...] = ()
    path: Path | None = None
    source_text: str = ""
    fixed_prs: int | None = None  # legacy mode: exactly this many PRs per team
    promises: tuple[Promise, ...] = ()  # what its weekly numbers must show (not in as_dict: no snapshot changes)
    origin: str = ""  # where the text came from (a path, or "<name> (built-in)"), for messages

    def check_curves(self, weeks: int) -> None:
        """Every week's value of every curve within its bounds, and the state shares adding up to 1 each week,
        over ``weeks`` weeks; a UserError names the curve's key and line."""
        _check_curves(_Checker(self.source_text, self.origin or self.name), self.curves, weeks)

    @property
    def members(self) -> int:
        return sum(a.count for a in self.archetypes)

    def curve(self, name: str, weeks: int | None = None) -> np.ndarray:
        import numpy as np

        lo, hi = CURVES[name][1:]
        return np.asarray(np.clip(self.curves[name].values(weeks or self.weeks), lo, hi))

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "team": {"name": self.team_name, "slug": self.team_slug},
            "weeks": self.weeks,
            "prs_per_member_week": list(self.prs_per_member_week),
            "reviewers_per_pr": list(self.reviewers_per_pr),
            "survey_rate": self.survey_rate,
            "jira_prefix": self.jira_prefix,
            "archetypes": [
                {
                    "name": a.name,
                    "count": a.count,
                    "ai_offset": a.ai_offset,
                    "volume": a.volume,
                    "review_weight": a.review_weight,
                    "review_share": a.review_share,
                    "guess_accuracy": list(a.guess_accuracy),
                }
                for a in self.archetypes
            ],
            "curves": {k: c.as_dict() for k, c in sorted(self.curves.items())},
        }


class _Checker:
    def __init__(self, text: str, origin: str) -> None:
        self.text = text
        self.origin = origin

    def fail(self, key: str, message: str) -> UserError:
        line = line_of(self.text, key)
        where = f"{self.origin}, line {line}" if line else self.origin
        return UserError(f"scenario {where}: {key}: {message}")

    def number(self, key: str, value: Any, lo: float, hi: float, *, integer: bool = False) -> float:
        ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type:
            kind = "an integer" if integer else "a number"
            raise self.fail(key, f"expected {kind}, got {type(value).__name__} {value!r}")
        if not lo <= value <= hi:
            raise self.fail(key, f"{value!r} is out of range; allowed {lo:g} to {hi:g}")
        return cast(float, value)  # an int stays an int (it is written back as given)

    def string(self, key: str, value: Any, *, max_len: int = 200) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {type(value).__name__} {value!r}")
        if not value.strip() or len(value) > max_len:
            raise self.fail(key, f"must be 1 to {max_len} characters")
        return value

    def pair(self, key: str, value: Any, lo: float, hi: float, *, integer: bool = False) -> tuple[float, float]:
        if not isinstance(value, list) or len(value) != 2:
            raise self.fail(key, f"expected a two-element list [low, high], got {value!r}")
        a = self.number(key, value[0], lo, hi, integer=integer)
        b = self.number(key, value[1], lo, hi, integer=integer)
        if a > b:
            raise self.fail(key, f"low {a!r} is greater than high {b!r}")
        return a, b

    def unknown(self, prefix: str, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
        for k in data:
            if k not in allowed:
                raise self.fail(f"{prefix}{k}", f"unknown key; allowed keys here: {', '.join(allowed)}")

    def curve(self, name: str, value: Any) -> Curve:
        key = f"curves.{name}"
        lo, hi = CURVES[name][1:]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = self.number(key, value, lo, hi)
            return Curve(float(v), float(v))
        if isinstance(value, list):
            a, b = value if len(value) == 2 else (None, None)
            if a is None:
                raise self.fail(key, f"expected a number, [start, end] or a table, got {value!r}")
            return Curve(float(self.number(key, a, lo, hi)), float(self.number(key, b, lo, hi)))
        if isinstance(value, dict):
            self.unknown(f"{key}.", value, _CURVE_TABLE_KEYS)
            if "value" in value:
                start = end = self.number(f"{key}.value", value["value"], lo, hi)
            elif "start" in value and "end" in value:
                start = self.number(f"{key}.start", value["start"], lo, hi)
                end = self.number(f"{key}.end", value["end"], lo, hi)
            else:
                raise self.fail(key, "a curve table needs 'value' or both 'start' and 'end'")
            if "wobble_period" not in value:
                for k in ("wobble_center", "wobble_step"):
                    if k in value:
                        raise self.fail(f"{key}.{k}", "a wobble needs wobble_period (2 to 52 weeks)")
            period = int(self.number(f"{key}.wobble_period", value.get("wobble_period", 0), 0, 52, integer=True))
            if "wobble_period" in value and period < 2:
                raise self.fail(f"{key}.wobble_period", f"{period!r} is out of range; allowed 2 to 52")
            center = self.number(f"{key}.wobble_center", value.get("wobble_center", 0.0), -52, 52)
            step = self.number(f"{key}.wobble_step", value.get("wobble_step", 0.0), -(hi - lo), hi - lo)
            return Curve(float(start), float(end), period, float(center), float(step))
        raise self.fail(key, f"expected a number, [start, end] or a table, got {type(value).__name__}")


_SHARE_GROUPS = (
    ("pr_merged", "pr_closed", "pr_open"),
    ("review_approved", "review_changes_requested", "review_commented"),
)


def _curve_key(name: str, curve: Curve) -> str:
    return f"curves.{name}.wobble_step" if curve.wobble_period else f"curves.{name}"


def _check_curves(c: _Checker, curves: dict[str, Curve], weeks: int) -> None:
    """Each week's value of each curve within its bounds; the state shares add up to 1 every week."""
    for name, curve in curves.items():
        lo, hi = CURVES[name][1:]
        slack = 1e-9 * max(1.0, abs(hi))  # float rounding of start + (end - start) * p + wobble
        for week, v in enumerate(curve.week_values(weeks), start=1):
            if not lo - slack <= v <= hi + slack:
                raise c.fail(
                    _curve_key(name, curve),
                    f"week {week} of {weeks} comes to {v:g}; every week's value must be within {lo:g} to {hi:g}",
                )
    for members in _SHARE_GROUPS:
        total = [sum(week) for week in zip(*(curves[m].week_values(weeks) for m in members), strict=True)]
        bad = [i for i, t in enumerate(total) if abs(t - 1.0) > 0.005]
        if bad:
            changed = [m for m in members if curves[m] != Curve(CURVES[m][0], CURVES[m][0])]
            raise c.fail(
                f"curves.{(changed or members)[0]}",
                f"{'/'.join(members)} must add up to 1 every week; week {bad[0] + 1} adds up to {total[bad[0]]:.3f}",
            )


def _toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"scenario {origin}: not valid TOML: {exc}") from None


def _team(c: _Checker, data: dict[str, Any]) -> dict[str, Any]:
    """The scenario's name and its team's name and slug."""
    name = c.string("name", data["name"], max_len=60)
    if not SLUG.match(name):
        raise c.fail("name", "use lowercase letters, digits and dashes (e.g. my-scenario)")
    team = data["team"]
    if not isinstance(team, dict):
        raise c.fail("team", "expected a table [team] with name and slug")
    c.unknown("team.", team, _TEAM_KEYS)
    team_name = c.string("team.name", team.get("name", name), max_len=100)
    slug = c.string("team.slug", team.get("slug", name), max_len=40)
    if not SLUG.match(slug):
        raise c.fail("team.slug", "use lowercase letters, digits and dashes, at most 40 characters")
    return {"name": name, "team_name": team_name, "team_slug": slug}


def _volumes(c: _Checker, data: dict[str, Any], slug: str) -> dict[str, Any]:
    """Weeks, PRs and reviewers per member, survey rate, Jira prefix, source repos."""
    weeks = int(c.number("weeks", data.get("weeks", 8), 1, 104, integer=True))
    prs = c.pair("prs_per_member_week", data.get("prs_per_member_week", [2, 4]), 0, 50, integer=True)
    if prs[1] < 1:
        raise c.fail("prs_per_member_week", "high must be at least 1")
    revs = c.pair("reviewers_per_pr", data.get("reviewers_per_pr", [1, 3]), 1, 10, integer=True)
    survey_rate = float(c.number("survey_rate", data.get("survey_rate", 0.70), 0.0, 1.0))
    jira_prefix = c.string("jira_prefix", data.get("jira_prefix", slug.split("-")[0][:4].upper() or "DEMO"), max_len=10)
    if not re.fullmatch(r"[A-Z][A-Z0-9]{0,9}", jira_prefix):
        raise c.fail("jira_prefix", "use 1-10 uppercase letters/digits starting with a letter (e.g. AIP)")
    repos = data.get("source_repos", [])
    if not isinstance(repos, list) or not all(isinstance(r, str) and repo_ok(r) for r in repos):
        raise c.fail("source_repos", "expected a list of 'owner/name' strings")
    return {
        "weeks": weeks,
        "prs_per_member_week": (int(prs[0]), int(prs[1])),
        "reviewers_per_pr": (int(revs[0]), int(revs[1])),
        "survey_rate": survey_rate,
        "jira_prefix": jira_prefix,
        "source_repos": tuple(repos),
    }


def _curves(c: _Checker, data: dict[str, Any], weeks: int) -> dict[str, Curve]:
    """Every curve (defaults where the file says nothing), each week's value checked."""
    curves_in = data.get("curves", {})
    if not isinstance(curves_in, dict):
        raise c.fail("curves", "expected a table [curves]")
    c.unknown("curves.", curves_in, tuple(CURVES))
    curves = {k: Curve(d, d) for k, (d, _, _) in CURVES.items()}
    for k, v in curves_in.items():
        curves[k] = c.curve(k, v)
    _check_curves(c, curves, weeks)
    return curves


def _archetype(c: _Checker, i: int, a: dict[str, Any]) -> Archetype:
    pre = f"archetypes[{i}]."
    c.unknown(pre, a, _ARCH_KEYS)
    if "name" not in a:
        raise c.fail(f"archetypes[{i}]", "an archetype needs a name")
    aname = c.string(pre + "name", a["name"], max_len=40)
    if aname not in ARCHETYPES:
        raise c.fail(pre + "name", f"unknown archetype {aname!r}; known: {', '.join(ARCHETYPES)}")
    share = a.get("review_share")
    return Archetype(
        name=aname,
        count=int(c.number(pre + "count", a.get("count", 1), 1, 200, integer=True)),
        ai_offset=float(c.number(pre + "ai_offset", a.get("ai_offset", 0.0), -1.0, 1.0)),
        volume=float(c.number(pre + "volume", a.get("volume", 1.0), 0.05, 10.0)),
        review_weight=float(c.number(pre + "review_weight", a.get("review_weight", 1.0), 0.0, 10.0)),
        review_share=None if share is None else float(c.number(pre + "review_share", share, 0.0, 1.0)),
        guess_accuracy=c.pair(pre + "guess_accuracy", a.get("guess_accuracy", [0.4, 0.6]), 0.0, 1.0),
    )


def _archetypes(c: _Checker, data: dict[str, Any]) -> tuple[Archetype, ...]:
    """The member archetypes; review shares all given (adding up to 1) or none; two members at least."""
    archs_in = data["archetypes"]
    if not isinstance(archs_in, list) or not archs_in or not all(isinstance(a, dict) for a in archs_in):
        raise c.fail("archetypes", "expected one or more [[archetypes]] tables")
    archetypes = tuple(_archetype(c, i, a) for i, a in enumerate(archs_in))
    shares = [a.review_share for a in archetypes]
    given = [s for s in shares if s is not None]
    if given:
        if len(given) < len(shares):
            i = shares.index(None)
            raise c.fail(f"archetypes[{i}]", "either every archetype has review_share or none does")
        if abs(sum(given) - 1.0) > 0.005:
            raise c.fail(
                "archetypes[0].review_share", f"review shares must add up to 1, they add up to {sum(given):.3f}"
            )
    elif sum(a.count * a.review_weight for a in archetypes) <= 0:
        raise c.fail("archetypes[0].review_weight", "at least one archetype needs a review_weight above 0")
    if sum(a.count for a in archetypes) < 2:
        raise c.fail("archetypes[0].count", "a team needs at least 2 members (nobody may review their own PR)")
    return archetypes


def parse_scenario(text: str, origin: str, path: Path | None = None) -> Scenario:
    """Parse and validate scenario TOML text; every error names the key and its line."""
    data = _toml(text, origin)
    c = _Checker(text, origin)
    c.unknown("", data, _TOP_KEYS)
    for required in ("name", "team", "archetypes"):
        if required not in data:
            raise UserError(f"scenario {origin}: missing required key '{required}'")
    team = _team(c, data)
    volumes = _volumes(c, data, team["team_slug"])
    curves = _curves(c, data, volumes["weeks"])
    archetypes = _archetypes(c, data)
    name = team["name"]
    return Scenario(
        **team,
        **volumes,
        title=c.string("title", data.get("title", name)),
        story=c.string("story", data.get("story", data.get("title", name)), max_len=400),
        archetypes=archetypes,
        curves=curves,
        path=path,
        source_text=text,
        promises=promises_of(c, data),
        origin=origin,
    )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name, or a user's TOML file by path."""
    s = str(name_or_path)
    if s in BUILTIN:
        text = resources.files("stages.generate").joinpath("scenarios").joinpath(f"{s}.toml").read_text("utf-8")
        return parse_scenario(text, f"{s} (built-in)")
    path = Path(s)
    if path.suffix == ".toml" or path.exists():
        if path.is_dir():
            raise UserError(f"scenario file {path} is a folder; give a .toml file or one of: {', '.join(BUILTIN)}")
        if not path.is_file():
            raise UserError(f"scenario file {path} does not exist; give a .toml file or one of: {', '.join(BUILTIN)}")
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"scenario file {path}: cannot read it ({exc})") from None
        return parse_scenario(text, str(path), path=path)
    raise UserError(f"unknown scenario {s!r}; use one of {', '.join(BUILTIN)} or a path to a .toml file")


def list_scenarios() -> list[Scenario]:
    """The built-in scenarios, in their documented order."""
    return [load_scenario(n) for n in BUILTIN]
