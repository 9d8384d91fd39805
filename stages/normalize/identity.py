"""Who is a bot, who is a deleted user, and what names an AI tool.

* Deleted GitHub accounts show up as a null actor or as the placeholder
  login ``ghost``. Both become a null login (and null id) everywhere, so a
  deleted user is never counted, ranked or turned into a team member.
* A bot is a login ending in ``[bot]`` (REST, GitHub Apps) or a known bot
  account; GraphQL reports app bots *without* the suffix (``dependabot``), so
  the known list holds the bare names. Matching is case-insensitive.
* AI tools are recognised from the ``Co-authored-by:`` trailers of commit
  messages (name or e-mail) and from commit authors that are AI agents
  (``gh_commits.ai_tools``, ``ai_co_authors``); AI review bots mark reviews
  (``gh_reviews.reviewer_is_ai_bot``); AI instruction files (``CLAUDE.md``,
  ``.cursorrules``, ...) mark files (``gh_files.is_ai_config``). Generate reads
  these columns; it never recognises anything itself.
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


# Commit authors that are AI agents (bare login -> tool).
AI_AGENT_BOTS: dict[str, str] = {
    "devin-ai-integration": "devin",
    "copilot-swe-agent": "copilot",
    "copilot": "copilot",
    "google-labs-jules": "jules",
    "claude": "claude",
    "cursor": "cursor",
    "cursoragent": "cursor",
}

# Paths of AI assistants' instruction files.
AI_CONFIG_FILE = (
    r"(?i)(^|/)(CLAUDE\.md|AGENTS\.md|GEMINI\.md|\.cursorrules|\.windsurfrules|copilot-instructions\.md)$"
    r"|(^|/)\.(cursor|claude|aider[^/]*)/"
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


def _ai_tool(text: pl.Expr) -> pl.Expr:
    """The AI tool a ``Name <email>`` co-author names (first matching fragment), or null."""
    low = text.str.to_lowercase()
    tool = pl.lit(None, dtype=pl.String)
    for fragment, name in reversed(AI_COAUTHOR_TOOLS):
        tool = pl.when(low.str.contains(fragment, literal=True)).then(pl.lit(name)).otherwise(tool)
    return tool


def commit_ai_tools(co_authors: pl.Expr, author_login: pl.Expr) -> pl.Expr:
    """Per commit, the sorted distinct AI tools named by its co-authors or by its (AI agent) author."""
    agent = bare_login(author_login).replace_strict(AI_AGENT_BOTS, default=None)
    tools = pl.concat_list(
        co_authors.list.eval(_ai_tool(pl.element())).list.drop_nulls(),
        pl.when(agent.is_not_null()).then(pl.concat_list(agent)).otherwise(pl.lit([], dtype=pl.List(pl.String))),
    )
    return tools.list.unique().list.sort()


def ai_co_authors(co_authors: pl.Expr) -> pl.Expr:
    """The co-authors that are AI tools, as names (e-mail dropped), in trailer order."""
    name = pl.element().str.replace(r"\s*<[^>]*>\s*$", "")
    return co_authors.list.eval(pl.when(_ai_tool(pl.element()).is_not_null()).then(name)).list.drop_nulls()


def is_ai_config(path: pl.Expr) -> pl.Expr:
    """Whether a path is an AI assistant's instruction file (``CLAUDE.md``, ``.cursor/rules``, ...)."""
    return path.str.contains(AI_CONFIG_FILE)
