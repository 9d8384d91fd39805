"""Real-project presets (a shipped copy of real-projects.tsv).

A preset names a real public project: its repos, how many PRs per repo and
members to take, how far back, and the rates used to simulate what GitHub
cannot give (AI base rate, survey response rate).
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
from dataclasses import dataclass
from importlib import resources

from pipeline.base.errors import UserError


@dataclass(frozen=True)
class Preset:
    key: str
    team_name: str
    team_slug: str
    repos: tuple[str, ...]
    max_prs_per_repo: int
    max_members: int
    days_back: int
    jira_key: str
    ai_base_rate: float
    survey_response_rate: float
    industry: str


@functools.cache
def list_presets() -> tuple[Preset, ...]:
    """All presets, in the file's order."""
    text = resources.files("pipeline.base").joinpath("data/real-projects.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text), delimiter="\t")
    return tuple(
        Preset(
            key=r["key"],
            team_name=r["team_name"],
            team_slug=r["team_slug"],
            repos=tuple(r["repos"].split()),
            max_prs_per_repo=int(r["max_prs_per_repo"]),
            max_members=int(r["max_members"]),
            days_back=int(r["days_back"]),
            jira_key=r["jira_key"],
            ai_base_rate=float(r["ai_base_rate"]),
            survey_response_rate=float(r["survey_response_rate"]),
            industry=r["industry"],
        )
        for r in rows
    )


def get_preset(key: str) -> Preset:
    """The preset named ``key``; a UserError suggesting close names otherwise."""
    by_key = {p.key: p for p in list_presets()}
    if key in by_key:
        return by_key[key]
    close = difflib.get_close_matches(key, list(by_key), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UserError(f"unknown project {key!r}.{hint} Run 'demoseed projects' to list the presets.")
