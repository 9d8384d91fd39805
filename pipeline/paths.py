"""Where data lives, and the environment the tool reads.

Everything is relative to the data root, ``$DEMOSEED_DATA`` or ``./data``:

    data/raw/github/<owner>/<repo>/   fetch output (raw PR nodes + state.json)
    data/work/<stage>/<key>/          intermediate stage outputs, keyed by inputs
    data/snapshots/<name>/            snapshots (Parquet + manifest.json)
    data/app.duckdb                   the embedded default load target
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from pipeline.base.errors import UserError

DEFAULT_ANCHOR = dt.date(2026, 1, 5)  # a fixed Monday: the week the default data ends in (never "today")


DATA_ENV = "DEMOSEED_DATA"


def data_root() -> Path:
    """``$DEMOSEED_DATA`` or ``./data``; a data root that is a file is refused before anything uses it."""
    root = Path(os.environ.get(DATA_ENV) or "data")
    if root.exists() and not root.is_dir():
        raise UserError(f"{DATA_ENV}={root} is a file, not a folder; point {DATA_ENV} at a folder (made when missing)")
    return root


def write_problem(target: Path) -> str | None:
    """Why ``target`` (a file or directory to be made or replaced, atomically: through a sibling) cannot
    be written, or None.

    The nearest existing folder on its way must be a folder this process can
    create files in: a file is probed there (made and removed at once), which
    answers for read-only folders and file systems, ``/proc`` and the like
    whoever runs the tool (root included), before any work is done."""
    import tempfile  # here: every command imports this module, few of them write

    probe = target.parent if target.exists() or target.is_symlink() else target
    while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is a file, not a folder"
    try:
        fd, name = tempfile.mkstemp(prefix=".demoseed-probe-", dir=probe)
    except OSError as exc:
        return f"cannot write in {probe} ({exc.strerror or exc})"
    os.close(fd)
    os.unlink(name)
    return None


def raw_dir() -> Path:
    return data_root() / "raw"


def raw_github_dir() -> Path:
    return raw_dir() / "github"


def work_dir() -> Path:
    return data_root() / "work"


def snapshots_dir() -> Path:
    return data_root() / "snapshots"


def default_db_path() -> Path:
    return data_root() / "app.duckdb"


def github_api_url() -> str:
    return os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
