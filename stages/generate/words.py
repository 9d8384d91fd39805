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
    """(path, category) of the synthetic file-path catalog; its length is prime (for stride walks)."""
    comps, mods = words("components"), words("modules")
    paths: list[tuple[str, str]] = []
    for c in comps:
        for m in mods:
            paths.append((f"src/{c}/{m}.py", "backend"))
            paths.append((f"tests/{c}/test_{m}.py", "test"))
            paths.append((f"web/src/{c}/{m.title().replace('_', '')}.tsx", "frontend"))
        paths.append((f"docs/{c}.md", "docs"))
        for i, m in enumerate(mods[:3]):
            paths.append((f"src/{c}/migrations/{i + 1:04d}_{m}.py", "migration"))
    paths += [
        (p, "config")
        for p in (
            ".github/workflows/ci.yml",
            "pyproject.toml",
            "package.json",
            "Dockerfile",
            "docker-compose.yml",
            ".pre-commit-config.yaml",
            "Makefile",
            "web/tsconfig.json",
        )
    ]
    n = len(paths)
    while not _is_prime(n):
        n -= 1
    paths = paths[:n]
    return pa.array([p for p, _ in paths]), pa.array([c for _, c in paths])


_CATEGORY_RULES = (
    ("migration", r"(^|/)migrations?/"),
    ("test", r"(^|/)(tests?|__tests__|spec)/|(^|/)test_[^/]*$|_test\.[a-z]+$|\.(test|spec)\.[a-z]+$"),
    ("docs", r"(^|/)docs?/|\.(md|rst|txt|adoc)$"),
    ("config", r"(^|/)(Dockerfile|Makefile|\.github/.*)$|\.(ya?ml|toml|json|cfg|ini|lock|env)$"),
    ("frontend", r"\.(tsx?|jsx?|css|scss|html|vue|svelte)$"),
    ("backend", r"\.(py|go|rb|java|kt|rs|php|cs|ex|exs|sql|c|cc|cpp|h)$"),
)


def file_category(path: pl.Expr) -> pl.Expr:
    """Category of real file paths by the same rules as the synthetic catalog ('other' when none fits)."""
    out = pl.lit("other")
    for cat, rx in reversed(_CATEGORY_RULES):
        out = pl.when(path.str.contains(rx)).then(pl.lit(cat)).otherwise(out)
    return out
