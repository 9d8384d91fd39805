"""Teams and members (teams_team, metrics_teammember), vectorized over all teams.

Team ``t`` (0-based) has id ``t + 1``; its ``M`` members have ids
``t * M + m + 1``, so adding a team appends rows and changes nobody else's.
Names come from the vendored lists via an affine walk over the
first x last name grid, which gives distinct names within a team.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.base.parquet import conform
from pipeline.base.rng import Key, keyed_uniform
from pipeline.base.schemas import spec
from stages.generate.draws import US_PER_DAY, int_between, int_str, pick, text, ts_array
from stages.generate.scenario import Scenario
from stages.generate.words import take, words


@dataclass(frozen=True)
class Roster:
    """The member layout shared by every replicated team."""

    archetype: np.ndarray  # per local member index: archetype position in scenario.archetypes
    ai_offset: np.ndarray
    volume: np.ndarray
    review_weight: np.ndarray
    review_share: np.ndarray | None  # per member (archetype share split evenly), None when weights apply
    guess_lo: np.ndarray
    guess_hi: np.ndarray

    @property
    def size(self) -> int:
        return len(self.archetype)


def roster(scenario: Scenario, members: int | None = None) -> Roster:
    """Archetype per member; ``members`` overrides the team size by cycling the archetype pattern."""
    pattern = np.concatenate([np.full(a.count, i) for i, a in enumerate(scenario.archetypes)])
    size = members or len(pattern)
    arch = pattern[np.arange(size) % len(pattern)]
    a = scenario.archetypes
    share = None
    if all(x.review_share is not None for x in a):
        counts = np.bincount(arch, minlength=len(a))
        share = np.array([a[i].review_share / counts[i] for i in arch])
        share = share / share.sum()
    return Roster(
        archetype=arch,
        ai_offset=np.array([a[i].ai_offset for i in arch]),
        volume=np.array([a[i].volume for i in arch]),
        review_weight=np.array([a[i].review_weight for i in arch]),
        review_share=share,
        guess_lo=np.array([a[i].guess_accuracy[0] for i in arch]),
        guess_hi=np.array([a[i].guess_accuracy[1] for i in arch]),
    )


def team_slugs(base_slug: str, teams: int | range) -> list[str]:
    """Slugs of teams ``0..teams-1`` (or of the 0-based team indexes in a range)."""
    indexes = range(teams) if isinstance(teams, int) else teams
    return [base_slug if t == 0 else f"{base_slug}-{t + 1}" for t in indexes]


def build_teams(scenario: Scenario, slugs: list[str], start_us: int, k: Key, first: int = 0) -> pa.Table:
    """Teams ``first .. first + len(slugs) - 1`` (0-based indexes; ids are index + 1)."""
    n = len(slugs)
    t = np.arange(first, first + n)
    created = start_us - (int_between(t, 30, 200, *k, "team-age") * US_PER_DAY)
    names = [scenario.team_name if i == 0 else f"{scenario.team_name} {i + 1}" for i in t]
    nulls_i = pa.nulls(n, pa.int64())
    nulls_ts = pa.nulls(n, pa.timestamp("us", tz="UTC"))
    return conform(
        pa.table(
            {
                "id": t + 1,
                "created_at": ts_array(created),
                "updated_at": ts_array(created),
                "subscription_id": nulls_i,
                "customer_id": nulls_i,
                "billing_details_last_changed": ts_array(created),
                "last_synced_with_stripe": nulls_ts,
                "name": pa.array([x[:100] for x in names], pa.string()),
                "slug": pa.array(slugs, pa.string()),
                "onboarding_complete": np.ones(n, bool),
                "onboarding_pipeline_status": pa.array(["complete"] * n, pa.string()),
                "onboarding_pipeline_error": pa.nulls(n, pa.string()),
                "onboarding_pipeline_started_at": ts_array(created + 3600 * 1_000_000),
                "onboarding_pipeline_completed_at": ts_array(created + 2 * 3600 * 1_000_000),
                "background_sync_progress": np.full(n, 100, np.int32),
                "background_llm_progress": np.full(n, 100, np.int32),
                "copilot_status": pa.array(["connected"] * n, pa.string()),
                "copilot_last_sync_at": nulls_ts,
                "copilot_consecutive_failures": np.zeros(n, np.int32),
                "copilot_price_tier": pa.array(["business"] * n, pa.string()),
            }
        ),
        spec("teams_team"),
    )


def _coprime_step(keys: np.ndarray, n: int, *parts: object) -> np.ndarray:
    candidates = np.arange(1, n, dtype=np.int64)
    steps = candidates[np.gcd(candidates, n) == 1]
    return np.asarray(steps[int_between(keys, 0, len(steps) - 1, *parts)])


def build_members(teams: pa.Table, size: int, k: Key) -> tuple[pa.Table, np.ndarray]:
    """All teams' members; also returns each member's company index (for repo names).

    Keyed by the teams' ids, so a slice of teams gets the same members as in a run of all of them;
    the company array is indexed by 0-based team index (entries before the slice's first team unused).
    """
    n_teams = teams.num_rows
    t = teams.column("id").to_numpy() - 1
    pos = np.repeat(np.arange(n_teams), size)  # position of the member's team in ``teams``
    team_idx = t[pos]
    local = np.tile(np.arange(size), n_teams)
    mid = team_idx * size + local + 1
    first, last = words("first_names"), words("last_names")
    grid = len(first) * len(last)
    if size > grid:
        raise ValueError(f"at most {grid} members per team")
    base = int_between(t, 0, grid - 1, *k, "name-base")
    step = _coprime_step(t, grid, *k, "name-step")
    cell = (base[pos] + local * step[pos]) % grid
    fi, li = cell // len(last), cell % len(last)
    f_arr, l_arr = take("first_names", fi), take("last_names", li)
    company_of = int_between(t, 0, len(words("companies")) - 1, *k, "company")
    comp_arr = take("companies", company_of[pos])
    display = pc.binary_join_element_wise(pc.utf8_capitalize(f_arr), pc.utf8_capitalize(l_arr), text(" "))
    email = pc.binary_join_element_wise(f_arr, text("."), l_arr, text("@"), comp_arr, text(".example.com"), text(""))
    username = pc.binary_join_element_wise(f_arr, pc.utf8_slice_codeunits(l_arr, 0, 3), text("-"))
    github_id = 10_000_000 + (mid - 1) * 7 + int_between(mid, 0, 6, *k, "github-id")
    created_team = teams.column("created_at").cast(pa.int64()).to_numpy()[pos]
    joined = created_team + int_between(mid, 0, 20, *k, "joined") * US_PER_DAY
    slack = pc.binary_join_element_wise(text("U"), pc.utf8_upper(_hex(mid, 10, *k, "slack")), text(""))
    jira = pc.binary_join_element_wise(text("jira-"), _hex(mid, 24, *k, "jira"), text(""))
    table = pa.table(
        {
            "id": mid,
            "created_at": ts_array(joined),
            "updated_at": ts_array(joined),
            "team_id": team_idx + 1,
            "email": email,
            "display_name": display,
            "github_username": username,
            "github_id": int_str(github_id),
            "jira_account_id": jira,
            "slack_user_id": slack,
            "copilot_last_activity_at": pa.nulls(len(mid), pa.timestamp("us", tz="UTC")),
            "copilot_last_editor": pa.nulls(len(mid), pa.string()),
            "role": pick(("developer", "lead"), local == 0),
            "is_active": np.ones(len(mid), bool),
        }
    )
    company = np.zeros(int(t.max(initial=-1)) + 1, np.int64)
    company[t] = company_of
    return conform(table, spec("metrics_teammember")), company


def _hex(keys: np.ndarray, n: int, *parts: object) -> pa.Array:
    from stages.generate.draws import hex_strings

    return hex_strings(keys, n, *parts)


def with_copilot_activity(members: pa.Table, usage: pa.Table, k: Key) -> pa.Table:
    """Fill copilot_last_activity_at / copilot_last_editor from the AI usage rows."""
    mid = members.column("id").to_numpy()
    last = np.full(len(mid), -1, np.int64)
    if usage.num_rows:
        um = usage.column("member_id").to_numpy()
        ut = usage.column("synced_at").cast(pa.int64()).to_numpy()
        pos = np.searchsorted(mid, um)
        np.maximum.at(last, pos, ut)
    has = last >= 0
    editors = np.array(["vscode", "jetbrains", "neovim"], dtype=object)
    editor_idx = np.minimum((keyed_uniform(mid, *k, "editor") * 3).astype(np.int64), 2)
    members = members.set_column(
        members.schema.get_field_index("copilot_last_activity_at"),
        "copilot_last_activity_at",
        ts_array(np.where(has, last, 0), has),
    )
    return members.set_column(
        members.schema.get_field_index("copilot_last_editor"),
        "copilot_last_editor",
        pick(editors, editor_idx, mask=~has),
    )


def week_starts_for(anchor: dt.date, weeks: int) -> list[dt.date]:
    return [anchor - dt.timedelta(days=7 * (weeks - 1 - i)) for i in range(weeks)]
