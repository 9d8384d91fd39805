"""Where the GitHub token comes from, and keeping it out of every output.

The token is read from ``GITHUB_TOKEN`` or, when the ``gh`` CLI is on PATH,
from ``gh auth token`` (short timeout). It lives only in memory: the
transport sends it in the ``Authorization`` header and :func:`mask` removes
it from any text that could reach a log, an error message or a file.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Mapping

log = logging.getLogger(__name__)


def resolve_token(env: Mapping[str, str] | None = None, *, use_gh: bool = True, timeout: float = 3.0) -> str | None:
    """The token to use, or None (the fetcher then falls back to REST)."""
    environ = os.environ if env is None else env
    token = (environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN") or "").strip()
    if token:
        return token
    if not use_gh or shutil.which("gh") is None:
        return None
    try:
        out = subprocess.run(["gh", "auth", "token"], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("gh auth token failed: %s", type(exc).__name__)
        return None
    token = out.stdout.strip() if out.returncode == 0 else ""
    return token or None


def mask(text: str, token: str | None) -> str:
    """``text`` with every occurrence of the token replaced by ``***``."""
    if token and token in text:
        return text.replace(token, "***")
    return text


class MaskingFilter(logging.Filter):
    """A logging filter that masks the token in every record's final message."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token:
            msg = record.getMessage()
            if self.token in msg:
                record.msg = mask(msg, self.token)
                record.args = None
        return True
