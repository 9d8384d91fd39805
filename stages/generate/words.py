"""Vendored word and name lists (no Faker: its output changes between releases).

The lists live in ``words/*.txt`` (one entry a line) and are loaded once as
pyarrow string arrays so whole columns can be built with ``take``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.base.filecategory import file_category


@cache
def words(name: str) -> tuple[str, ...]:
    text = resources.files("stages.generate").joinpath("words").joinpath(f"{name}.txt").read_text("utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@cache
def word_array(name: str) -> pa.Array:
    return pa.array(words(name), type=pa.string())


def take(name: str, idx: np.ndarray) -> pa.Array:
    """Entries of a list by (wrapped) index, as a string column."""
    arr = word_array(name)
    return arr.take(pa.array(np.mod(np.asarray(idx, np.int64), len(arr))))


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))


@cache
def catalog_paths() -> pa.Array:
    """The synthetic file-path catalog; its length is prime (for stride walks)."""
    comps, mods = words("components"), words("modules")
    paths: list[str] = []
    for c in comps:
        for m in mods:
            paths.append(f"src/{c}/{m}.py")
            paths.append(f"tests/{c}/test_{m}.py")
            paths.append(f"web/src/{c}/{m.title().replace('_', '')}.tsx")
        paths.append(f"docs/{c}.md")
        for i, m in enumerate(mods[:3]):
            paths.append(f"src/{c}/migrations/{i + 1:04d}_{m}.py")
    paths += [
        ".github/workflows/ci.yml",
        "pyproject.toml",
        "package.json",
        "Dockerfile",
        "docker-compose.yml",
        ".pre-commit-config.yaml",
        "Makefile",
        "web/tsconfig.json",
    ]
    n = len(paths)
    while not _is_prime(n):
        n -= 1
    return pa.array(paths[:n], pa.string())


_catalog_categories: list[str | None] = []  # by catalog index, filled as entries are first used


def catalog_categories(idx: np.ndarray) -> pa.Array:
    """The category of catalog entries ``idx`` (the app's, :mod:`pipeline.base.filecategory`).

    Each entry is classified when a run first uses it (a small run uses a few hundred of the
    catalog's paths), then remembered for the rest of the process.
    """
    paths = catalog_paths()
    if not _catalog_categories:
        _catalog_categories.extend([None] * len(paths))
    idx = np.asarray(idx, np.int64)
    missing = np.array([i for i in np.unique(idx).tolist() if _catalog_categories[i] is None], np.int64)
    if len(missing):
        frame = pl.DataFrame({"path": paths.take(pa.array(missing)).to_pylist()}, schema={"path": pl.String})
        found = frame.select(file_category(pl.col("path"))).to_series().to_list()
        for i, category in zip(missing.tolist(), found, strict=True):
            _catalog_categories[i] = category
    return pa.array(_catalog_categories, pa.string()).take(pa.array(idx))


def path_catalog() -> tuple[pa.Array, pa.Array]:
    """(path, category) of the whole synthetic file-path catalog."""
    paths = catalog_paths()
    return paths, catalog_categories(np.arange(len(paths)))
