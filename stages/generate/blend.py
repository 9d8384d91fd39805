"""Real-share blending: a keyed ~25 % of PRs take metadata from real GitHub PRs.

Which PRs are "real slots" is a keyed quota per team, decided whether or not
real data exists, and the real fields are laid over a fully drawn synthetic
PR afterwards, so every other row is byte-identical with and without real
data. Taken from the real PR: title, additions/deletions, labels, milestone,
assignees, linked issues, draft flag (open PRs only), file paths (with their
line counts and status) and commit count. Everything else (author, times,
state, reviews, surveys, AI) stays simulated and the provenance table says so.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stages.generate.children import MAX_CHILDREN
from stages.generate.draws import int_between, rank_within, systematic
from stages.generate.words import file_category

REAL_FIELDS = (
    "title",
    "additions",
    "deletions",
    "labels",
    "milestone_title",
    "assignees",
    "linked_issues",
    "is_draft",
    "files",
    "commit_count",
)
SIMULATED_FIELDS = ("author", "timestamps", "state", "reviews", "commits_content", "surveys", "ai", "jira", "ci")


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


def _dump(values: list) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(", ", ": ")) if values else "[]"


def real_pool(real: dict[str, pa.Table] | None) -> tuple[RealPool | None, str]:
    """The pool of real PRs, or (None, reason) when there is nothing to blend."""
    if not real or "gh_pull_requests" not in real:
        return None, "no real GitHub data (no normalized gh_pull_requests table)"
    prs = real["gh_pull_requests"]
    if prs.num_rows == 0:
        return None, "the normalized gh_pull_requests table is empty"
    humans = prs.filter(pc.invert(pc.fill_null(prs.column("author_is_bot"), False)))
    if humans.num_rows:
        prs = humans
    prs = prs.sort_by([("repo", "ascending"), ("number", "ascending")])
    d = prs.select(
        [
            "repo",
            "number",
            "title",
            "additions",
            "deletions",
            "labels",
            "milestone_title",
            "assignees",
            "linked_issues",
            "is_draft",
            "commit_count",
        ]
    ).to_pydict()
    files: dict[tuple[str, int], list[tuple[str, str, int, int]]] = {}
    gh_files = real.get("gh_files")
    if gh_files is not None and gh_files.num_rows:
        f = gh_files.sort_by([("repo", "ascending"), ("number", "ascending"), ("path", "ascending")]).to_pydict()
        for repo, num, path, status, a, dl in zip(
            f["repo"], f["number"], f["path"], f["status"], f["additions"], f["deletions"], strict=True
        ):
            lst = files.setdefault((repo, num), [])
            if len(lst) < MAX_CHILDREN and len(path) <= 500:
                lst.append((path, _status(status), int(a or 0), int(dl or 0)))
    per_pr = [files.get((r, n), []) for r, n in zip(d["repo"], d["number"], strict=True)]
    n_files = np.array([len(x) for x in per_pr], np.int64)
    flat = [x for lst in per_pr for x in lst]
    paths = [x[0] for x in flat]
    return (
        RealPool(
            repo=pa.array(d["repo"], pa.string()),
            number=np.asarray(d["number"], np.int64),
            title=pa.array([(t or "").strip() or "Untitled change" for t in d["title"]], pa.string()),
            additions=np.clip(np.asarray(d["additions"], np.int64), 0, 2_000_000_000),
            deletions=np.clip(np.asarray(d["deletions"], np.int64), 0, 2_000_000_000),
            labels=pa.array([_dump(list(x or [])) for x in d["labels"]], pa.string()),
            milestone=pa.array([(x or "")[:255] for x in d["milestone_title"]], pa.string()),
            assignees=pa.array([_dump(list(x or [])) for x in d["assignees"]], pa.string()),
            linked=pa.array([_dump([int(i) for i in (x or [])]) for x in d["linked_issues"]], pa.string()),
            draft=np.asarray([bool(x) for x in d["is_draft"]]),
            commits=np.clip(np.asarray(d["commit_count"], np.int64), 1, MAX_CHILDREN),
            n_files=n_files,
            file_start=np.cumsum(n_files) - n_files,
            file_path=pa.array(paths, pa.string()),
            file_status=pa.array([x[1] for x in flat], pa.string()),
            file_category=pa.array(file_category(paths), pa.string()),
            file_additions=np.array([x[2] for x in flat], np.int64),
            file_deletions=np.array([x[3] for x in flat], np.int64),
        ),
        "",
    )


def _status(s: str | None) -> str:
    s = (s or "modified").lower()
    return {"added": "added", "removed": "removed", "deleted": "removed", "renamed": "renamed"}.get(s, "modified")


def choose_slots(team: np.ndarray, pr_key: np.ndarray, share: float, k: tuple) -> np.ndarray:
    """Which PRs take real metadata: a keyed quota of ``share`` per team (independent of the data)."""
    return systematic(np.full(len(pr_key), float(share)), team, pr_key, *k, "real-slot")


def assign_sources(team: np.ndarray, pr_key: np.ndarray, slots: np.ndarray, pool_size: int, k: tuple) -> np.ndarray:
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
