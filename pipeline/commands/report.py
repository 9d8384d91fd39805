"""`demoseed report`: draw one or several snapshots as charts, in one offline HTML page and as PNGs.

See :mod:`pipeline.report` for what is drawn and from where.
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.commands._common import latest_snapshot, snapshot_path


@click.command("report")
@click.argument("snapshots", nargs=-1, type=snapshot_path())
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Write the page here (replaced if it exists). Default: data/reports/<snapshot names>.html.",
)
@click.option(
    "--png", "png_dir", type=click.Path(path_type=Path), metavar="DIR", help="Also write one PNG per chart into DIR."
)
@click.option(
    "--team", "team_slug", metavar="SLUG", help="Draw this team (slug) of each snapshot; default: its first team."
)
def command(snapshots: tuple[Path, ...], output: Path | None, png_dir: Path | None, team_slug: str | None) -> None:
    """Draw snapshots as charts: the story week by week, targets beside the measured values.

    \b
    SNAPSHOT is a snapshot directory (default: the newest in data/snapshots);
    several are drawn side by side with shared axes, e.g.
      demoseed report data/snapshots/baseline-seed42 data/snapshots/ai-success-seed42
    The page is self-contained (no network); --png DIR adds one PNG per chart.
    """
    from pipeline.report import html, png
    from pipeline.report.build import build_charts
    from pipeline.report.output import check_html, default_html_path, png_targets, write
    from pipeline.report.source import read_stories

    stories = read_stories(list(snapshots) or [latest_snapshot()], team_slug)
    charts = build_charts(stories)
    target = output if output is not None else default_html_path(stories)
    check_html(target, explicit=output is not None)
    pngs = (
        {path: png.render(c) for path, c in zip(png_targets(charts, png_dir), charts, strict=True)} if png_dir else {}
    )
    write(html.render(stories, charts), target, pngs)
    click.echo(f"report: {target} ({len(charts)} charts, {len(stories)} snapshot{'s' if len(stories) > 1 else ''})")
    if png_dir is not None:
        click.echo(f"   png: {png_dir}/ ({len(pngs)} files: {', '.join(p.name for p in pngs)})")
