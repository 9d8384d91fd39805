"""Settings of the test Django project: the database comes from DJANGOAPP_DATABASE_URL.

postgresql://user@host:port/name or sqlite:////absolute/path.db (the default:
an SQLite file next to manage.py). Nothing else is configured: two apps,
``teams`` and ``metrics``, whose tables are the ones demoseed loads.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-only"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["teams", "metrics"]


def _database(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    if parts.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or 5432),
        }
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url.split("://", 1)[1][1:]}
    raise ValueError(f"DJANGOAPP_DATABASE_URL: unsupported scheme in {url!r}")


DATABASES = {"default": _database(os.environ.get("DJANGOAPP_DATABASE_URL", f"sqlite:///{BASE_DIR / 'app.sqlite3'}"))}
