"""Who is a bot, who is a deleted user, and which co-authors are AI tools.

* Deleted GitHub accounts show up as a null actor or as the placeholder
  login ``ghost``. Both become a null login (and null id) everywhere, so a
  deleted user is never counted, ranked or turned into a team member.
* A bot is a login ending in ``[bot]`` (REST, GitHub Apps) or a known bot
  account; GraphQL reports app bots *without* the suffix (``dependabot``), so
  the known list holds the bare names. Matching is case-insensitive.
* AI co-authors are recognised from the ``Co-authored-by:`` trailers of commit
  messages (name or e-mail), for real-project mode's ``has_ai_commits``.
"""

from __future__ import annotations

import polars as pl

GHOST_LOGINS: frozenset[str] = frozenset({"ghost"})

# Bare (lower-case, no "[bot]") logins of well-known bot accounts.
KNOWN_BOTS: frozenset[str] = frozenset(
    {
        "dependabot",
        "dependabot-preview",
        "renovate",
        "renovate-bot",
        "renovatebot",
        "github-actions",
        "github-advanced-security",
        "codecov",
        "codecov-commenter",
        "codecov-io",
        "netlify",
        "vercel",
        "coderabbitai",
        "copilot",
        "copilot-pull-request-reviewer",
        "copilot-swe-agent",
        "devin-ai-integration",
        "google-labs-jules",
        "gemini-code-assist",
        "sourcery-ai",
        "ellipsis-dev",
        "greptile-apps",
        "graphite-app",
        "autofix-ci",
        "pre-commit-ci",
        "allcontributors",
        "all-contributors",
        "sonarcloud",
        "sonarqubecloud",
        "snyk-bot",
        "imgbot",
        "greenkeeper",
        "mergify",
        "changeset-bot",
        "stale",
        "deepsource-autofix",
        "socket-security",
        "cla-assistant",
        "claassistantio",
        "linear",
        "lgtm-com",
        "restyled-io",
        "pull",
        "whitesource-bolt-for-github",
        "mend-bolt-for-github",
        "bors",
        "k8s-ci-robot",
    }
)

# AI review bots: their reviews mark a PR ``has_ai_review`` (the review rows of
# bots themselves are not team reviews).
AI_REVIEW_BOTS: frozenset[str] = frozenset(
    {
        "coderabbitai",
        "copilot",
        "copilot-pull-request-reviewer",
        "gemini-code-assist",
        "sourcery-ai",
        "ellipsis-dev",
        "greptile-apps",
        "devin-ai-integration",
        "cursor",
        "claude",
    }
)

# Co-author name/e-mail fragments -> AI tool (lower-case substring match).
AI_COAUTHOR_TOOLS: tuple[tuple[str, str], ...] = (
    ("noreply@anthropic.com", "claude"),
    ("claude", "claude"),
    ("copilot", "copilot"),
    ("cursor", "cursor"),
    ("devin", "devin"),
    ("google-labs-jules", "jules"),
    ("jules", "jules"),
    ("aider", "aider"),
    ("codex", "codex"),
    ("openhands", "openhands"),
    ("gemini", "gemini"),
)


def bare_login(login: pl.Expr) -> pl.Expr:
    """Lower-case login without a trailing ``[bot]``."""
    return login.str.to_lowercase().str.replace(r"\[bot\]$", "")


def clean_login(login: pl.Expr) -> pl.Expr:
    """The login, or null for a deleted user (null or ``ghost``)."""
    return pl.when(login.str.to_lowercase().is_in(list(GHOST_LOGINS))).then(None).otherwise(login)


def is_bot(login: pl.Expr) -> pl.Expr:
    """Whether a (non-null) login is a bot; false for null logins."""
    lower = login.str.to_lowercase()
    return (lower.str.ends_with("[bot]") | bare_login(login).is_in(list(KNOWN_BOTS))).fill_null(False)


def is_ai_review_bot(login: pl.Expr) -> pl.Expr:
    """Whether a login is an AI code-review bot (``coderabbitai[bot]``, Copilot, ...)."""
    return (is_bot(login) & bare_login(login).is_in(list(AI_REVIEW_BOTS))).fill_null(False)


def ai_tools_expr(coauthors: pl.Expr) -> pl.Expr:
    """Per row, the sorted distinct AI tools named by a list of co-authors."""
    low = pl.element().str.to_lowercase()
    tool = pl.lit(None, dtype=pl.String)
    for fragment, name in reversed(AI_COAUTHOR_TOOLS):
        tool = pl.when(low.str.contains(fragment, literal=True)).then(pl.lit(name)).otherwise(tool)
    return coauthors.list.eval(tool).list.drop_nulls().list.unique().list.sort()
