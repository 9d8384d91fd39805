"""What the app shows, read from a real database the real loader wrote (issue 11's "done when").

The four built-in scenarios x seeds 1-20 are made with ``demoseed snapshot
--no-github`` (in process), loaded with ``run_load`` into DuckDB at pinned
load instants, and the database is queried with SQL written from
``../shared/docs/app-behaviour.md`` (not through ``tests/appview.py``):

(a) no timestamp or date column of any loaded table (read from the catalog)
    is after the load instant (a survey token's expiry, a deadline, excepted);
(b) the review-bottleneck alert's condition -- open, non-draft PRs whose
    latest review by a reviewer is not ``approved``, counted per reviewer,
    more than 3 x the average over the reviewers with any -- holds for
    review-bottleneck (on its busiest reviewer) and for no other scenario;
(c) the review-time card: the mean ``review_time_hours`` of the PRs merged in
    each full Monday week is within 10 % of the scenario's curve (the weeks
    are shifted onto the instant: compared by week index);
(d) detective-game's AI-detective accuracy over the app's 30-day range ending
    at the instant's day (answers responded from that day - 30 to that day)
    is 43-57 %, and ordered by the PR author's archetype (obvious_ai and
    stealth_manual at least 10 points above obvious_manual and stealth_ai);
(e) a PR's review fields agree with the reviews and commits loaded with it.

The instants: a live demo (a Tuesday 10:00 after the anchor), mid-week, the
anchor Monday 00:30 and a day before the anchor. Every snapshot is loaded at
one of them in turn by seed (each instant: five seeds of every scenario),
``DEMOSEED_E2E_ALL_INSTANTS=1`` loads every snapshot at every instant. A smaller run goes through the real
PostgreSQL with the app's own schema, two snapshots of one seed into one
database, and two snapshots that share seed and scenario (another team slug)
into one database: their survey tokens must not collide.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipeline.base.schemas import APP_LOAD_ORDER
from pipeline.cli import main
from pipeline.runners.load import run_load
from stages.generate.scenario import load_scenario
from stages.generate.synthetic.team import roster
from stages.load.ddl import APP_SCHEMA_SQL

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

UTC = dt.UTC
ANCHOR = dt.date(2026, 1, 5)  # the default anchor: Monday of the snapshot's last week
SCENARIOS = ("ai-success", "review-bottleneck", "baseline", "detective-game")
SEEDS = range(1, 21)
INSTANTS = {
    "tuesday": dt.datetime(2026, 3, 10, 10, 0, tzinfo=UTC),  # a live demo: Tuesday 10:00, nine weeks on
    "mid-week": dt.datetime(2026, 2, 18, 13, 30, tzinfo=UTC),  # a Wednesday afternoon
    "anchor": dt.datetime(2026, 1, 5, 0, 30, tzinfo=UTC),  # the anchor Monday, half an hour in
    "before": dt.datetime(2025, 12, 16, 23, 59, 59, 999999, tzinfo=UTC),  # --as-of 2025-12-16: three weeks back
}
ALL_INSTANTS = os.environ.get("DEMOSEED_E2E_ALL_INSTANTS") == "1"
DEADLINES = {("metrics_prsurvey", "token_expires_at")}  # in the future by nature
Rows = Callable[[str], list[tuple]]


def instants_of(seed: int) -> tuple[str, ...]:
    names = tuple(INSTANTS)
    return names if ALL_INSTANTS else (names[seed % len(names)],)


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def ts(t: dt.datetime) -> str:
    return f"TIMESTAMPTZ '{t.isoformat(sep=' ')}'"


# --- the app's rules, as SQL over the loaded tables -------------------------------------------


def future_rows(rows: Rows, instant: dt.datetime, schema: str) -> dict[str, int]:
    """Per table.column (every timestamp/date column in the catalog): loaded values after the instant."""
    cols = rows(
        "SELECT table_name, column_name, lower(data_type) FROM information_schema.columns "
        f"WHERE table_schema = '{schema}' AND (lower(data_type) LIKE 'timestamp%' OR lower(data_type) = 'date')"
    )
    counts = [
        f"SELECT '{table}.{col}', count(*) FROM {table} WHERE \"{col}\" > "
        + (f"DATE '{instant.date()}'" if kind == "date" else ts(instant))
        for table, col, kind in cols
        if table in APP_LOAD_ORDER and (table, col) not in DEADLINES
    ]
    assert len(counts) >= 40  # the catalog was read: every dated column of the 13 tables
    return {name: int(n) for name, n in rows(" UNION ALL ".join(counts)) if n}


def pending_per_reviewer(rows: Rows, team: int) -> dict[int, int]:
    """Open, non-draft PRs of the team whose latest review by a reviewer is not approved, per reviewer."""
    got = rows(
        "SELECT reviewer_id, count(*) FROM ("
        " SELECT r.reviewer_id, r.state,"
        "  row_number() OVER (PARTITION BY r.reviewer_id, r.pull_request_id ORDER BY r.submitted_at DESC, r.id DESC) k"
        " FROM metrics_prreview r JOIN metrics_pullrequest p ON p.id = r.pull_request_id"
        f" WHERE p.team_id = {team} AND p.state = 'open' AND NOT p.is_draft AND r.reviewer_id IS NOT NULL"
        ") latest WHERE k = 1 AND state <> 'approved' GROUP BY reviewer_id"
    )
    return {int(r): int(n) for r, n in got}


def alert(pending: dict[int, int]) -> int | None:
    """The reviewer the alert names: a count over 3 x the average over reviewers with any (None: silent)."""
    if not pending:
        return None
    avg = sum(pending.values()) / len(pending)
    over = [(n, r) for r, n in pending.items() if n > 3 * avg]
    return max(over)[1] if over else None


def busiest_reviewer(rows: Rows, team: int) -> int:
    ((r, _),) = rows(
        f"SELECT reviewer_id, count(*) n FROM metrics_prreview WHERE team_id = {team} "
        "GROUP BY reviewer_id ORDER BY n DESC, reviewer_id LIMIT 1"
    )
    return int(r)


def weekly_review_means(rows: Rows, team: int) -> dict[dt.date, float]:
    """The review-time card per Monday week: mean review_time_hours of the PRs merged in it (UTC)."""
    got = rows(
        "SELECT CAST(date_trunc('week', merged_at) AS DATE) w, avg(review_time_hours) FROM metrics_pullrequest "
        f"WHERE team_id = {team} AND state = 'merged' AND review_time_hours IS NOT NULL GROUP BY w"
    )
    return {w: float(v) for w, v in got}


def guesses_by_author(rows: Rows, team: int, start: dt.date, end: dt.date) -> dict[int, tuple[int, int]]:
    """(correct, guesses) of the reviewers' answers responded from ``start`` to ``end``, per PR author rank."""
    got = rows(
        "SELECT m.k, sum(CASE WHEN a.guess_correct THEN 1 ELSE 0 END), count(*) FROM metrics_prsurveyreview a "
        "JOIN metrics_prsurvey s ON s.id = a.survey_id "
        "JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 k FROM metrics_teammember "
        f"WHERE team_id = {team}) m ON m.id = s.author_id "
        f"WHERE a.team_id = {team} AND a.guess_correct IS NOT NULL "
        f"AND CAST(a.responded_at AS DATE) BETWEEN DATE '{start}' AND DATE '{end}' GROUP BY m.k"
    )
    return {int(k): (int(c), int(n)) for k, c, n in got}


def contradictions(rows: Rows, team: int) -> dict[str, int]:
    """PRs whose review fields contradict the reviews and commits loaded with them (the app's own definitions)."""
    pr = f"FROM metrics_pullrequest p WHERE p.team_id = {team}"
    reviews = "FROM metrics_prreview r WHERE r.pull_request_id = p.id"
    commits = "FROM metrics_commit c WHERE c.pull_request_id = p.id"
    checks = {
        "review fields without a first review": f"{pr} AND p.first_review_at IS NULL AND (p.review_time_hours "
        "IS NOT NULL OR p.review_rounds IS NOT NULL OR p.commits_after_first_review IS NOT NULL "
        "OR p.avg_fix_response_hours IS NOT NULL)",
        "first review not the earliest loaded review": f"{pr} AND (p.first_review_at IS NOT NULL OR EXISTS "
        f"(SELECT 1 {reviews})) AND p.first_review_at IS DISTINCT FROM (SELECT min(r.submitted_at) {reviews})",
        "commits after the first review not the loaded ones": f"{pr} AND p.first_review_at IS NOT NULL AND "
        f"p.commits_after_first_review <> (SELECT count(*) {commits} AND c.committed_at > p.first_review_at)",
        "more review rounds than changes requested so far": f"{pr} AND p.review_rounds > 1 + "
        f"(SELECT count(*) {reviews} AND r.state = 'changes_requested')",
        "a fix response time with no change requested so far": f"{pr} AND p.avg_fix_response_hours IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 {reviews} AND r.state = 'changes_requested')",
    }
    out = {}
    for name, where in checks.items():
        ((n,),) = rows(f"SELECT count(*) {where}")
        if n:
            out[name] = int(n)
    return out


@dataclass(frozen=True)
class Seen:
    """What the app shows of one loaded team at one instant."""

    scenario: str
    seed: int
    instant: str
    future: dict[str, int]
    pending: dict[int, int]
    alert: int | None
    busiest: int
    review_means: dict[int, float]  # week index in the scenario's window -> mean (full weeks only)
    full_weeks: list[int]
    guesses: dict[int, tuple[int, int]]
    contradictions: dict[str, int]


def slug_of(snap: Path) -> str:
    (slug,) = pq.read_table(snap / "teams_team.parquet", columns=["slug"]).column("slug").to_pylist()
    return str(slug)


def observe(rows: Rows, schema: str, snap: Path, scenario: str, seed: int, instant_name: str) -> Seen:
    instant = INSTANTS[instant_name]
    ((team,),) = rows(f"SELECT id FROM teams_team WHERE slug = '{slug_of(snap)}'")
    weeks = len(load_scenario(scenario).curve("review_time_hours"))
    last = monday(instant.date())  # the anchor week lands on the instant's week
    first = last - dt.timedelta(weeks=weeks - 1)
    means = weekly_review_means(rows, team)
    today = instant.date()
    pending = pending_per_reviewer(rows, team)
    return Seen(
        scenario,
        seed,
        instant_name,
        future_rows(rows, instant, schema),
        pending,
        alert(pending),
        busiest_reviewer(rows, team),
        {(w - first).days // 7: v for w, v in means.items() if w < last},
        list(range(weeks - 1)),
        guesses_by_author(rows, team, today - dt.timedelta(days=30), today) if scenario == "detective-game" else {},
        contradictions(rows, team),
    )


# --- snapshots and loads ----------------------------------------------------------------------


def snapshot(directory: Path, *args: str) -> Path:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        rc = main(["snapshot", *args, "--no-github", "-o", str(directory)])
    assert rc == 0, out.getvalue()
    return directory


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Path]:
    root = tmp_path_factory.mktemp("e2e")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEMOSEED_DATA", str(root / "data"))
        (root / "data").mkdir()
        return {
            (sc, seed): snapshot(root / f"{sc}-{seed}", "--scenario", sc, "--seed", str(seed))
            for sc in SCENARIOS
            for seed in SEEDS
        }


def duckdb_rows(con: duckdb.DuckDBPyConnection) -> Rows:
    return lambda sql: con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def seen(snapshots: dict[tuple[str, int], Path], tmp_path_factory: pytest.TempPathFactory) -> list[Seen]:
    """Every snapshot loaded into its own DuckDB file at its instants, and what the app shows of it."""
    root = tmp_path_factory.mktemp("e2e-db")
    out = []
    for (sc, seed), snap in snapshots.items():
        for name in instants_of(seed):
            db = root / f"{sc}-{seed}-{name}.duckdb"
            report = run_load(snap, f"duckdb:///{db}", as_of=INSTANTS[name])
            assert report.ok, report.problems
            con = duckdb.connect(str(db), read_only=True)
            try:
                con.execute("SET TimeZone = 'UTC'")
                out.append(observe(duckdb_rows(con), "main", snap, sc, seed, name))
            finally:
                con.close()
    return out


# --- (a)-(d) in DuckDB, seeds 1-20 ------------------------------------------------------------


def test_every_snapshot_was_loaded_at_every_instant_in_turn(seen: list[Seen]) -> None:
    loads = {(s.scenario, s.seed, s.instant) for s in seen}
    assert {(sc, seed) for sc, seed, _ in loads} == {(sc, seed) for sc in SCENARIOS for seed in SEEDS}
    assert {(sc, name) for sc, _, name in loads} == {(sc, name) for sc in SCENARIOS for name in INSTANTS}


def test_nothing_dated_after_the_load_instant(seen: list[Seen]) -> None:
    assert [(s.scenario, s.seed, s.instant, s.future) for s in seen if s.future] == []


def test_review_fields_agree_with_the_loaded_reviews_and_commits(seen: list[Seen]) -> None:
    assert [(s.scenario, s.seed, s.instant, s.contradictions) for s in seen if s.contradictions] == []


def test_bottleneck_alert_fires_for_review_bottleneck_only(seen: list[Seen]) -> None:
    for s in seen:
        if s.scenario == "review-bottleneck":
            assert s.alert is not None and s.alert == s.busiest, (s.seed, s.instant, s.pending)
        else:
            assert s.alert is None, (s.scenario, s.seed, s.instant, s.pending)


def test_weekly_review_time_means_on_the_curve(seen: list[Seen]) -> None:
    for s in seen:
        curve = load_scenario(s.scenario).curve("review_time_hours")
        assert sorted(s.review_means) == s.full_weeks, (s.scenario, s.seed, s.instant, s.review_means)
        for i, mean in s.review_means.items():
            assert mean == pytest.approx(float(curve[i]), rel=0.10), (s.scenario, s.seed, s.instant, i, mean, curve[i])


def test_detective_accuracy_about_half_and_ordered_by_author_archetype(seen: list[Seen]) -> None:
    sc = load_scenario("detective-game")
    arch = [sc.archetypes[a].name for a in roster(sc).archetype]
    high, low = ("obvious_ai", "stealth_manual"), ("obvious_manual", "stealth_ai")
    for s in (s for s in seen if s.scenario == "detective-game"):
        correct = sum(c for c, _ in s.guesses.values())
        n = sum(g for _, g in s.guesses.values())
        assert n >= 40 and 0.43 <= correct / n <= 0.57, (s.seed, s.instant, correct, n)
        by: dict[str, list[int]] = {a: [0, 0] for a in set(arch)}
        for k, (c, g) in s.guesses.items():
            by[arch[k]][0] += c
            by[arch[k]][1] += g
        acc = {a: c / g for a, (c, g) in by.items() if g}
        assert min(acc[a] for a in high) >= max(acc[a] for a in low) + 0.10, (s.seed, s.instant, acc)


# --- PostgreSQL with the app's schema -----------------------------------------------------------


@contextlib.contextmanager
def pg_rows(dsn: str) -> Iterator[Rows]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        yield lambda sql: conn.execute(sql).fetchall()


@pytest.mark.postgres
@pytest.mark.parametrize("seed", [4, 11])  # loaded in DuckDB at the live Tuesday and before the anchor
def test_app_schema_in_postgres_shows_the_same(
    seed: int, pg_database: str, snapshots: dict[tuple[str, int], Path], seen: list[Seen]
) -> None:
    """Four scenarios of one seed into the app's own PostgreSQL schema: the same SQL, the same answers."""
    import psycopg

    name = instants_of(seed)[0]
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(APP_SCHEMA_SQL.read_text())
    for sc in SCENARIOS:
        assert run_load(snapshots[(sc, seed)], pg_database, as_of=INSTANTS[name]).ok
    duck = {s.scenario: s for s in seen if s.seed == seed and s.instant == name}
    with pg_rows(pg_database) as rows:
        for sc in SCENARIOS:
            got = observe(rows, "public", snapshots[(sc, seed)], sc, seed, name)
            assert got.future == {} and got.contradictions == {}
            assert (got.alert is not None) == (sc == "review-bottleneck")
            assert got.review_means == pytest.approx(duck[sc].review_means)
            assert got.guesses == duck[sc].guesses
            assert sorted(got.pending.values()) == sorted(duck[sc].pending.values())
        ((tokens, distinct),) = rows("SELECT count(token), count(DISTINCT token) FROM metrics_prsurvey")
        assert tokens == distinct > 0


# --- survey tokens stay unique whatever snapshots share a database ------------------------------


@pytest.fixture(scope="module")
def same_seed_pairs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Snapshots of one seed that can share a database: other scenarios, another team slug, two legacy runs."""
    root = tmp_path_factory.mktemp("e2e-pairs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEMOSEED_DATA", str(root / "data"))
        (root / "data").mkdir()
        legacy = ("--seed", "42", "--teams", "1", "--members", "4", "--prs", "30", "--team-slug")
        return [
            snapshot(root / "ai", "--scenario", "ai-success", "--seed", "42"),
            snapshot(root / "rb", "--scenario", "review-bottleneck", "--seed", "42"),
            snapshot(root / "rb-other", "--scenario", "review-bottleneck", "--seed", "42", "--team-slug", "other-team"),
            snapshot(root / "legacy-a", *legacy, "legacy-a"),
            snapshot(root / "legacy-b", *legacy, "legacy-b"),
        ]


def test_snapshots_of_one_seed_share_a_duckdb(same_seed_pairs: list[Path], tmp_path: Path) -> None:
    db = tmp_path / "app.duckdb"
    for snap in same_seed_pairs:
        report = run_load(snap, f"duckdb:///{db}", as_of=INSTANTS["tuesday"])
        assert report.ok, (snap.name, report.problems)
    con = duckdb.connect(str(db), read_only=True)
    ((teams,),) = con.execute("SELECT count(*) FROM teams_team").fetchall()
    ((tokens, distinct),) = con.execute("SELECT count(token), count(DISTINCT token) FROM metrics_prsurvey").fetchall()
    con.close()
    assert teams == len(same_seed_pairs) and tokens == distinct > 0


@pytest.mark.postgres
def test_snapshots_of_one_seed_share_a_postgres_database(same_seed_pairs: list[Path], pg_database: str) -> None:
    for snap in same_seed_pairs:
        report = run_load(snap, pg_database, as_of=INSTANTS["tuesday"])
        assert report.ok, (snap.name, report.problems)
    with pg_rows(pg_database) as rows:
        ((teams,),) = rows("SELECT count(*) FROM teams_team")
        ((tokens, distinct),) = rows("SELECT count(token), count(DISTINCT token) FROM metrics_prsurvey")
    assert teams == len(same_seed_pairs) and tokens == distinct > 0


# --- a PR still open at the instant: its review counts as they stood -----------------------------


def test_a_pr_open_at_the_instant_has_its_counts_as_they_stood(
    snapshots: dict[tuple[str, int], Path], tmp_path: Path
) -> None:
    """PRs whose reviews or commits go on after the instant: counts of what is loaded, comments pro rata."""
    snap, instant = snapshots[("review-bottleneck", 2)], INSTANTS["mid-week"]
    report = run_load(snap, f"duckdb:///{tmp_path / 'app.duckdb'}", as_of=instant)
    shift = dt.timedelta(weeks=report.rebase_weeks)
    t = instant - shift  # the instant in the snapshot's own time
    prs = {p["id"]: p for p in pq.read_table(snap / "metrics_pullrequest.parquet").to_pylist()}
    events: dict[int, list[dt.datetime]] = {}
    for name, col in (("metrics_prreview", "submitted_at"), ("metrics_commit", "committed_at")):
        for r in pq.read_table(snap / f"{name}.parquet", columns=["pull_request_id", col]).to_pylist():
            events.setdefault(r["pull_request_id"], []).append(r[col])
    con = duckdb.connect(str(tmp_path / "app.duckdb"), read_only=True)
    loaded = con.execute(
        "SELECT id, total_comments, review_rounds, commits_after_first_review, first_review_at IS NOT NULL "
        "FROM metrics_pullrequest WHERE state = 'open'"
    ).fetchall()
    con.close()
    held = [(row, prs[row[0]]) for row in loaded if max(events.get(row[0], [t])) > t]
    assert len(held) >= 5
    fewer = 0
    for (_, comments, rounds, after, reviewed), p in held:
        assert comments <= p["total_comments"]
        fewer += comments < p["total_comments"]
        if not reviewed:
            assert (rounds, after) == (None, None)
        else:
            assert rounds <= p["review_rounds"] and after <= p["commits_after_first_review"]
    assert fewer > 0
