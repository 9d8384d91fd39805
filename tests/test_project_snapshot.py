"""End to end: `demoseed snapshot --project antiwork` on the fake GitHub's data, then loaded into PostgreSQL.

The fake's dataset is cached under the antiwork preset's three repos (as
`demoseed fetch` would store it); the snapshot must hold exactly the fake's
people, PRs and reviews after bot filtering, and load without a violation.
"""

from __future__ import annotations

from collections import Counter

import pytest

from pipeline import paths
from pipeline.base.manifest import read_manifest, read_snapshot_tables
from pipeline.base.projects import get_preset
from pipeline.cli import main
from stages.fetch.cache import RepoCache
from tests.fake_github.dataset import Dataset

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

SIZES = (40, 20, 30)


@pytest.fixture
def snapshot(data_root, capsys):
    preset = get_preset("antiwork")
    repos = dict(zip(preset.repos, SIZES, strict=True))
    data = Dataset(repos, seed=11)
    for repo in repos:
        cache = RepoCache(paths.raw_github_dir(), repo)
        state = cache.load_state()
        cache.commit_page(data.expected_rows(repo), state)
        cache.compact(state)
    out = data_root / "snap"
    assert main(["snapshot", "--project", "antiwork", "--seed", "5", "--output", str(out)]) == 0
    capsys.readouterr()
    truth = {(repo, p["number"]): p for repo in repos for p in data.get(repo).prs.values()}
    return out, truth


def test_snapshot_of_a_real_project_matches_the_fake(snapshot):
    out, truth = snapshot
    kept = {k: p for k, p in truth.items() if not (p["author"] and p["author"]["__typename"] == "Bot")}
    people = {p["author"]["login"] for p in kept.values() if p["author"]}
    people |= {r["author"]["login"] for p in kept.values() for r in p["reviews"]}

    tables = read_snapshot_tables(out)
    members = {m["id"]: m["github_username"] for m in tables["metrics_teammember"].to_pylist()}
    assert set(members.values()) == people
    prs = {p["id"]: (p["github_repo"], p["github_pr_id"]) for p in tables["metrics_pullrequest"].to_pylist()}
    assert sorted(prs.values()) == sorted(kept)
    reviews = Counter(prs[r["pull_request_id"]] for r in tables["metrics_prreview"].to_pylist())
    assert reviews == +Counter({k: len(p["reviews"]) for k, p in kept.items()})
    team = tables["teams_team"].to_pylist()
    assert [(t["name"], t["slug"]) for t in team] == [("Antiwork", "antiwork-demo")]

    manifest = read_manifest(out)
    assert manifest.params["mode"] == "project"
    assert manifest.params["generate"]["project"] == "antiwork"
    weekly = tables["metrics_weeklymetrics"]
    assert weekly.num_rows == len(members) * len(manifest.params["generate"]["week_starts"])
    prov = tables["demoseed_provenance"].to_pylist()
    assert {p["source"] for p in prov} == {"real_project"}
    assert sorted((p["real_repo"], p["real_number"]) for p in prov) == sorted(kept)


@pytest.mark.postgres
def test_snapshot_of_a_real_project_loads_into_postgres(snapshot, pg_database):
    from pipeline.runners.load import run_load

    out, _ = snapshot
    report = run_load(out, pg_database, rebase_dates=False)
    import psycopg

    tables = read_snapshot_tables(out)
    with psycopg.connect(pg_database) as conn:
        for name in ("metrics_teammember", "metrics_pullrequest", "metrics_prreview", "metrics_prsurvey"):
            assert conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == tables[name].num_rows, name
    assert report is not None
