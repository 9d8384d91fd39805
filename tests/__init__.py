"""demoseed's tests (a package, so test modules import shared helpers as ``tests.<module>``)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

# What an outer make (e.g. `make test ARGS=...`) hands its recipes, and so the test run: its flags, its
# command-line variables and the DS_* it exports. A make started by a test must not inherit them.
OUTER_MAKE = frozenset(
    {
        "MAKEFLAGS",
        "MFLAGS",
        "MAKELEVEL",
        "ARGS",
        "SCENARIO",
        "SEED",
        "PROJECT",
        "SNAPSHOT",
        "DB_URL",
        "DEMOSEED_DB_URL",
        "APP",
        "DEMOSEED_APP",
        "REMOTE",
        "REF",
    }
)


def without_outer_make(environ: Mapping[str, str], *drop: str) -> dict[str, str]:
    """``environ`` less what an outer make hands down (:data:`OUTER_MAKE`, DS_*) and the names in ``drop``."""
    gone = OUTER_MAKE | set(drop)
    return {k: v for k, v in environ.items() if k not in gone and not k.startswith("DS_")}


def with_own_mounts(setup: str) -> list[str]:
    """A command prefix: ``setup`` (sh) runs in a user and mount namespace of the command's own (``unshare``,
    root there), then the command; mounts made by ``setup`` are seen by the command alone."""
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", f'{setup}\nexec "$@"', "sh"]


def own_mounts_allowed(setup: str) -> bool:
    """Whether :func:`with_own_mounts` with ``setup`` works here (unshare installed, namespaces allowed)."""
    if shutil.which("unshare") is None:
        return False
    return subprocess.run([*with_own_mounts(setup), "true"], capture_output=True, check=False).returncode == 0
