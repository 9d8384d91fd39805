"""`demoseed report`: every chart's data is the snapshot's weekly values, targets are the
scenario's curves, the page and PNGs are written where asked and nowhere else.

The snapshots are the four built-in scenarios, a blended one (review-bottleneck
seed 7 with real PRs of acme/widgets) and a real project (fastapi), the last two
through the fake GitHub; they are built once per session (see :func:`built`).
The browser half is in tests/test_report_browser.py.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
import shutil
import struct
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest
import vl_convert

from pipeline.cli import main
from stages.generate.scenario import load_scenario

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

SCENARIOS = ("ai-success", "review-bottleneck", "baseline", "detective-game")
ALL = (*SCENARIOS, "blended", "project")
DIRS = {**{s: f"{s}-seed42" for s in SCENARIOS}, "blended": "review-bottleneck-seed7", "project": "fastapi-seed42"}

# chart id -> series -> demoseed_team_weekly column (written here, not imported: the test's own expectation)
WEEKLY_SERIES: dict[str, dict[str, str]] = {
    "ai-share": {"AI-assisted share": "ai_assisted_share"},
    "cycle-time": {"median cycle time": "cycle_time_median_hours"},
    "review-time": {"median review time": "review_time_median_hours"},
    "prs": {"merged": "prs_merged", "open at week end": "open_prs_at_week_end"},
    "top-reviewer": {"top reviewer's share": "top_reviewer_share"},
    "guess-accuracy": {"guess accuracy": "guess_accuracy"},
    "quality": {"quality rating": "avg_quality_rating"},
}
CURVES = {"ai-share": "ai_share", "cycle-time": "cycle_time_hours", "review-time": "review_time_hours", "quality": "quality_rating"}  # fmt: skip
CHART_IDS = [*WEEKLY_SERIES, "reviewers", "member-ai", "real-share"]

_built: dict[str, Path] = {}


def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> snapshot directory, built on first use in a data root of their own (shared by both test files)."""
    if not _built:
        import pipeline.base.projects as projects
        from tests.fake_github import FakeGitHub
        from tests.fake_github.testing import TOKEN

        root = tmp_path_factory.mktemp("report-data")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DEMOSEED_DATA", str(root))
            for s in SCENARIOS:
                out = str(root / "snapshots" / DIRS[s])
                assert main(["snapshot", "--scenario", s, "--no-github", "-o", out]) == 0
            with FakeGitHub({"acme/widgets": 80}) as gh:
                mp.setenv("GITHUB_TOKEN", TOKEN)
                mp.setenv("GITHUB_API_URL", gh.url)
                args = ["snapshot", "--scenario", "review-bottleneck", "--seed", "7", "--repo", "acme/widgets"]
                assert main([*args, "-o", str(root / "snapshots" / DIRS["blended"])]) == 0
            small = dataclasses.replace(projects.get_preset("fastapi"), max_prs_per_repo=40)
            mp.setattr(projects, "get_preset", lambda key: small)
            with FakeGitHub({"tiangolo/fastapi": 60}) as gh:
                mp.setenv("GITHUB_API_URL", gh.url)
                out = str(root / "snapshots" / DIRS["project"])
                assert main(["snapshot", "--project", "fastapi", "--seed", "42", "-o", out]) == 0
        _built.update({name: root / "snapshots" / d for name, d in DIRS.items()})
    return dict(_built)


@pytest.fixture
def snaps(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The snapshots; DEMOSEED_DATA is their data root, or the test's own ``data_root`` (given the
    Vega bundle the first report cached, so that every test does not bundle it again)."""
    snapshots = built(tmp_path_factory)
    shared = next(iter(snapshots.values())).parent.parent
    if "data_root" in request.fixturenames:
        cache = shared / "work" / "report"
        if cache.is_dir():
            shutil.copytree(cache, request.getfixturevalue("data_root") / "work" / "report")
    else:
        monkeypatch.setenv("DEMOSEED_DATA", str(shared))
    return snapshots


# --- reading what the tool wrote, independently of pipeline.report -------------------------------


def specs_in(page: str) -> dict[str, Any]:
    """The chart specs a report page carries (chart id -> Vega-Lite spec)."""
    m = re.search(r'<script type="application/json" id="report-specs">(.*?)</script>', page, re.S)
    assert m, "no report-specs element in the page"
    specs: dict[str, Any] = json.loads(m.group(1))
    return specs


def report(tmp_path: Path, *snapshots: Path, args: tuple[str, ...] = ()) -> dict[str, Any]:
    out = tmp_path / "report.html"
    assert main(["report", *map(str, snapshots), "-o", str(out), *args]) == 0
    return specs_in(out.read_text("utf-8"))


def manifest(snap: Path) -> dict[str, Any]:
    m: dict[str, Any] = json.loads((snap / "manifest.json").read_text())
    return m


def first_team(snap: Path) -> int:
    return int(min(pq.read_table(snap / "teams_team.parquet", columns=["id"]).column("id").to_pylist()))


def team_weekly(snap: Path, team_id: int | None = None) -> pl.DataFrame:
    df = pl.read_parquet(snap / "demoseed_team_weekly.parquet")
    return df.filter(pl.col("team_id") == (team_id or first_team(snap))).sort("week_start")


def rows_of(spec: dict[str, Any], label: str, **match: Any) -> list[dict[str, Any]]:
    return [r for r in spec["datasets"]["values"] if r["snapshot"] == label and all(r.get(k) == v for k, v in match.items())]  # fmt: skip


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    w, h = struct.unpack(">II", data[16:24])
    return int(w), int(h)


# --- the charts' data is the snapshot's ----------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_weekly_charts_carry_the_weekly_table_values(snaps, tmp_path, name):
    snap = snaps[name]
    specs = report(tmp_path, snap)
    assert list(specs) == CHART_IDS
    weeks = team_weekly(snap)
    label = manifest(snap)["name"]
    dates = [d.isoformat() for d in weeks.get_column("week_start").to_list()]
    assert len(dates) == len(manifest(snap)["params"]["generate"]["week_starts"])
    for chart_id, series in WEEKLY_SERIES.items():
        for s, column in series.items():
            got = rows_of(specs[chart_id], label, series=s, kind="measured")
            assert [r["week"] for r in got] == dates, (chart_id, s)
            assert [r["value"] for r in got] == weeks.get_column(column).to_list(), (chart_id, s)
        assert len(specs[chart_id]["hconcat"]) == 1


@pytest.mark.parametrize("name", SCENARIOS)
def test_targets_are_the_scenario_curves(snaps, tmp_path, name):
    specs = report(tmp_path, snaps[name])
    scenario = load_scenario(name)
    label = manifest(snaps[name])["name"]
    for chart_id, curve in CURVES.items():
        (series,) = WEEKLY_SERIES[chart_id]
        got = [r["value"] for r in rows_of(specs[chart_id], label, series=series, kind="target")]
        assert got == [float(v) for v in scenario.curve(curve)], chart_id
    top = [r["value"] for r in rows_of(specs["top-reviewer"], label, kind="target")]
    assert top == ([0.6] * 8 if name == "review-bottleneck" else [])
    band = {(r["low"], r["high"]) for r in rows_of(specs["guess-accuracy"], label, kind="target range")}
    lows = [a.guess_accuracy[0] for a in scenario.archetypes]
    highs = [a.guess_accuracy[1] for a in scenario.archetypes]
    assert band == {(min(lows), max(highs))}


def test_a_real_project_has_no_targets_and_says_which_numbers_are_real(snaps, tmp_path):
    specs = report(tmp_path, snaps["project"])
    for chart_id in WEEKLY_SERIES:
        assert {r["kind"] for r in specs[chart_id]["datasets"]["values"]} == {"measured"}
    titles = {cid: specs[cid]["hconcat"][0]["title"]["text"] for cid in CHART_IDS}
    assert titles["cycle-time"] == "fastapi-seed42 — real (GitHub)"
    assert titles["top-reviewer"] == "fastapi-seed42 — real (GitHub)"
    assert titles["ai-share"] == "fastapi-seed42 — simulated"
    assert titles["quality"] == "fastapi-seed42 — simulated"


@pytest.mark.parametrize("name", ALL)
def test_member_charts_add_up_to_the_snapshot(snaps, tmp_path, name):
    snap = snaps[name]
    specs = report(tmp_path, snap)
    label, team = manifest(snap)["name"], first_team(snap)
    # reviews per reviewer: they add up to the weekly table's reviews; longest bar first
    reviews = rows_of(specs["reviewers"], label)
    counts = [r["reviews"] for r in reviews]
    assert sum(counts) == team_weekly(snap).get_column("reviews").sum() > 0
    assert counts == sorted(counts, reverse=True)
    assert sum(r["share"] for r in reviews) == pytest.approx(1.0)
    # AI share per member: the member's metrics_weeklymetrics sums
    wm = pl.read_parquet(snap / "metrics_weeklymetrics.parquet").filter(pl.col("team_id") == team)
    sums = wm.group_by("member_id").agg(pl.col("ai_assisted_prs").sum(), pl.col("surveys_completed").sum())
    want = {
        r["member_id"]: (r["ai_assisted_prs"] / r["surveys_completed"] if r["surveys_completed"] else None)
        for r in sums.iter_rows(named=True)
    }
    got = {r["member_id"]: r["share"] for r in rows_of(specs["member-ai"], label)}
    assert got == want
    # real vs synthetic: every PR of the team, by source
    prs = pl.read_parquet(snap / "metrics_pullrequest.parquet").filter(pl.col("team_id") == team).height
    sources = {r["label"]: r["prs"] for r in rows_of(specs["real-share"], label)}
    assert sum(sources.values()) == prs
    gen = manifest(snap)["params"]["generate"]
    if name == "project":
        assert sources == {"real_project: tiangolo/fastapi": gen["real_prs"]}
    elif name == "blended":
        real = {k: v for k, v in sources.items() if k != "synthetic"}
        assert list(real) == ["real_blend: acme/widgets"] and sum(real.values()) == gen["real_prs_used"] > 0
    else:
        assert sources == {"synthetic": prs}


def test_several_snapshots_side_by_side_with_a_shared_value_axis(snaps, tmp_path):
    order = [snaps["baseline"], snaps["ai-success"], snaps["project"]]
    specs = report(tmp_path, *order)
    labels = [manifest(s)["name"] for s in order]
    for chart_id in CHART_IDS:
        spec = specs[chart_id]
        assert [p["title"]["text"].split(" — ")[0] for p in spec["hconcat"]] == labels, chart_id
        assert [p["transform"][0]["filter"] for p in spec["hconcat"]] == [{"field": "snapshot", "equal": lb} for lb in labels]  # fmt: skip
    for chart_id in WEEKLY_SERIES:
        assert specs[chart_id]["resolve"]["scale"]["y"] == "shared"
        assert specs[chart_id]["resolve"]["scale"]["x"] == "independent"  # the project's weeks are others
    for chart_id in ("reviewers", "member-ai", "real-share"):
        assert specs[chart_id]["resolve"]["scale"]["x"] == "shared"
    for snap, label in zip(order, labels, strict=True):
        got = [r["value"] for r in rows_of(specs["ai-share"], label, kind="measured")]
        assert got == team_weekly(snap).get_column("ai_assisted_share").to_list()
    two_seeds = report(tmp_path, snaps["review-bottleneck"], snaps["blended"])
    assert two_seeds["review-time"]["resolve"]["scale"]["x"] == "shared"  # same weeks


def test_the_panel_tells_the_story_and_the_rules_that_held(snaps, tmp_path):
    from stages.aggregate.story import headline

    snap = snaps["review-bottleneck"]
    report(tmp_path, snap)
    page = (tmp_path / "report.html").read_text("utf-8")
    story = headline("review-bottleneck", team_weekly(snap)).summary
    assert html.escape(story) in page
    assert manifest(snap)["snapshot_id"] in page
    assert "✓ top reviewer does 60 % ± 5 % of all reviews" in page
    assert "✓ generator&#x27;s coherence rules" in page
    assert "✗" not in page
    # a manifest edited by hand: the panel says which rules broke
    copy = tmp_path / "edited" / snap.name
    shutil.copytree(snap, copy)
    m = manifest(copy)
    m["tables"]["metrics_commit"]["rows"] += 1
    m["inputs"]["request_key"] = "edited"
    (copy / "manifest.json").write_text(json.dumps(m))
    out = tmp_path / "edited.html"
    assert main(["report", str(copy), "-o", str(out)]) == 0
    edited = out.read_text("utf-8")
    assert "✗ snapshot id matches the manifest&#x27;s contents" in edited
    assert "✗ every table&#x27;s row count equals the manifest&#x27;s" in edited
    assert "differ: metrics_commit" in edited


def test_several_teams_show_the_first_or_the_one_asked_for(tmp_path, data_root):
    args = ["snapshot", "--teams", "3", "--members", "4", "--prs", "30", "--no-github"]
    assert main(args) == 0
    (snap,) = (data_root / "snapshots").iterdir()
    specs = report(tmp_path, snap)
    label = f"{snap.name} · demo-team"
    got = [r["value"] for r in rows_of(specs["prs"], label, series="merged")]
    assert got == team_weekly(snap, 1).get_column("prs_merged").to_list()
    specs = report(tmp_path, snap, args=("--team", "demo-team-2"))
    team2 = pl.read_parquet(snap / "teams_team.parquet").filter(pl.col("slug") == "demo-team-2").get_column("id")[0]
    got = [r["value"] for r in rows_of(specs["prs"], f"{snap.name} · demo-team-2", series="merged")]
    assert got == team_weekly(snap, team2).get_column("prs_merged").to_list()


# --- the page and the PNGs: where they go, what they are ---------------------------------------


def test_same_snapshots_same_page(snaps, tmp_path):
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    assert main(["report", str(snaps["baseline"]), str(snaps["project"]), "-o", str(a)]) == 0
    assert main(["report", str(snaps["baseline"]), str(snaps["project"]), "-o", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert str(tmp_path) not in a.read_text("utf-8")  # nothing of this machine in the page


def test_pngs_one_per_chart_of_the_rendered_size(snaps, tmp_path):
    out = tmp_path / "png"
    specs = report(tmp_path, snaps["ai-success"], snaps["baseline"], args=("--png", str(out)))
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{c}.png" for c in CHART_IDS)
    for chart_id in CHART_IDS:
        data = (out / f"{chart_id}.png").read_bytes()
        svg = vl_convert.vegalite_to_svg(specs[chart_id], vl_version="6.4")
        w, h = (float(v) for v in re.search(r'<svg[^>]*?width="([\d.]+)"[^>]*?height="([\d.]+)"', svg).groups())  # type: ignore[union-attr]
        assert png_size(data) == (round(w * 2), round(h * 2)), chart_id
        assert png_size(data)[0] >= 2 * 2 * 200 and png_size(data)[1] >= 2 * 150, chart_id  # two panels, each a chart
    # run again: the PNGs are its own, so they are replaced
    report(tmp_path, snaps["ai-success"], args=("--png", str(out)))


def test_default_output_is_the_newest_snapshot_into_data_reports(snaps, data_root, capsys):
    for when, name in enumerate(("ai-success", "baseline"), start=1):  # baseline: the older one
        copy = shutil.copytree(snaps[name], data_root / "snapshots" / snaps[name].name)
        os.utime(copy / "manifest.json", ns=(when, 10**18 // when))
    assert main(["report"]) == 0
    page = data_root / "reports" / "ai-success-seed42.html"
    assert page.is_file() and "report: " + str(page) in capsys.readouterr().out
    assert list(specs_in(page.read_text("utf-8"))) == CHART_IDS
    assert main(["report"]) == 0  # its own page: replaced


def test_never_over_a_file_it_did_not_write(snaps, data_root, tmp_path, capsys):
    shutil.copytree(snaps["baseline"], data_root / "snapshots" / "baseline-seed42")
    page = data_root / "reports" / "baseline-seed42.html"
    page.parent.mkdir()
    page.write_text("my own notes")
    assert main(["report"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "not written by demoseed report" in err
    assert page.read_text() == "my own notes"
    # -o FILE is the user's request: replaced
    assert main(["report", "-o", str(page)]) == 0
    assert "demoseed report" in page.read_text("utf-8")
    # a PNG directory with someone else's file of a chart's name: nothing is written at all
    pngs = tmp_path / "png"
    pngs.mkdir()
    (pngs / "prs.png").write_bytes(b"not mine")
    other = tmp_path / "other.html"
    assert main(["report", "-o", str(other), "--png", str(pngs)]) == 2
    assert "prs.png exists and was not written by demoseed report" in capsys.readouterr().err
    assert not other.exists() and sorted(p.name for p in pngs.iterdir()) == ["prs.png"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["report", "{tmp}/missing"], "no such snapshot directory"),
        (["report", "{tmp}"], "no manifest.json"),
        (["report", "{snap}", "-o", "{tmp}"], "is a directory"),
        (["report", "{snap}", "--team", "nope"], "has no team 'nope'"),
        (["report", "{snap}", "--png", "{snap}/manifest.json"], "not a directory"),
        (["report"], "no snapshot in"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(snaps, data_root, tmp_path, capsys, args, message):
    argv = [a.format(tmp=tmp_path, snap=snaps["baseline"]) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err


def test_the_readme_shows_the_command_and_a_small_screenshot():
    repo = Path(__file__).resolve().parent.parent
    readme = (repo / "README.md").read_text("utf-8")
    assert "demoseed report" in readme and "![demoseed report: baseline next to ai-success](docs/report.png)" in readme
    shot = (repo / "docs" / "report.png").read_bytes()
    assert len(shot) < 200_000 and png_size(shot)[0] >= 800


def test_the_generator_rules_are_rechecked_on_the_snapshot_drawn(snaps, tmp_path):
    """A review moved onto its PR's author after the snapshot was written: the panel's rule check breaks."""
    import pyarrow as pa

    snap = snaps["review-bottleneck"]
    copy = tmp_path / "edited" / snap.name
    shutil.copytree(snap, copy)
    reviews = pq.read_table(copy / "metrics_prreview.parquet")
    prs = pq.read_table(copy / "metrics_pullrequest.parquet", columns=["id", "author_id"]).to_pylist()
    author = {p["id"]: p["author_id"] for p in prs}
    reviewer = reviews.column("reviewer_id").to_pylist()
    reviewer[0] = author[reviews.column("pull_request_id")[0].as_py()]
    index = reviews.schema.get_field_index("reviewer_id")
    edited = reviews.set_column(
        index, reviews.schema.field(index), pa.array(reviewer, reviews.schema.field(index).type)
    )
    pq.write_table(edited, copy / "metrics_prreview.parquet")
    out = tmp_path / "edited.html"
    assert main(["report", str(copy), "-o", str(out)]) == 0
    page = out.read_text("utf-8")
    assert "✗ generator&#x27;s coherence rules" in page
    assert "reviewer is not the PR author" in page
    project = (tmp_path / "project.html", snaps["project"])
    assert main(["report", str(project[1]), "-o", str(project[0])]) == 0
    assert "✓ generator" not in project[0].read_text("utf-8")
