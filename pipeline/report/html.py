"""The report page: one self-contained HTML file that needs no network.

Vega, Vega-Lite and vega-embed come inline, bundled by vl-convert from the
versions it ships (the bundle is cached in data/work/report/); the chart
specs (their data included) sit in a JSON script element; a few lines of
script embed each chart as SVG. Once every chart is drawn,
``document.body.dataset.rendered`` holds the number of charts (or
``"error"``), ``window.reportReady`` resolves and ``window.reportViews``
holds the Vega views by chart id (the browser tests read them).

The page is a function of the snapshots: no clock, no paths of this machine,
so the same snapshots give the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
from importlib.metadata import version
from typing import Any

import vl_convert

from pipeline import __version__, paths
from pipeline.base.atomic import atomic_write_bytes
from pipeline.base.runrecord import Mode, ProjectInfo
from pipeline.report.charts import Chart
from pipeline.report.checks import Check, all_checks
from pipeline.report.source import Story
from stages.aggregate.story import headline

VL_VERSION = "6.4"
GENERATOR = "demoseed report"  # the <meta name="generator"> that marks a page this tool wrote
_GLOBALS = "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"

_EMBED = """(() => {
  const specs = JSON.parse(document.getElementById("report-specs").textContent);
  const views = {};
  window.reportViews = views;
  const options = {actions: false, renderer: "svg", mode: "vega-lite"};
  window.reportReady = Promise.all(Object.keys(specs).map((id) =>
    vegaEmbed("#chart-" + id, specs[id], options).then((result) => { views[id] = result.view; })
  )).then(
    () => { document.body.dataset.rendered = String(Object.keys(views).length); },
    (error) => { document.body.dataset.rendered = "error"; console.error(error); }
  );
})();"""

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.lead { color: #555; margin: 0 0 16px; }
.panels { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; }
.panel { border: 1px solid #ddd; border-radius: 6px; padding: 12px 14px; font-size: 13px; }
.panel h3 { margin: 0 0 6px; font-size: 15px; } .story { font-weight: 600; color: #8a5a00; margin: 0 0 8px; }
.panel table { border-collapse: collapse; width: 100%; margin: 6px 0; }
.panel td, .panel th { text-align: left; padding: 1px 6px 1px 0; vertical-align: top; }
.panel td.n { text-align: right; font-variant-numeric: tabular-nums; }
.checks { list-style: none; padding: 0; margin: 6px 0 0; } .checks li { margin: 2px 0; }
.held { color: #1a7f37; } .broken { color: #c62828; font-weight: 600; } .na { color: #777; }
details summary { cursor: pointer; color: #555; }
figure { margin: 0; } .chart { margin: 8px 0 20px; min-height: 40px; }
.checks details { margin-left: 1.2em; color: #555; }
"""


def bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script. Bundling takes vl-convert a second or two, so the
    result is kept in data/work/report/, keyed by the vl-convert and Vega-Lite versions and the snippet."""
    snippet = hashlib.sha256(_GLOBALS.encode()).hexdigest()[:12]
    path = paths.work_dir() / "report" / f"vega-bundle-{version('vl-convert-python')}-vl{VL_VERSION}-{snippet}.js"
    if path.is_file():
        return path.read_text("utf-8")
    text = vl_convert.javascript_bundle(_GLOBALS, vl_version=VL_VERSION)
    with contextlib.suppress(OSError):  # a read-only data directory: no cache, the same page
        atomic_write_bytes(path, text.encode("utf-8"))
    return text


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _json_for_script(obj: Any) -> str:
    """JSON that is safe inside a <script> element (no "</script>", no "<!--")."""
    return json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")


def _check(c: Check) -> str:
    mark, cls = {True: ("✓", "held"), False: ("✗", "broken"), None: ("–", "na")}[c.held]
    more = f"<details><summary>the rules</summary>{_e(c.more)}</details>" if c.more else ""
    return f'<li class="{cls}">{mark} {_e(c.rule)} <span class="na">({_e(c.detail)})</span>{more}</li>'


def _params(story: Story) -> list[tuple[str, str]]:
    m, run = story.manifest, story.run
    weeks = story.weeks.get_column("week_start").to_list()
    rows = [
        ("snapshot id", m.snapshot_id),
        ("mode", story.mode),
        ("scenario", f"{story.scenario} — {run.scenario_title if run else ''}".rstrip(" —") if story.scenario else "–"),
        ("project", str(run.project if run else None)) if story.mode is Mode.PROJECT else None,
        ("seed", str(m.seed)),
        ("weeks", f"{len(weeks)}: {weeks[0]} to {weeks[-1]}" if weeks else "0"),
        ("team", f"{story.team.name} ({story.team.slug})" + (f", 1 of {story.teams} teams" if story.teams > 1 else "")),
        ("active members", str(story.members.height)),
        ("real share", _real_share(story)),
        ("demoseed", f"{m.tool_version or '?'} (this report: {__version__})"),
    ]
    return [r for r in rows if r is not None]


def _real_share(story: Story) -> str:
    run = story.run
    if run is None:
        return "–"
    text = f"{run.real_share * 100:.0f} %"
    return f"{text} ({run.real_share_reason})" if run.real_share_reason else text


def _panel(story: Story) -> str:
    params = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in _params(story))
    counts = "".join(
        f'<tr><td>{_e(name)}</td><td class="n">{entry.rows:,}</td></tr>'
        for name, entry in sorted(story.manifest.tables.items())
    )
    fields = ""
    if isinstance(story.run, ProjectInfo):
        real = ", ".join(story.run.real_fields)
        simulated = ", ".join(story.run.simulated_fields)
        fields = f"<p><b>real (GitHub):</b> {_e(real)}</p><p><b>simulated:</b> {_e(simulated)}</p>"
    notes = "".join(f"<li>{_e(n)}</li>" for n in story.manifest.notes)
    return (
        f'<section class="panel"><h3>{_e(story.label)}</h3>'
        f'<p class="story">{_e(headline(story.scenario, story.weeks).summary)}</p>'
        f"<table>{params}</table>{fields}"
        f"<details><summary>row counts</summary><table>{counts}</table></details>"
        + (f"<details><summary>notes</summary><ul>{notes}</ul></details>" if notes else "")
        + f'<ul class="checks">{"".join(_check(c) for c in all_checks(story))}</ul></section>'
    )


def title(stories: list[Story]) -> str:
    return "demoseed report: " + ", ".join(s.label for s in stories)


def render(stories: list[Story], charts: list[Chart]) -> str:
    """The whole page."""
    specs = _json_for_script({c.id: c.spec for c in charts})
    figures = "".join(
        f'<figure><div class="chart" id="chart-{_e(c.id)}" data-chart="{_e(c.id)}" role="img" aria-label="{_e(c.title)}"></div></figure>'
        for c in charts
    )
    panels = "".join(_panel(s) for s in stories)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="generator" content="{GENERATOR}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title(stories))}</title><style>{_CSS}</style></head>\n<body>"
        f"<h1>{_e(title(stories))}</h1>"
        '<p class="lead">Measured weekly values from each snapshot\'s demoseed_team_weekly, '
        "the scenario's targets dashed beside them. Hover a point for its numbers.</p>"
        f'<div class="panels">{panels}</div><h2>Charts</h2>{figures}\n'
        f'<script type="application/json" id="report-specs">{specs}</script>\n'
        f"<script>{bundle()}</script>\n<script>{_EMBED}</script>\n</body></html>\n"
    )
