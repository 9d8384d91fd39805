"""`demoseed projects`: list the real-project presets."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from pipeline.base.projects import list_presets


@click.command("projects")
@click.option("--industry", help="Only presets of this industry (e.g. ai_llm, devops).")
def command(industry: str | None) -> None:
    """List the real-project presets usable with --project NAME."""
    table = Table(title="Real-project presets", show_lines=False)
    for col in ("key", "team", "repos", "max PRs/repo", "max members", "days", "AI base", "survey rate", "industry"):
        table.add_column(col)
    for p in list_presets():
        if industry and p.industry != industry:
            continue
        table.add_row(
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
    Console(width=200 if not Console().is_terminal else None).print(table)
