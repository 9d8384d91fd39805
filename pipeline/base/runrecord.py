"""What a run was and what it produced: the run's :class:`Mode` and its typed record.

A snapshot is made in one of three modes, resolved once from the request
(:meth:`Mode.of`): a scenario, legacy mode (``--members``/``--prs`` without a
scenario) or a real project. The generate stage's record of the run is one of
two dataclasses, :class:`GenerateInfo` (scenario and legacy runs) or
:class:`ProjectInfo` (real-project runs); the manifest writes it as
``params.generate`` (:meth:`as_json`) and reads it back with
:func:`run_record_from_json`, and every reader (report, describe) uses the
typed record. Both expose the same questions a reader asks (:class:`RunRecord`):
the mode, the seed, the weeks, the realized real share and the scenario, if any.

``as_json`` writes the keys every earlier version wrote, so manifests, and the
snapshot ids derived from them, keep their bytes.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any


class Mode(enum.StrEnum):
    """How a run's teams came to be (the manifest's ``params.mode``)."""

    SCENARIO = "scenario"
    LEGACY = "legacy"  # --members/--prs without a scenario: baseline-like behaviour
    PROJECT = "project"  # a real project's PRs

    @classmethod
    def of(cls, *, project: object, scenario: object) -> Mode:
        """The mode of a request: a real project when one is named, else legacy without a scenario."""
        if project:
            return cls.PROJECT
        return cls.LEGACY if scenario is None else cls.SCENARIO

    @classmethod
    def parse(cls, value: object) -> Mode | None:
        """The mode a manifest records (None when it records none or one this version does not know)."""
        try:
            return cls(value) if isinstance(value, str) else None
        except ValueError:
            return None


def _dates(values: Any) -> tuple[dt.date, ...]:
    return tuple(dt.date.fromisoformat(str(v)) for v in values)


@dataclass(frozen=True)
class GenerateInfo:
    """What a scenario or legacy run resolved and produced (``info.json``, the manifest's ``params.generate``)."""

    mode: Mode  # Mode.SCENARIO or Mode.LEGACY
    scenario: str
    scenario_title: str
    seed: int
    anchor: dt.date
    weeks: int
    teams: int
    members: int
    prs_per_team: int | None
    team_slug: str
    scenario_parameters: dict[str, Any]
    week_starts: tuple[dt.date, ...]
    window_end: dt.date
    warmup_weeks: int
    warmup_start: dt.date
    warmup_prs: int
    team_slugs: tuple[str, ...]
    real_share_requested: float
    real_share: float  # realized: the share of PRs that took real metadata
    real_source_prs: int
    real_prs_used: int
    real_share_reason: str | None = None  # why the real share is 0 (None when real data was blended)
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def scenario_name(self) -> str | None:
        """The scenario's name (``legacy`` in legacy mode)."""
        return self.scenario

    @property
    def project(self) -> str | None:
        return None

    @property
    def real_fields(self) -> tuple[str, ...]:
        """The PR fields taken from GitHub (a real project's; none for a synthetic run, blended or not)."""
        return ()

    def as_json(self) -> dict[str, Any]:
        """The JSON document (the keys every earlier version wrote, so manifests keep their bytes)."""
        out: dict[str, Any] = {
            "mode": str(self.mode),
            "scenario": self.scenario,
            "scenario_title": self.scenario_title,
            "seed": self.seed,
            "anchor": self.anchor.isoformat(),
            "weeks": self.weeks,
            "teams": self.teams,
            "members": self.members,
            "prs_per_team": self.prs_per_team,
            "team_slug": self.team_slug,
            "scenario_parameters": self.scenario_parameters,
            "week_starts": [w.isoformat() for w in self.week_starts],
            "window_end": self.window_end.isoformat(),
            "warmup_weeks": self.warmup_weeks,
            "warmup_start": self.warmup_start.isoformat(),
            "warmup_prs": self.warmup_prs,
            "team_slugs": list(self.team_slugs),
            "real_share_requested": self.real_share_requested,
            "real_share": self.real_share,
            "real_share_realized": self.real_share,
            "real_source_prs": self.real_source_prs,
            "real_prs_used": self.real_prs_used,
            "row_counts": dict(self.row_counts),
        }
        if self.real_share_reason is not None:
            out["real_share_reason"] = self.real_share_reason
        return out

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> GenerateInfo:
        """The record back from :meth:`as_json` (KeyError/ValueError when a key is missing or malformed)."""
        return cls(
            mode=Mode(doc["mode"]),
            scenario=str(doc["scenario"]),
            scenario_title=str(doc["scenario_title"]),
            seed=int(doc["seed"]),
            anchor=dt.date.fromisoformat(doc["anchor"]),
            weeks=int(doc["weeks"]),
            teams=int(doc["teams"]),
            members=int(doc["members"]),
            prs_per_team=None if doc["prs_per_team"] is None else int(doc["prs_per_team"]),
            team_slug=str(doc["team_slug"]),
            scenario_parameters=dict(doc["scenario_parameters"]),
            week_starts=_dates(doc["week_starts"]),
            window_end=dt.date.fromisoformat(doc["window_end"]),
            warmup_weeks=int(doc["warmup_weeks"]),
            warmup_start=dt.date.fromisoformat(doc["warmup_start"]),
            warmup_prs=int(doc["warmup_prs"]),
            team_slugs=tuple(str(s) for s in doc["team_slugs"]),
            real_share_requested=float(doc["real_share_requested"]),
            real_share=float(doc["real_share"]),
            real_source_prs=int(doc["real_source_prs"]),
            real_prs_used=int(doc["real_prs_used"]),
            real_share_reason=doc.get("real_share_reason"),
            row_counts={str(k): int(v) for k, v in doc.get("row_counts", {}).items()},
        )


@dataclass(frozen=True)
class ProjectInfo:
    """What a real-project run resolved and produced (the manifest's ``params.generate``)."""

    project: str  # the preset's key
    team_slugs: tuple[str, ...]
    seed: int
    anchor: dt.date
    anchor_source: str  # "given" or "newest real event"
    window: tuple[dt.datetime, dt.datetime]  # the real PRs' creation times taken: [start, end)
    week_starts: tuple[dt.date, ...]
    repos: tuple[str, ...]
    members: int
    real_prs: int
    real_fields: tuple[str, ...]  # PR fields taken from GitHub
    simulated_fields: tuple[str, ...]  # PR fields the generator filled in
    simulated_tables: tuple[str, ...]
    dropped: dict[str, int]  # what was left out of the real data, and how many

    mode: Mode = Mode.PROJECT
    real_share: float = 1.0  # every PR is real
    real_share_reason: str | None = None

    @property
    def scenario_name(self) -> str | None:
        return None

    @property
    def scenario_title(self) -> str:
        return ""

    @property
    def scenario_parameters(self) -> dict[str, Any] | None:
        return None

    def as_json(self) -> dict[str, Any]:
        """The JSON document (the keys every earlier version wrote, so manifests keep their bytes)."""
        return {
            "mode": str(self.mode),
            "project": self.project,
            "team_slugs": list(self.team_slugs),
            "seed": self.seed,
            "anchor": self.anchor.isoformat(),
            "anchor_source": self.anchor_source,
            "window": [d.isoformat() for d in self.window],
            "week_starts": [w.isoformat() for w in self.week_starts],
            "repos": list(self.repos),
            "members": self.members,
            "real_prs": self.real_prs,
            "real_source_prs": self.real_prs,
            "real_share": self.real_share,
            "real_share_realized": self.real_share,
            "real_fields": list(self.real_fields),
            "simulated_fields": list(self.simulated_fields),
            "simulated_tables": list(self.simulated_tables),
            "dropped": dict(sorted(self.dropped.items())),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ProjectInfo:
        """The record back from :meth:`as_json` (KeyError/ValueError when a key is missing or malformed)."""
        start, end = (dt.datetime.fromisoformat(str(t)) for t in doc["window"])
        return cls(
            project=str(doc["project"]),
            team_slugs=tuple(str(s) for s in doc["team_slugs"]),
            seed=int(doc["seed"]),
            anchor=dt.date.fromisoformat(doc["anchor"]),
            anchor_source=str(doc["anchor_source"]),
            window=(start, end),
            week_starts=_dates(doc["week_starts"]),
            repos=tuple(str(r) for r in doc["repos"]),
            members=int(doc["members"]),
            real_prs=int(doc["real_prs"]),
            real_fields=tuple(str(f) for f in doc["real_fields"]),
            simulated_fields=tuple(str(f) for f in doc["simulated_fields"]),
            simulated_tables=tuple(str(t) for t in doc["simulated_tables"]),
            dropped={str(k): int(v) for k, v in doc["dropped"].items()},
            real_share=float(doc["real_share"]),
        )


RunRecord = GenerateInfo | ProjectInfo


def run_record_from_json(doc: dict[str, Any]) -> RunRecord:
    """The typed record of a ``params.generate`` document (KeyError/ValueError/TypeError when malformed)."""
    if Mode(doc["mode"]) is Mode.PROJECT:
        return ProjectInfo.from_json(doc)
    return GenerateInfo.from_json(doc)
