"""Real-share blending: a keyed ~25 % of PRs take metadata from real GitHub PRs.

Which PRs are "real slots" is a keyed quota per team, decided whether or not
real data exists, and the real fields are laid over a fully drawn synthetic
PR afterwards, so every other row is byte-identical with and without real
data. Taken from the real PR: title, additions/deletions, labels, milestone,
assignees, linked issues, draft flag (open PRs only), file paths (with their
line counts, status and the app's category, ``gh_files.file_category`` from
normalize) and commit count. Everything else (author, times, state, reviews,
commit content, surveys, AI) stays simulated and the provenance table says so
(in the app's column names, :mod:`stages.generate.provenance`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.base.rng import Key
from pipeline.base.schemas import GH_FILES
from stages.generate.draws import int_between, rank_within, systematic
from stages.generate.synthetic.commits_files import MAX_CHILDREN

# Provenance (the app's names, see provenance.py): what a blended PR takes from its real PR. The number
# of its commits follows the real PR too, but their content is simulated (metrics_commit is simulated).
REAL_FIELDS = (
    "title",
    "additions",
    "deletions",
    "labels",
    "milestone_title",
    "assignees",
    "linked_issues",
    "is_draft",
    "metrics_prfile",
)
UNTOUCHED_FIELDS = ("has_ai_review", "has_ai_files")  # False in scenario mode, as the app's sync leaves them


@dataclass
class RealPool:
    """Real PRs usable for blending, sorted by (repo, number)."""

    repo: pa.Array
    number: np.ndarray
    title: pa.Array
    additions: np.ndarray
    deletions: np.ndarray
    labels: pa.Array  # JSON text
    milestone: pa.Array
    assignees: pa.Array  # JSON text
    linked: pa.Array  # JSON text
    draft: np.ndarray
    commits: np.ndarray
    n_files: np.ndarray  # files per real PR (capped at MAX_CHILDREN)
    file_start: np.ndarray  # offset of each real PR's first file in the flat file columns
    file_path: pa.Array
    file_status: pa.Array
    file_category: pa.Array
    file_additions: np.ndarray
    file_deletions: np.ndarray

    @property
    def size(self) -> int:
        return len(self.number)


_PY_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())  # what str.strip() strips
_STATUS = {"added": "added", "removed": "removed", "deleted": "removed", "renamed": "renamed"}


def _json_list(col: pl.Expr, *, strings: bool) -> pl.Expr:
    """A list column as JSON text, ``[a, b]`` with ``", "`` between items (``[]`` for null or empty)."""
    if strings:  # each item JSON-quoted and escaped (struct encoding of {"x": item}, minus the wrapper)
        item = pl.struct(pl.element().alias("x")).struct.json_encode().str.slice(5).str.head(-1)
    else:
        item = pl.element().cast(pl.String)
    return pl.concat_str(pl.lit("["), col.fill_null([]).list.eval(item).list.join(", "), pl.lit("]"))


def _arrow(s: pl.Series) -> pa.Array:
    return s.to_arrow().cast(pa.string())


def _frame(table: pa.Table) -> pl.DataFrame:
    df = pl.from_arrow(table)
    assert isinstance(df, pl.DataFrame)
    return df


def real_pool(real: dict[str, pa.Table] | None) -> tuple[RealPool | None, str]:
    """The pool of real PRs, or (None, reason) when there is nothing to blend."""
    if not real or "gh_pull_requests" not in real:
        return None, "no real GitHub data (no normalized gh_pull_requests table)"
    if real["gh_pull_requests"].num_rows == 0:
        return None, "the normalized gh_pull_requests table is empty"
    prs = _frame(real["gh_pull_requests"])
    humans = prs.filter(~pl.col("author_is_bot").fill_null(False))
    if humans.height:
        prs = humans
    prs = prs.sort("repo", "number", maintain_order=True).with_row_index("_pr")
    title = pl.col("title").fill_null("").str.strip_chars(_PY_WHITESPACE)
    d = prs.select(
        title=pl.when(title == "").then(pl.lit("Untitled change")).otherwise(title),
        additions=pl.col("additions").fill_null(0).clip(0, 2_000_000_000),
        deletions=pl.col("deletions").fill_null(0).clip(0, 2_000_000_000),
        labels=_json_list(pl.col("labels"), strings=True),
        milestone=pl.col("milestone_title").fill_null("").str.slice(0, 255),
        assignees=_json_list(pl.col("assignees"), strings=True),
        linked=_json_list(pl.col("linked_issues"), strings=False),
        draft=pl.col("is_draft").fill_null(False),
        commits=pl.col("commit_count").fill_null(0).clip(1, MAX_CHILDREN),
    )
    files = _pool_files(prs, real.get("gh_files"))
    n_files = np.bincount(files["_pr"].to_numpy(), minlength=prs.height).astype(np.int64)
    return (
        RealPool(
            repo=_arrow(prs["repo"]),
            number=prs["number"].to_numpy().astype(np.int64),
            title=_arrow(d["title"]),
            additions=d["additions"].to_numpy().astype(np.int64),
            deletions=d["deletions"].to_numpy().astype(np.int64),
            labels=_arrow(d["labels"]),
            milestone=_arrow(d["milestone"]),
            assignees=_arrow(d["assignees"]),
            linked=_arrow(d["linked"]),
            draft=d["draft"].to_numpy(),
            commits=d["commits"].to_numpy().astype(np.int64),
            n_files=n_files,
            file_start=np.cumsum(n_files) - n_files,
            file_path=_arrow(files["path"]),
            file_status=_arrow(files["status"]),
            file_category=_arrow(files["category"]),
            file_additions=files["additions"].to_numpy().astype(np.int64),
            file_deletions=files["deletions"].to_numpy().astype(np.int64),
        ),
        "",
    )


def _pool_files(prs: pl.DataFrame, gh_files: pa.Table | None) -> pl.DataFrame:
    """The files of the pool's PRs (``_pr`` = pool index) in (PR, path) order: paths up to
    500 characters, the first MAX_CHILDREN of each PR."""
    files = (
        _frame(GH_FILES.schema.empty_table() if gh_files is None else gh_files)
        .filter(pl.col("path").str.len_chars() <= 500)
        .sort("repo", "number", "path", maintain_order=True)
        .filter(pl.int_range(pl.len()).over("repo", "number") < MAX_CHILDREN)
    )
    return (
        prs.select("_pr", "repo", "number")
        .join(files, on=["repo", "number"], how="inner")
        .sort("_pr", "path", maintain_order=True)
        .select(
            pl.col("_pr").cast(pl.Int64),
            "path",
            status=pl.col("status").fill_null("").str.to_lowercase().replace_strict(_STATUS, default="modified"),
            additions=pl.col("additions").fill_null(0),
            deletions=pl.col("deletions").fill_null(0),
            category="file_category",  # the app's category, computed by normalize
        )
    )


@dataclass(frozen=True)
class Blend:
    """Which PRs take a real PR's metadata: ``src`` is the pool index per PR, -1 for synthetic ones."""

    pool: RealPool | None
    src: np.ndarray
    reason: str  # why there is no pool ('' when there is one)

    @property
    def blended(self) -> np.ndarray:
        return self.src >= 0


def plan(real: dict[str, pa.Table] | None, share: float, team: np.ndarray, pr_key: np.ndarray, k: Key) -> Blend:
    """The real PRs to blend in and which PR slots take them (a keyed quota per team)."""
    if share <= 0:
        return Blend(None, np.full(len(pr_key), -1, np.int64), "real share set to 0")
    pool, reason = real_pool(real)
    if pool is None:
        return Blend(None, np.full(len(pr_key), -1, np.int64), reason)
    slots = choose_slots(team, pr_key, share, k)
    return Blend(pool, assign_sources(team, pr_key, slots, pool.size, k), "")


def choose_slots(team: np.ndarray, pr_key: np.ndarray, share: float, k: Key) -> np.ndarray:
    """Which PRs take real metadata: a keyed quota of ``share`` per team (independent of the data)."""
    return systematic(np.full(len(pr_key), float(share)), team, pr_key, *k, "real-slot")


def assign_sources(team: np.ndarray, pr_key: np.ndarray, slots: np.ndarray, pool_size: int, k: Key) -> np.ndarray:
    """Pool index per slot PR (-1 elsewhere): distinct within a team while the pool lasts."""
    rank, _ = rank_within(np.where(slots, team, -1), pr_key)
    teams = np.arange(team.max(initial=-1) + 1)
    steps = np.array([s for s in range(1, max(pool_size, 2)) if math.gcd(s, pool_size) == 1] or [1])
    base = int_between(teams, 0, max(pool_size - 1, 0), *k, "real-base")
    step = steps[int_between(teams, 0, len(steps) - 1, *k, "real-step")]
    idx = (base[team] + rank * step[team]) % max(pool_size, 1)
    return np.where(slots, idx, -1)


def real_file_columns(pool: RealPool, src: np.ndarray, rows: np.ndarray, pr_id: np.ndarray) -> dict[str, object]:
    """File rows of the blended PRs (``rows`` index the PR arrays, ``src`` their pool index)."""
    counts = pool.n_files[src]
    parent_local = np.repeat(np.arange(len(rows)), counts)
    j = np.arange(len(parent_local)) - np.repeat(np.cumsum(counts) - counts, counts)
    flat = pa.array(pool.file_start[src][parent_local] + j)
    parent = rows[parent_local]
    return {
        "id": pr_id[parent] * MAX_CHILDREN + j,
        "pull_request_id": pr_id[parent],
        "parent": parent,
        "filename": pool.file_path.take(flat),
        "status": pool.file_status.take(flat),
        "additions": np.minimum(pool.file_additions[flat.to_numpy()], 2_000_000_000),
        "deletions": np.minimum(pool.file_deletions[flat.to_numpy()], 2_000_000_000),
        "file_category": pool.file_category.take(flat),
    }
