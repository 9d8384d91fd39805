"""What a GitHub repository name may be: ``owner/name`` (the one check, for --repo, presets and scenarios).

GitHub allows letters, digits, ``-``, ``_`` and ``.`` in both parts; a part
made of dots only (``.``, ``..``) is refused too, since the name becomes a
path in the raw cache (``data/raw/github/<owner>/<name>/``).
"""

from __future__ import annotations

import re

_PART = r"[A-Za-z0-9_.-]+"
REPO_PATTERN = re.compile(rf"^{_PART}/{_PART}$")


def repo_ok(name: str) -> bool:
    """True when ``name`` is ``owner/name`` and neither part is only dots."""
    return bool(REPO_PATTERN.match(name)) and all(part.strip(".") for part in name.split("/"))
