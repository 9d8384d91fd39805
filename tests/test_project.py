"""Real-project mode: a team built from real PRs, checked value by value and loaded into PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipeline.base.errors import UserError
from pipeline.base.hashing import content_hash
from pipeline.base.projects import Preset
from pipeline.base.schemas import APP_LOAD_ORDER, GENERATED_TABLES, spec
from stages.generate.real_project.build import build_project
from stages.normalize import normalize
from tests.test_normalize import commit, file, pr_node, raw_table, review, user

UTC = dt.UTC
APP_SCHEMA_SQL = Path(__file__).resolve().parents[1] / "pipeline" / "base" / "sql" / "app-schema.sql"

PRESET = Preset(
    key="acme",
    team_name="Acme",
    team_slug="acme-demo",
    repos=("acme/api", "acme/web"),
    max_prs_per_repo=100,
    max_members=3,
    days_back=28,
    jira_key="ACME",
    ai_base_rate=0.5,
    survey_response_rate=0.7,
    industry="devops",
)


def t(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def project_nodes() -> list[dict]:
    return [
        pr_node(
            "acme/api",
            1,
            title="Add billing",
            state="MERGED",
            createdAt="2025-06-02T09:00:00Z",
            updatedAt="2025-06-03T10:00:00Z",
            mergedAt="2025-06-03T11:00:00+02:00",
            closedAt="2025-06-03T09:00:00Z",
            author=user("alice", 11),
            reviews=[
                review(201, "coderabbitai[bot]", "COMMENTED", "2025-06-02T09:30:00Z"),
                review(202, "alice", "COMMENTED", "2025-06-02T10:00:00Z", 11),
                review(203, "bob", "CHANGES_REQUESTED", "2025-06-02T12:00:00Z", 12),
                review(204, "bob", "APPROVED", "2025-06-03T08:00:00Z", 12),
            ],
            commits=[
                commit("a" * 40, "start", "2025-06-02T08:00:00Z", "alice", 11, add=10),
                commit("b" * 40, "fix review", "2025-06-02T15:00:00Z", "alice", 11, add=5),
                commit(
                    "c" * 40,
                    "polish\n\nCo-authored-by: Claude <noreply@anthropic.com>",
                    "2025-06-03T07:00:00Z",
                    "alice",
                    11,
                    add=3,
                ),
            ],
            files=[file("src/billing.py", "ADDED", 18, 0), file("tests/test_billing.py", "ADDED", 5, 0)],
            additions=23,
            deletions=0,
        ),
        pr_node(
            "acme/web",
            1,
            title="Same number, other repo",
            createdAt="2025-06-04T10:00:00Z",
            author=user("bob", 12),
            reviews=[review(301, "carol", "APPROVED", "2025-06-04T11:30:00Z", 13)],
            files=[file("CLAUDE.md", "ADDED", 40, 0), file("src/App.tsx", "MODIFIED", 3, 1)],
        ),
        pr_node(
            "acme/api",
            2,
            title="Bump deps",
            state="MERGED",
            createdAt="2025-06-05T09:00:00Z",
            mergedAt="2025-06-05T10:00:00Z",
            author=user("dependabot[bot]"),
            reviews=[review(401, "alice", "APPROVED", "2025-06-05T09:30:00Z", 11)],
        ),
        pr_node(
            "acme/api",
            3,
            title="Deleted author",
            state="CLOSED",
            createdAt="2025-06-05T12:00:00Z",
            closedAt="2025-06-05T18:00:00Z",
            author=user("ghost", 10137),
            additions=550,
            deletions=50,
            reviews=[review(501, "dave", "COMMENTED", "2025-06-05T13:00:00Z", 14)],
        ),
        pr_node(
            "acme/web",
            2,
            title="hotfix: login",
            state="MERGED",
            createdAt="2025-06-06T09:00:00Z",
            mergedAt="2025-06-06T12:00:00Z",
            author=user("erin", 15),
            additions=2,
            deletions=0,
            commits=[commit("b" * 40, "fix review", "2025-06-02T15:00:00Z", "alice", 11, add=5)],
        ),
        pr_node("acme/api", 4, title="Too old", createdAt="2025-04-01T09:00:00Z", author=user("frank", 16)),
        pr_node("acme/other", 1, title="Not in the preset", createdAt="2025-06-03T09:00:00Z", author=user("gina", 17)),
    ]


@pytest.fixture(scope="module")
def built():
    norm = normalize(raw_table(project_nodes()))
    return build_project(PRESET, norm.tables, seed=42, anchor=None)


def by_id(table: pa.Table) -> dict[int, dict]:
    return {r["id"]: r for r in table.to_pylist()}


def test_members_are_real_people_ranked_and_capped(built):
    members = built.tables["metrics_teammember"].to_pylist()
    # activity: bob 3 (1 PR + 2 reviews), alice 2 (1 PR + self comment), carol/dave/erin 1 -> cap 3
    # ids in order of first appearance
    assert [(m["id"], m["github_username"], m["github_id"], m["role"]) for m in members] == [
        (1, "alice", "11", "developer"),
        (2, "bob", "12", "lead"),
        (3, "carol", "13", "developer"),
    ]
    assert [m["email"] for m in members] == [
        "11+alice@users.noreply.github.com",
        "12+bob@users.noreply.github.com",
        "13+carol@users.noreply.github.com",
    ]
    assert members[0]["created_at"] == t("2025-06-02T09:00:00Z")
    assert built.info.members == 3
    assert built.info.dropped == {
        "PRs authored by bots dropped": 1,
        "PRs created outside the window dropped": 1,
        "people beyond max_members left out (their PRs/reviews kept unattributed)": 2,
        "reviews by bots dropped": 1,
        "commits shared by several PRs kept once, on the earliest PR": 1,
    }


def test_prs_keep_repos_apart_and_carry_real_metrics(built):
    prs = by_id(built.tables["metrics_pullrequest"])
    assert [(p["github_repo"], p["github_pr_id"], p["author_id"], p["state"]) for p in prs.values()] == [
        ("acme/api", 1, 1, "merged"),
        ("acme/web", 1, 2, "open"),
        ("acme/api", 3, None, "closed"),
        ("acme/web", 2, None, "merged"),
    ]
    api1 = prs[1]
    assert api1["pr_created_at"] == t("2025-06-02T09:00:00Z")
    assert api1["merged_at"] == t("2025-06-03T09:00:00Z")
    assert api1["first_review_at"] == t("2025-06-02T12:00:00Z")  # the author's own comment is not a review
    assert api1["cycle_time_hours"] == Decimal("24.00")
    assert api1["review_time_hours"] == Decimal("3.00")
    assert api1["review_rounds"] == 2
    assert api1["commits_after_first_review"] == 2
    assert api1["avg_fix_response_hours"] == Decimal("3.00")
    assert (api1["has_ai_commits"], api1["has_ai_review"], api1["has_ai_files"]) == (True, True, False)
    assert json.loads(api1["ai_tools_detected"]) == ["claude"]
    assert json.loads(api1["ai_signals"]) == {
        "ai_tools": ["claude"],
        "ai_review_bots": ["coderabbitai[bot]"],
        "ai_files": [],
    }
    assert api1["ai_confidence_score"] == Decimal("0.800")
    assert api1["is_ai_assisted"] is True  # observed: an AI co-authored commit

    web1 = prs[2]
    assert web1["review_time_hours"] == Decimal("1.50") and web1["review_rounds"] == 1
    assert web1["cycle_time_hours"] is None and web1["commits_after_first_review"] == 0
    assert web1["has_ai_files"] is True and web1["has_ai_commits"] is False
    assert prs[4]["is_hotfix"] is True and prs[4]["cycle_time_hours"] == Decimal("3.00")
    assert prs[3]["first_review_at"] == t("2025-06-05T13:00:00Z") and prs[3]["author_id"] is None
    assert {p["jira_key"] for p in prs.values()} == {f"ACME-{n}" for n in _jira_numbers(prs)}


def _jira_numbers(prs: dict[int, dict]) -> list[int]:
    nums = sorted(int(p["jira_key"].split("-")[1]) for p in prs.values())
    assert nums == list(range(nums[0], nums[0] + len(prs)))  # one issue per PR, consecutive
    return nums


def test_children_point_at_the_right_pr(built):
    reviews = built.tables["metrics_prreview"].to_pylist()
    assert [(r["pull_request_id"], r["github_review_id"], r["reviewer_id"], r["state"]) for r in reviews] == [
        (1, 202, 1, "commented"),
        (1, 203, 2, "changes_requested"),
        (1, 204, 2, "approved"),
        (2, 301, 3, "approved"),
        (3, 501, None, "commented"),
    ]
    commits = built.tables["metrics_commit"].to_pylist()
    assert [(c["pull_request_id"], c["github_sha"][0], c["author_id"], c["is_ai_assisted"]) for c in commits] == [
        (1, "a", 1, False),
        (1, "b", 1, False),
        (1, "c", 1, True),
    ]
    assert json.loads(commits[2]["ai_co_authors"]) == ["Claude"]
    files = built.tables["metrics_prfile"].to_pylist()
    assert [(f["pull_request_id"], f["filename"], f["status"], f["changes"], f["file_category"]) for f in files] == [
        (1, "src/billing.py", "added", 18, "backend"),
        (1, "tests/test_billing.py", "added", 5, "test"),
        (2, "CLAUDE.md", "added", 40, "docs"),
        (2, "src/App.tsx", "modified", 4, "frontend"),
    ]
    prov = built.tables["demoseed_provenance"].to_pylist()
    assert [(p["pull_request_id"], p["source"], p["real_repo"], p["real_number"]) for p in prov] == [
        (1, "real_project", "acme/api", 1),
        (2, "real_project", "acme/web", 1),
        (3, "real_project", "acme/api", 3),
        (4, "real_project", "acme/web", 2),
    ]
    assert "is_ai_assisted" in json.loads(prov[0]["real_fields"])  # observed for PR 1
    assert "is_ai_assisted" in json.loads(prov[1]["simulated_fields"])
    assert "metrics_prsurvey" in json.loads(prov[1]["simulated_fields"])
    from stages.generate.provenance import FIELDS  # the same vocabulary as blended runs: the app's names

    for p in prov:
        real_fields, simulated = json.loads(p["real_fields"]), json.loads(p["simulated_fields"])
        assert sorted(real_fields + simulated, key=FIELDS.index) == list(FIELDS)  # each field once, in either
    assert list(built.info.real_fields) == json.loads(prov[1]["real_fields"])


def test_simulated_children_follow_the_preset(built):
    tables = built.tables
    surveys = tables["metrics_prsurvey"].to_pylist()
    merged_with_member = {1}  # PR 4 is merged but its author is not a member
    assert {s["pull_request_id"] for s in surveys} <= merged_with_member
    assert all(s["author_id"] == 1 for s in surveys)
    issues = tables["metrics_jiraissue"].to_pylist()
    assert [i["id"] for i in issues] == [1, 2, 3, 4]
    assert [i["story_points"] for i in issues] == [Decimal("2.0"), Decimal("2.0"), Decimal("8.0"), Decimal("1.0")]
    assert all(i["sprint_name"].startswith("Sprint ") for i in issues)
    end = t("2025-06-09T00:00:00Z")
    for name in ("metrics_prcheckrun", "metrics_deployment", "metrics_aiusagedaily"):
        created = tables[name].column("created_at")
        assert len(created) == 0 or pc.max(created).as_py() < end, name
    assert built.info.as_json()["anchor"] == "2025-06-02"
    assert built.info.as_json()["week_starts"] == ["2025-05-12", "2025-05-19", "2025-05-26", "2025-06-02"]
    assert set(built.tables) == {*GENERATED_TABLES, "demoseed_provenance"}


def test_deterministic_for_the_seed_and_real_fields_do_not_depend_on_it(built):
    again = build_project(PRESET, normalize(raw_table(project_nodes()[::-1])).tables, seed=42, anchor=None)
    for name, table in built.tables.items():
        assert content_hash(again.tables[name]) == content_hash(table), name
    other = build_project(PRESET, normalize(raw_table(project_nodes())).tables, seed=7, anchor=None)
    real_cols = ["github_repo", "github_pr_id", "author_id", "cycle_time_hours", "review_time_hours", "title"]
    assert (
        other.tables["metrics_pullrequest"]
        .select(real_cols)
        .equals(built.tables["metrics_pullrequest"].select(real_cols))
    )
    for name in ("metrics_prreview", "metrics_commit", "metrics_prfile", "metrics_teammember"):
        assert content_hash(other.tables[name]) == content_hash(built.tables[name]), name


def test_long_file_paths_are_cut_to_the_apps_varchar_500():
    long_a, long_b = "d/" + "x" * 600 + ".py", "d/" + "x" * 600 + ".ts"
    nodes = [
        pr_node("acme/api", 9, createdAt="2025-06-02T09:00:00Z", files=[file(long_a, "ADDED"), file(long_b, "ADDED")])
    ]
    res = build_project(PRESET, normalize(raw_table(nodes)).tables, seed=1, anchor=None)
    assert res.tables["metrics_prfile"].column("filename").to_pylist() == [long_a[:500]]
    assert res.info.dropped == {
        "file paths longer than 500 characters truncated": 2,
        "files whose truncated paths collide dropped": 1,
    }


def test_anchor_must_be_a_monday_and_data_must_exist():
    tables = normalize(raw_table(project_nodes())).tables
    with pytest.raises(UserError, match="Monday"):
        build_project(PRESET, tables, seed=1, anchor=dt.date(2025, 6, 3))
    with pytest.raises(UserError, match="no human-authored PRs"):
        build_project(PRESET, tables, seed=1, anchor=dt.date(2024, 1, 1))


# --------------------------------------------------------------------------
# PostgreSQL: the snapshot loads into the app schema without a violation
# --------------------------------------------------------------------------


def load_into_postgres(dsn: str, tables: dict[str, pa.Table]) -> dict[str, int]:
    """Create the app schema and COPY the app tables in one transaction; return row counts."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute(APP_SCHEMA_SQL.read_text())
        with conn.cursor() as cur:
            for name in APP_LOAD_ORDER:
                if name not in tables:
                    continue
                table = tables[name]
                cols = ", ".join(f'"{c}"' for c in spec(name).column_names)
                with cur.copy(f'COPY "{name}" ({cols}) FROM STDIN') as copy:
                    for row in table.to_pylist():
                        copy.write_row(list(row.values()))
        conn.commit()  # deferred FKs are checked here
        return {
            name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for name in APP_LOAD_ORDER
            if name in tables
        }


@pytest.mark.postgres
def test_project_snapshot_loads_into_postgres(built, pg_database):
    counts = load_into_postgres(pg_database, built.tables)
    assert counts == {name: built.tables[name].num_rows for name in counts}
    assert counts["metrics_pullrequest"] == 4 and counts["metrics_prreview"] == 5


@pytest.mark.postgres
def test_the_load_check_catches_a_dangling_member(built, pg_database):
    import psycopg

    broken = dict(built.tables)
    prs = broken["metrics_pullrequest"]
    author = pa.array([99] * prs.num_rows, pa.int64())
    broken["metrics_pullrequest"] = prs.set_column(prs.schema.get_field_index("author_id"), "author_id", author)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        load_into_postgres(pg_database, broken)
