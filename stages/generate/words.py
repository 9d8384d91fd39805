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
def path_catalog() -> tuple[pa.Array, pa.Array]:
    """(path, category) of the synthetic file-path catalog; its length is prime (for stride walks).

    The categories are the app's (:mod:`pipeline.base.filecategory`), the same as for real paths.
    """
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
    catalog = pl.DataFrame({"path": paths[:n]}, schema={"path": pl.String})
    categories = catalog.select(file_category(pl.col("path"))).to_series()
    return pa.array(paths[:n], pa.string()), categories.to_arrow().cast(pa.string())
