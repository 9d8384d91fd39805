"""Real-share blending on a small hand-made set of normalized gh_* tables."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipeline.base.parquet import conform
from pipeline.base.schemas import spec
from pipeline.paths import DEFAULT_ANCHOR
from stages.generate import GenerateConfig, generate

UTC = dt.UTC
N_REAL = 40


def gh_tables() -> dict[str, pa.Table]:
    """40 real-looking PRs of two repos (one by a bot, which must never be used) and their files."""
    rows = []
    for i in range(N_REAL):
        repo = "pallets/flask" if i % 2 else "tiangolo/fastapi"
        t = dt.datetime(2024, 3, 1, tzinfo=UTC) + dt.timedelta(days=i)
        rows.append(
            {
                "repo": repo,
                "number": 1000 + i,
                "node_id": f"PR_{i}",
                "title": f"Real change number {i} in {repo}",
                "body": "",
                "state": "MERGED",
                "is_draft": i % 5 == 0,
                "created_at": t,
                "updated_at": t + dt.timedelta(hours=5),
                "merged_at": t + dt.timedelta(hours=5),
                "closed_at": t + dt.timedelta(hours=5),
                "additions": 10 * i + 7,
                "deletions": i,
                "changed_files": 2,
                "author_login": "dependabot[bot]" if i == 0 else f"dev{i}",
                "author_id": 500 + i,
                "author_is_bot": i == 0,
                "merged_by_login": "maint",
                "head_ref": f"feature-{i}",
                "base_ref": "main",
                "labels": ["bug"] if i % 3 == 0 else [],
                "milestone_title": "3.1.0" if i % 4 == 0 else "",
                "assignees": [f"dev{i}"] if i % 2 else [],
                "linked_issues": [4000 + i] if i % 3 == 1 else [],
                "review_count": 1,
                "commit_count": 1 + i % 6,
                "comment_count": 0,
            }
        )
    prs = conform(pa.Table.from_pylist(rows), spec("gh_pull_requests"))
    files = [
        {"repo": r["repo"], "number": r["number"], "path": p, "status": st, "additions": a, "deletions": 1,
         "file_category": cat, "is_ai_config": False}
        for r in rows
        for p, st, a, cat in (
            (f"src/real_{r['number']}.py", "modified", 5, "backend"),
            (f"docs/real_{r['number']}.md", "added", 2, "docs"),
        )
    ]  # fmt: skip
    return {"gh_pull_requests": prs, "gh_files": conform(pa.Table.from_pylist(files), spec("gh_files"))}


@pytest.fixture(scope="module")
def runs() -> tuple:
    config = GenerateConfig(anchor=DEFAULT_ANCHOR, scenario="ai-success", seed=11)
    return generate(config, real=gh_tables()), generate(config, real=None)


def test_real_share_and_provenance(runs: tuple) -> None:
    real, _ = runs
    prov = real.tables["demoseed_provenance"]
    prs = real.tables["metrics_pullrequest"]
    blended = pc.equal(prov.column("source"), "real_blend")
    share = pc.mean(blended.cast(pa.float64())).as_py()
    assert 0.20 <= share <= 0.30
    assert real.info.real_share == pytest.approx(share)
    assert real.info.real_source_prs == N_REAL - 1  # the bot's PR is left out
    assert real.info.real_share_reason is None
    src = gh_tables()["gh_pull_requests"].to_pylist()
    by_key = {(r["repo"], r["number"]): r for r in src}
    pr_by_id = {r["id"]: r for r in prs.to_pylist()}
    files = real.tables["metrics_prfile"].to_pylist()
    commits = real.tables["metrics_commit"].to_pylist()
    seen = set()
    for p in prov.filter(blended).to_pylist():
        r = by_key[(p["real_repo"], p["real_number"])]
        pr = pr_by_id[p["pull_request_id"]]
        assert r["author_login"] != "dependabot[bot]"
        assert pr["title"] == r["title"]
        assert (pr["additions"], pr["deletions"]) == (r["additions"], r["deletions"])
        assert json.loads(pr["labels"]) == r["labels"]
        assert pr["milestone_title"] == r["milestone_title"]
        assert json.loads(pr["assignees"]) == r["assignees"]
        assert json.loads(pr["linked_issues"]) == r["linked_issues"]
        assert pr["is_draft"] == (r["is_draft"] and pr["state"] == "open")
        names = sorted((f["filename"], f["file_category"]) for f in files if f["pull_request_id"] == pr["id"])
        assert names == [(f"docs/real_{r['number']}.md", "docs"), (f"src/real_{r['number']}.py", "backend")]
        assert sum(1 for c in commits if c["pull_request_id"] == pr["id"]) == r["commit_count"]
        assert "title" in json.loads(p["real_fields"]) and "author_id" in json.loads(p["simulated_fields"])
        seen.add((p["real_repo"], p["real_number"]))
    assert len(seen) == min(N_REAL - 1, int(pc.sum(blended).as_py()))  # distinct real PRs within a team


def test_synthetic_part_is_identical_without_real_data(runs: tuple) -> None:
    real, synth = runs
    assert synth.info.real_share == 0.0
    assert "no real GitHub data" in (synth.info.real_share_reason or "")
    blended_ids = set(
        real.tables["demoseed_provenance"]
        .filter(pc.equal(real.tables["demoseed_provenance"].column("source"), "real_blend"))["pull_request_id"]
        .to_pylist()
    )
    assert blended_ids
    # tables that do not depend on blended fields are byte-for-byte the same rows
    for name in ("teams_team", "metrics_prreview", "metrics_prsurvey", "metrics_prsurveyreview", "metrics_prcheckrun",
                 "metrics_deployment", "metrics_aiusagedaily"):  # fmt: skip
        assert real.tables[name].equals(synth.tables[name]), name
    # other tables: every row not belonging to a blended PR is identical
    for name, col in (
        ("metrics_pullrequest", "id"),
        ("metrics_commit", "pull_request_id"),
        ("metrics_prfile", "pull_request_id"),
    ):
        keep_r = pc.invert(pc.is_in(real.tables[name].column(col), pa.array(sorted(blended_ids))))
        keep_s = pc.invert(pc.is_in(synth.tables[name].column(col), pa.array(sorted(blended_ids))))
        assert real.tables[name].filter(keep_r).equals(synth.tables[name].filter(keep_s)), name
    # blended PRs keep their simulated fields
    cols = ["id", "author_id", "state", "pr_created_at", "merged_at", "first_review_at", "is_ai_assisted", "jira_key"]
    assert real.tables["metrics_pullrequest"].select(cols).equals(synth.tables["metrics_pullrequest"].select(cols))


def test_real_pool_text_caps_and_files() -> None:
    from stages.generate.synthetic.blend import real_pool

    base = gh_tables()["gh_pull_requests"].slice(1, 2).to_pylist()  # two human PRs
    a, b = base
    a.update(
        title="  \x1fSpaced out\t",
        labels=['say "hi"', "naïve\\path"],
        linked_issues=[7, 8],
        commit_count=500,
        milestone_title="m" * 300,
    )
    b.update(title=" \u3000 ", labels=[], assignees=[], linked_issues=[], commit_count=0)
    prs = conform(pa.Table.from_pylist([a, b]), spec("gh_pull_requests"))
    files = [
        {"repo": a["repo"], "number": a["number"], "path": f"f{i:03d}.py", "status": "DELETED", "additions": i,
         "deletions": None, "file_category": "backend", "is_ai_config": False}
        for i in range(120)
    ]  # fmt: skip
    files.append({**files[0], "path": "a" * 501})  # too long for the app: skipped, not counted
    of_b = {"repo": b["repo"], "number": b["number"]}
    files.append({**files[0], **of_b, "path": "README.md", "status": "copied"})
    files.append({**files[0], **of_b, "path": "docs/x.md", "status": "RENAMED"})
    pool, reason = real_pool({"gh_pull_requests": prs, "gh_files": pa.Table.from_pylist(files)})
    assert pool is not None and reason == ""
    order = [pool.repo[i].as_py() for i in range(pool.size)]
    assert order == sorted(order)
    ia = order.index(a["repo"])
    ib = 1 - ia
    assert pool.title.to_pylist()[ia] == "Spaced out"
    assert pool.title.to_pylist()[ib] == "Untitled change"
    assert pool.labels.to_pylist()[ia] == '["say \\"hi\\"", "naïve\\\\path"]'
    assert pool.linked.to_pylist()[ia] == "[7, 8]"
    assert (pool.labels.to_pylist()[ib], pool.linked.to_pylist()[ib]) == ("[]", "[]")
    assert pool.milestone.to_pylist()[ia] == "m" * 255
    assert pool.commits.tolist()[ia] == 100 and pool.commits.tolist()[ib] == 1
    assert pool.n_files.tolist()[ia] == 100 and pool.n_files.tolist()[ib] == 2
    start_a, start_b = pool.file_start[ia], pool.file_start[ib]
    paths_a = pool.file_path.to_pylist()[start_a : start_a + 100]
    assert paths_a == [f"f{i:03d}.py" for i in range(100)]
    assert set(pool.file_status.to_pylist()[start_a : start_a + 100]) == {"removed"}
    assert pool.file_deletions[start_a : start_a + 100].tolist() == [0] * 100
    assert pool.file_path.to_pylist()[start_b : start_b + 2] == ["README.md", "docs/x.md"]
    assert pool.file_status.to_pylist()[start_b : start_b + 2] == ["modified", "renamed"]


def test_provenance_names_fields_in_the_apps_terms(runs: tuple) -> None:
    from pipeline.base.schemas import APP_LOAD_ORDER
    from stages.generate.provenance import CHILD_TABLES, FIELDS, NOT_PROVENANCE

    assert set(NOT_PROVENANCE) <= set(spec("metrics_pullrequest").column_names)
    assert set(CHILD_TABLES) <= set(APP_LOAD_ORDER)
    real, _ = runs
    rows = real.tables["demoseed_provenance"].to_pylist()
    by_source: dict[str, set[tuple[str, str]]] = {}
    for p in rows:
        by_source.setdefault(p["source"], set()).add((p["real_fields"], p["simulated_fields"]))
    assert set(by_source) == {"synthetic", "real_blend"}
    ((synth_real, synth_sim),) = by_source["synthetic"]
    ((blend_real, blend_sim),) = by_source["real_blend"]
    assert json.loads(synth_real) == []
    assert json.loads(synth_sim) == [f for f in FIELDS if f not in ("has_ai_review", "has_ai_files")]
    assert json.loads(blend_real) == [
        "title", "additions", "deletions", "is_draft", "labels", "milestone_title", "assignees", "linked_issues",
        "metrics_prfile",
    ]  # fmt: skip
    assert set(json.loads(blend_real)) | set(json.loads(blend_sim)) == set(json.loads(synth_sim))
    assert not set(json.loads(blend_real)) & set(json.loads(blend_sim))
    assert {"author_id", "state", "metrics_prreview", "metrics_commit"} <= set(json.loads(blend_sim))
