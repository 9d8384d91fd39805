"""The app as the source of truth: ask the app's own Django (in a subprocess) about its models and database.

``--app DIR`` names the app's checkout (the directory holding ``manage.py``).
Its interpreter (``--app-python``; default ``DIR/.venv/bin/python``, then
``python`` on PATH) runs :mod:`stages.load.appprobe` with the settings module
``manage.py`` names, and answers with JSON: per loaded table each model
field's column, default and nullability; the renames its migrations made;
``DATABASES['default']``; the migrations applied and not applied. Nothing of
the app is imported into demoseed's process, and the probe only reads.
``--migrate`` runs the app's own ``manage.py migrate`` the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.base.errors import UserError
from pipeline.base.manifest import migrations_text

from .drift import AppModels, ModelField

PROBE = Path(__file__).resolve().parent / "appprobe.py"
PROBE_TIMEOUT = 120.0  # seconds: django.setup() of a large app, one catalog read
MIGRATE_TIMEOUT = 1800.0
_SETTINGS = re.compile(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']""")


@dataclass(frozen=True)
class AppInfo:
    directory: Path
    python: str
    settings: str
    db_url: str | None
    vendor: str
    models: AppModels
    applied: dict[str, str] = field(default_factory=dict)  # app label -> latest applied migration
    unapplied: list[str] = field(default_factory=list)
    defined: dict[str, str] = field(default_factory=dict)  # app label -> latest migration in the app's code
    recorded: bool = False  # django_migrations exists: the app has migrated this database
    db_error: str | None = None

    def migrations_line(self) -> str:
        applied = migrations_text(self.applied)
        return f"app {self.directory} (Django settings {self.settings}): latest migrations applied {applied}"


def app_python(directory: Path, given: str | None) -> str:
    """The interpreter of the app's environment: ``given``, else DIR/.venv/bin/python, else ``python`` on PATH."""
    if given:
        # absolute (the app runs in DIR), not resolved: a venv's python is a symlink that must stay one
        found = (
            shutil.which(given) if os.sep not in given else (os.path.abspath(given) if Path(given).is_file() else None)
        )
        if not found:
            raise UserError(f"--app-python {given}: no such interpreter")
        return found
    venv = directory / ".venv" / "bin" / "python"
    if venv.is_file():
        return str(venv)
    found = shutil.which("python") or shutil.which("python3")
    if not found:
        raise UserError(
            f"no Python for the app: neither {venv} nor python on PATH; give --app-python (the app environment's)"
        )
    return found


def settings_module(directory: Path) -> str:
    """DJANGO_SETTINGS_MODULE as the app's manage.py sets it (the environment's value wins, as in manage.py)."""
    if not directory.is_dir():
        raise UserError(f"--app {directory}: no such directory; give the app's checkout (the directory with manage.py)")
    manage = directory / "manage.py"
    if not manage.is_file():
        raise UserError(
            f"--app {directory}: no manage.py there; give the app's checkout (the directory with manage.py)"
        )
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        return os.environ["DJANGO_SETTINGS_MODULE"]
    m = _SETTINGS.search(manage.read_text(encoding="utf-8", errors="replace"))
    if not m:
        raise UserError(f"{manage} sets no DJANGO_SETTINGS_MODULE; set it in the environment")
    return m.group(1)


def _run(directory: Path, python: str, args: list[str], timeout: float, what: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module(directory)}
    try:
        return subprocess.run(
            [python, *args], cwd=directory, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise UserError(f"{what} with {python} did not finish within {timeout:.0f} s") from None
    except OSError as exc:
        raise UserError(f"{what}: cannot run {python}: {exc.strerror or exc}") from None


def probe_app(directory: Path, python: str | None, tables: list[str], timeout: float = PROBE_TIMEOUT) -> AppInfo:
    """Ask the app's Django about ``tables`` (see the module doc); one-line UserError when it cannot answer."""
    directory = directory.resolve()
    settings = settings_module(directory)
    py = app_python(directory, python)
    done = _run(directory, py, [str(PROBE), *tables], timeout, "the app's Django")
    doc: dict[str, Any] = {}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if lines:
        try:
            doc = json.loads(lines[-1])
        except ValueError:
            doc = {}
    if done.returncode != 0 or "error" in doc or not doc:
        cause = doc.get("error") or _last_line(done.stderr) or f"exit status {done.returncode}"
        hint = "; give --app-python (the app environment's interpreter)" if "django" in cause.lower() else ""
        raise UserError(f"the app's Django ({settings}, {py}) did not start: {cause}{hint}")
    return _info(directory, py, settings, doc)


def _info(directory: Path, python: str, settings: str, doc: dict[str, Any]) -> AppInfo:
    tables = {
        t: {
            col: ModelField(
                col,
                bool(f["null"]),
                bool(f["has_default"]),
                f.get("default"),
                bool(f.get("db_default")),
                per_row=f.get("per_row"),
                callable=f.get("callable"),
                uuid=bool(f.get("uuid")),
            )
            for col, f in cols.items()
        }
        for t, cols in doc.get("tables", {}).items()
    }
    db = doc.get("database") or {}
    migrations = doc.get("migrations") or {}
    return AppInfo(
        directory=directory,
        python=python,
        settings=settings,
        db_url=db.get("url"),
        vendor=str(db.get("vendor") or ""),
        models=AppModels(tables, doc.get("renames") or {}),
        applied=dict(migrations.get("applied") or {}),
        unapplied=list(migrations.get("unapplied") or []),
        defined=dict(migrations.get("defined") or {}),
        recorded=bool(migrations.get("recorded")),
        db_error=migrations.get("error"),
    )


def migrate_app(directory: Path, python: str | None, timeout: float = MIGRATE_TIMEOUT) -> str:
    """Run the app's own ``manage.py migrate --noinput``; return its last output line."""
    directory = directory.resolve()
    py = app_python(directory, python)
    done = _run(directory, py, ["manage.py", "migrate", "--noinput"], timeout, "the app's manage.py migrate")
    if done.returncode != 0:
        raise UserError(f"the app's manage.py migrate failed: {_last_line(done.stderr) or _last_line(done.stdout)}")
    return _last_line(done.stdout)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""
