"""``demoseed scenarios``: the built-in scenarios, one line each (name, team, members, weeks, story)."""

from __future__ import annotations

import click


def print_scenarios() -> None:
    from stages.generate.scenario import list_scenarios

    rows = [(s.name, f"{s.team_name} ({s.team_slug})", str(s.members), str(s.weeks), s.story) for s in list_scenarios()]
    head = ("scenario", "team", "members", "weeks", "story")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for r in [head, *rows]:
        click.echo("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])


@click.command("scenarios")
def command() -> None:
    """List the built-in scenarios (use --scenario NAME or your own PATH.toml)."""
    print_scenarios()
