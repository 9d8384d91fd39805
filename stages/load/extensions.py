"""DuckDB connections with the postgres / sqlite extensions loaded from site-packages.

The extensions come from the pinned registry packages
``duckdb-extension-postgres-scanner`` / ``duckdb-extension-sqlite-scanner``,
which ship ``extensions/v<duckdb version>/<name>.duckdb_extension``. They are
LOADed by path; autoinstall and autoload are off, so nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

from pipeline.base.errors import UserError

_PACKAGES = {
    "postgres_scanner": ("duckdb_extension_postgres_scanner", "duckdb-extension-postgres-scanner"),
    "sqlite_scanner": ("duckdb_extension_sqlite_scanner", "duckdb-extension-sqlite-scanner"),
}


def extension_path(name: str) -> Path:
    """The extension file for the installed DuckDB; UserError naming the fix when absent or mismatched."""
    module, dist = _PACKAGES[name]
    version = duckdb.__version__
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the {dist} package is not installed; run 'make venv' (or pip install {dist}=={version})")
    root = Path(next(iter(spec.submodule_search_locations))) / "extensions"
    path = root / f"v{version}" / f"{name}.duckdb_extension"
    if not path.is_file():
        found = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
        have = f"it has {', '.join(found)}" if found else "it has no extension files"
        raise UserError(
            f"{dist} does not match DuckDB {version} ({have}); install {dist}=={version} so both versions agree"
        )
    return path


def connect(database: str = ":memory:", *, extensions: tuple[str, ...] = ()) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (UTC session time zone) with ``extensions`` loaded by path."""
    con = duckdb.connect(
        database,
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    try:
        con.execute("SET TimeZone = 'UTC'")
        for name in extensions:
            path = extension_path(name)
            con.execute(f"LOAD '{_sql_str(str(path))}'")
    except BaseException:
        con.close()
        raise
    return con


def _sql_str(text: str) -> str:
    return text.replace("'", "''")
