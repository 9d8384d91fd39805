"""Where a command may write: its own earlier output of the same kind, a new or an empty directory.

A writer replaces its output directory whole (atomically), so before any
work it checks the target: a file, the current directory (or one holding
it) and any non-empty directory that is not this command's own output (a
snapshot is recognised by its manifest, a generate output by ``info.json``,
a normalize output by ``meta.json``) are refused in one line and nothing is
touched. An own earlier output given with ``-o`` is replaced only with
``--force``; the default locations under ``$DEMOSEED_DATA`` hold one output
per request, so the command replaces its own output there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline import paths
from pipeline.base.errors import UserError


def _json_keys(path: Path) -> set[str]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return set(doc) if isinstance(doc, dict) else set()


@dataclass(frozen=True)
class OutputKind:
    """One kind of output directory and how to recognise it."""

    name: str  # "a snapshot"
    is_own: Callable[[Path], bool]


SNAPSHOT = OutputKind("a snapshot", lambda d: {"format_version", "tool", "tables"} <= _json_keys(d / "manifest.json"))
GENERATE_OUTPUT = OutputKind(
    "a generate output", lambda d: {"mode", "week_starts", "seed"} <= _json_keys(d / "info.json")
)
NORMALIZE_OUTPUT = OutputKind("a normalize output", lambda d: {"tables", "meta"} <= _json_keys(d / "meta.json"))


def check_output(directory: Path, kind: OutputKind, *, explicit: bool, flag: str = "-o") -> bool:
    """Refuse a target this command may not replace; True when it holds an own earlier output.

    ``explicit``: the user named the directory (``-o``), which only changes
    how the message names it (see :func:`check_replace` for ``--force``).
    """
    shown = f"{flag} {directory}" if explicit else str(directory)
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{shown} is a file, not a directory; give a new or empty directory")
    if problem := paths.write_problem(directory):
        raise UserError(f"{shown}: {problem}; give a folder you can write to")
    resolved = directory.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise UserError(f"{shown} is the current directory (or holds it); give a new directory, e.g. {flag} out")
    if not directory.is_dir() or not any(directory.iterdir()):
        return False
    if not kind.is_own(directory):
        raise UserError(
            f"{shown} is not empty and not {kind.name} written by demoseed; nothing was changed "
            "(give a new or empty directory)"
        )
    return True


def check_replace(directory: Path, kind: OutputKind, *, explicit: bool, force: bool, flag: str = "-o") -> None:
    """:func:`check_output`, and an own earlier output named with ``-o`` needs ``--force``."""
    own = check_output(directory, kind, explicit=explicit, flag=flag)
    if own and explicit and not force:
        raise UserError(
            f"{flag} {directory} holds an earlier {kind.name.removeprefix('a ')}; add --force to replace it"
        )
