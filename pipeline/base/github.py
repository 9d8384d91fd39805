"""What every part that names GitHub repositories or fetches from GitHub agrees on.

* :func:`is_repo_name` / :func:`check_repo_name`: a repository as ``owner/name``
  (GitHub's characters: letters, digits, ``-``, ``_``, ``.``), the one rule
  for ``--repo``, a preset's repos, a scenario's ``source_repos`` and the fetch
  stage;
* :data:`FETCH_CONCURRENCY` and :data:`FETCH_MAX_WAIT`: the fetch defaults
  (requests in flight at once; seconds of rate-limit waiting before a run
  stops cleanly), the same for ``demoseed fetch``, ``demoseed snapshot`` and
  the stage's own entry points.
"""

from __future__ import annotations

import re

from pipeline.base.errors import UserError

REPO_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
FETCH_CONCURRENCY = 8
FETCH_MAX_WAIT = 600


def is_repo_name(value: object) -> bool:
    """Whether ``value`` is a repository as ``owner/name``."""
    return isinstance(value, str) and REPO_NAME.fullmatch(value) is not None


def check_repo_name(value: str, flag: str = "--repo") -> str:
    """``value`` when it is ``owner/name``; a UserError naming ``flag`` otherwise."""
    if not is_repo_name(value):
        raise UserError(f"{flag} {value!r} is not owner/name; write it like pallets/flask")
    return value
