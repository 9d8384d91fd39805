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

DEFAULT_ANCHOR = dt.date(2026, 1, 5)  # a fixed Monday: the week the default data ends in (never "today")


def data_root() -> Path:
    return Path(os.environ.get("DEMOSEED_DATA", "data"))


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
