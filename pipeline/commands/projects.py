"""`demoseed projects`: list the real-project presets, one aligned line each (plain text: starts instantly)."""

from __future__ import annotations

import click

HEAD = ("key", "team", "repos", "max PRs/repo", "max members", "days", "AI base", "survey rate", "industry")


@click.command("projects")
@click.option("--industry", help="Only presets of this industry (e.g. ai_llm, devops).")
def command(industry: str | None) -> None:
    """List the real-project presets usable with --project NAME."""
    from pipeline.base.errors import UserError
    from pipeline.base.projects import list_presets

    industries = sorted({p.industry for p in list_presets()})
    if industry is not None and industry not in industries:
        raise UserError(f"--industry {industry!r}: no preset has it; use one of {', '.join(industries)}")
    rows = [
        (
            p.key,
            p.team_name,
            " ".join(p.repos),
            str(p.max_prs_per_repo),
            str(p.max_members),
            str(p.days_back),
            f"{p.ai_base_rate:.2f}",
            f"{p.survey_response_rate:.2f}",
            p.industry,
        )
        for p in list_presets()
        if not industry or p.industry == industry
    ]
    widths = [max(len(r[i]) for r in [HEAD, *rows]) for i in range(len(HEAD))]
    click.echo(f"Real-project presets ({len(rows)})")
    for r in [HEAD, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
