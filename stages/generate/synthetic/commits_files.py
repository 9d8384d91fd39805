"""Commits and files of PRs (metrics_commit, metrics_prfile).

Child ids derive from the PR id (``pr_id * 100 + j``), so a PR whose commit or
file count changes (a real-blended PR) shifts no other row. Commit times lie
strictly between the PR's creation and its merge/close (or the window end
for open PRs); line counts add up to the PR's totals.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.base.parquet import conform
from pipeline.base.rng import Key, keyed_uniform
from pipeline.base.schemas import spec
from stages.generate.draws import US_PER_HOUR, categorical, hex_strings, int_between, pick, ts_array
from stages.generate.words import catalog_categories, catalog_paths

MAX_CHILDREN = 100
COMMIT_MESSAGES = np.array(
    [
        "Address review comments",
        "Fix tests",
        "Apply suggestions from code review",
        "Update docs",
        "Fix lint",
        "Refactor for readability",
        "Add missing type hints",
        "Handle edge case",
    ],
    dtype=object,
)
CO_AUTHORS = np.array(
    [
        '["Claude <noreply@anthropic.com>"]',
        '["Copilot <copilot@github.com>"]',
        '["Cursor Agent <cursoragent@cursor.com>"]',
    ],
    dtype=object,
)
FILE_STATUS = np.array(["modified", "added", "removed", "renamed"], dtype=object)


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(parent row, index within parent) for ``counts[i]`` children of each parent."""
    counts = np.asarray(counts, np.int64)
    parent = np.repeat(np.arange(len(counts)), counts)
    j = np.arange(len(parent)) - np.repeat(np.cumsum(counts) - counts, counts)
    return parent, j


def split_total(total: np.ndarray, parent: np.ndarray, keys: np.ndarray, *parts: object) -> np.ndarray:
    """Split each parent's total over its children with keyed weights; exact sums."""
    wgt = 0.2 + keyed_uniform(keys, *parts)
    wsum = np.bincount(parent, weights=wgt, minlength=len(total))
    val: np.ndarray = np.floor(total[parent] * wgt / wsum[parent]).astype(np.int64)
    short = total - np.bincount(parent, weights=val, minlength=len(total)).astype(np.int64)
    firsts = np.flatnonzero(np.r_[True, parent[1:] != parent[:-1]]) if len(parent) else np.zeros(0, np.int64)
    val[firsts] += short[parent[firsts]]
    return val


def commit_counts(pr_key: np.ndarray, additions: np.ndarray, k: Key) -> np.ndarray:
    base = int_between(pr_key, 1, 4, *k, "commits")
    return np.asarray(np.minimum(base + (additions > 300) + (additions > 1000) * 2, MAX_CHILDREN))


def build_commits(
    *,
    pr_id: np.ndarray,
    team_id: np.ndarray,
    author_id: np.ndarray,
    repo: pa.Array,
    title: pa.Array,
    created: np.ndarray,
    last: np.ndarray,
    first_review: np.ndarray,
    additions: np.ndarray,
    deletions: np.ndarray,
    ai: np.ndarray,
    counts: np.ndarray,
    k: Key,
) -> tuple[pa.Table, np.ndarray]:
    """The commits; also returns commits after the first review per PR."""
    parent, j = expand(counts)
    cid = pr_id[parent] * MAX_CHILDREN + j
    c = counts[parent]
    frac = (j + 0.1 + 0.8 * keyed_uniform(cid, *k, "commit-at")) / c
    span = np.maximum(last[parent] - created[parent], 2_000_000)
    at = created[parent] + 1_000_000 + ((span - 2_000_000) * frac).astype(np.int64)
    msg_idx = int_between(cid, 0, len(COMMIT_MESSAGES) - 1, *k, "commit-msg")
    message = pc.if_else(pa.array(j == 0), title.take(pa.array(parent)), pick(COMMIT_MESSAGES, msg_idx))
    is_ai = ai[parent] & (keyed_uniform(cid, *k, "commit-ai") < 0.7)
    co = pick(("[]", *CO_AUTHORS), np.where(is_ai, 1 + int_between(pr_id[parent], 0, 2, *k, "co-author"), 0))
    after = np.zeros(len(pr_id), np.int64)
    fr = first_review[parent]
    np.add.at(after, parent[(fr > 0) & (at > fr)], 1)
    table = conform(
        pa.table(
            {
                "id": cid,
                "created_at": (_ts0 := ts_array(at)),
                "updated_at": _ts0,
                "team_id": team_id[parent],
                "github_sha": hex_strings(cid, 40, *k, "sha"),
                "github_repo": repo.take(pa.array(parent)),
                "author_id": author_id[parent],
                "message": message,
                "committed_at": _ts0,
                "additions": split_total(additions, parent, cid, *k, "commit-adds").astype(np.int32),
                "deletions": split_total(deletions, parent, cid, *k, "commit-dels").astype(np.int32),
                "pull_request_id": pr_id[parent],
                "is_ai_assisted": is_ai,
                "ai_co_authors": co,
            }
        ),
        spec("metrics_commit"),
    )
    return table, after


def file_counts(pr_key: np.ndarray, additions: np.ndarray, k: Key) -> np.ndarray:
    extra = np.frexp((1 + additions // 60).astype(np.float64))[1].astype(np.int64) - 1  # floor(log2), exact
    return np.asarray(np.minimum(1 + extra + int_between(pr_key, 0, 2, *k, "files"), 30))


def synthetic_files(
    pr_id: np.ndarray, pr_key: np.ndarray, counts: np.ndarray, additions: np.ndarray, deletions: np.ndarray, k: Key
) -> dict[str, object]:
    """Columns of synthetic file rows: distinct catalog paths per PR (prime-stride walk)."""
    paths = catalog_paths()
    n_cat = len(paths)
    parent, j = expand(counts)
    fid = pr_id[parent] * MAX_CHILDREN + j
    base = int_between(pr_key, 0, n_cat - 1, *k, "path-base")
    step = int_between(pr_key, 1, n_cat - 1, *k, "path-step")
    idx = (base[parent] + j * step[parent]) % n_cat
    status = categorical(keyed_uniform(fid, *k, "file-status"), np.array([0.72, 0.18, 0.05, 0.05]))
    adds = split_total(additions, parent, fid, *k, "file-adds")
    dels = split_total(deletions, parent, fid, *k, "file-dels")
    adds = np.where(status == 2, 0, adds)
    dels = np.where(status == 1, 0, dels)
    return {
        "id": fid,
        "pull_request_id": pr_id[parent],
        "parent": parent,
        "filename": paths.take(pa.array(idx)),
        "status": pick(FILE_STATUS, status),
        "additions": adds,
        "deletions": dels,
        "file_category": catalog_categories(idx),
    }


def files_table(cols: dict[str, object], team_id: np.ndarray, created: np.ndarray) -> pa.Table:
    parent = np.asarray(cols["parent"])
    adds = np.asarray(cols["additions"], np.int64)
    dels = np.asarray(cols["deletions"], np.int64)
    at = created[parent] + US_PER_HOUR // 60
    return conform(
        pa.table(
            {
                "id": cols["id"],
                "created_at": (_ts1 := ts_array(at)),
                "updated_at": _ts1,
                "team_id": team_id[parent],
                "pull_request_id": cols["pull_request_id"],
                "filename": cols["filename"],
                "status": cols["status"],
                "additions": adds.astype(np.int32),
                "deletions": dels.astype(np.int32),
                "changes": (adds + dels).astype(np.int32),
                "file_category": cols["file_category"],
            }
        ),
        spec("metrics_prfile"),
    )
