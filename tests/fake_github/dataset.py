"""A deterministic set of repositories and pull requests for the fake GitHub.

PRs are stored in GraphQL's shape (field names as in the schema, connection
fields as plain lists the fake paginates). Some PRs (unless ``long_lists=False``) have nested
lists longer than a client's first page (every 7th: 30 reviews; every 9th: 130 commits;
every 11th: 60 files; every 13th: 12 labels, 11 assignees, 11 closing
issues), so a client that does not page them cannot match the ground truth.
Same ``(repo, count, seed)`` => the same PRs, in any process.

:meth:`Dataset.expected_rows` is the ground truth: what a faithful fetch
must store (``gh_raw_pull_requests`` rows), for GraphQL or for REST (which
cannot say some things, see :mod:`stages.fetch.rest`).
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipeline.base.rng import rng
from tests.fake_github.clock import DEFAULT_START
from tests.fake_github.words import DIRS, EXTS, LABELS, LOGINS, NOUNS, VERBS

HOUR = 3600.0
CHANGE_TO_STATUS = {
    "ADDED": "added",
    "DELETED": "removed",
    "MODIFIED": "modified",
    "RENAMED": "renamed",
    "COPIED": "copied",
    "CHANGED": "changed",
}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user(i: int) -> dict:
    login = LOGINS[i % len(LOGINS)] + ("" if i < len(LOGINS) else str(i))
    return {"__typename": "User", "login": login, "databaseId": 1000 + i}


BOT = {"__typename": "Bot", "login": "dependabot", "databaseId": 49699333}


def node_id(kind: str, *parts: object) -> str:
    return base64.b64encode(f"{kind}:{':'.join(map(str, parts))}".encode()).decode().rstrip("=")


def _sizes(number: int, long_lists: bool = True) -> dict[str, int]:
    if not long_lists:
        return {
            "reviews": number % 4,
            "commits": 1 + number % 5,
            "files": 1 + number % 8,
            "labels": number % 3,
            "assignees": number % 2,
            "closingIssuesReferences": number % 2,
        }
    return {
        "reviews": 30 if number % 7 == 0 else number % 4,
        "commits": 130 if number % 9 == 0 else 1 + number % 5,
        "files": 60 if number % 11 == 0 else 1 + number % 8,
        "labels": 12 if number % 13 == 0 else number % 3,
        "assignees": 11 if number % 13 == 0 else number % 2,
        "closingIssuesReferences": 11 if number % 13 == 0 else number % 2,
    }


def make_pr(repo: str, number: int, count: int, seed: int, start: float, long_lists: bool = True) -> dict:
    """One pull request, keyed by (seed, repo, number)."""
    g = rng(seed, "fake-github", repo, number)
    sizes = _sizes(number, long_lists)
    created = start - (count - number + 1) * 6 * HOUR - float(g.integers(0, 3 * HOUR))
    updated = created + float(g.integers(60, 40 * HOUR))
    updated = min(updated, start - HOUR - (count - number) * 7)  # distinct, all in the past
    kind = float(g.random())
    state = "MERGED" if kind < 0.6 else ("CLOSED" if kind < 0.75 else "OPEN")
    closed_at = iso(updated) if state != "OPEN" else None
    who = int(g.integers(0, 40))
    author = None if who == 0 else (BOT if who == 1 else user(who % 14))
    merged_by = user(int(g.integers(0, 6))) if state == "MERGED" and number % 5 else None
    verb, noun = VERBS[int(g.integers(0, len(VERBS)))], NOUNS[int(g.integers(0, len(NOUNS)))]
    files = []
    for i in range(sizes["files"]):
        path = f"{DIRS[(number + i) % len(DIRS)]}/{NOUNS[(number * 3 + i) % len(NOUNS)]}_{i}.{EXTS[i % len(EXTS)]}"
        files.append(
            {
                "path": path,
                "additions": int(g.integers(0, 200)),
                "deletions": int(g.integers(0, 80)),
                "changeType": ["MODIFIED", "ADDED", "DELETED", "RENAMED"][i % 4],
            }
        )
    commits = []
    for i in range(sizes["commits"]):
        t = created + i * 60
        commits.append(
            {
                "commit": {
                    "oid": f"{int(g.integers(0, 2**62)):016x}{number:08x}{i:08x}{seed:08x}"[:40].ljust(40, "0"),
                    "message": f"{verb} {noun} (part {i + 1})",
                    "authoredDate": iso(t),
                    "committedDate": iso(t + 30),
                    "additions": int(g.integers(0, 100)),
                    "deletions": int(g.integers(0, 40)),
                    "author": {"user": None if i % 17 == 16 else (author if author is not BOT else None)},
                }
            }
        )
    reviews = [
        {
            "databaseId": number * 1000 + i,
            "author": user((number + i + 1) % 14),
            "state": ["APPROVED", "COMMENTED", "CHANGES_REQUESTED"][i % 3],
            "submittedAt": iso(created + (i + 1) * 300),
            "body": "" if i % 2 else f"Looks good ({i})",
        }
        for i in range(sizes["reviews"])
    ]
    return {
        "__typename": "PullRequest",
        "id": node_id("PullRequest", repo, number),
        "number": number,
        "title": f"{verb} {noun} #{number}",
        "body": f"This PR changes the {noun}.\n\nPart of the {repo} roadmap." if number % 6 else "",
        "state": state,
        "isDraft": state == "OPEN" and number % 4 == 0,
        "createdAt": iso(created),
        "updatedAt": iso(updated),
        "mergedAt": closed_at if state == "MERGED" else None,
        "closedAt": closed_at,
        "additions": sum(f["additions"] for f in files),
        "deletions": sum(f["deletions"] for f in files),
        "changedFiles": len(files),
        "author": author,
        "mergedBy": merged_by,
        "headRefName": f"feature/{noun}-{number}",
        "baseRefName": "main",
        "labels": [{"name": n, "color": c} for n, c in LABELS[: sizes["labels"]]],
        "milestone": {
            "title": f"v{number % 3}.0",
            "number": number % 3 + 1,
            "dueOn": None if number % 2 else iso(start),
        }
        if number % 3
        else None,
        "assignees": [user((number + i) % 18) for i in range(sizes["assignees"])],
        "closingIssuesReferences": [
            {"number": 10000 + number * 20 + i, "title": f"Issue about {noun} {i}"}
            for i in range(sizes["closingIssuesReferences"])
        ],
        "reviews": reviews,
        "commits": commits,
        "files": files,
        "comments": [{"id": i} for i in range(number % 6)],
    }


@dataclass
class FakeRepo:
    owner: str
    name: str
    prs: dict[int, dict] = field(default_factory=dict)
    pushed_at: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class Dataset:
    """Repositories with generated PRs; edits move a PR's ``updatedAt`` (thread-safe)."""

    def __init__(
        self, repos: dict[str, int], *, seed: int = 7, start: float = DEFAULT_START, long_lists: bool = True
    ) -> None:
        self.seed = seed
        self.long_lists = long_lists
        self.lock = threading.RLock()
        self.version = 0  # bumped by every edit
        self.repos: dict[str, FakeRepo] = {}
        for full, count in repos.items():
            owner, _, name = full.partition("/")
            repo = FakeRepo(owner, name)
            for n in range(1, count + 1):
                repo.prs[n] = make_pr(full, n, count, seed, start, long_lists)
            self.repos[full.lower()] = repo

    def get(self, full_name: str) -> FakeRepo | None:
        return self.repos.get(full_name.lower())

    def ordered(self, full_name: str, field_name: str = "UPDATED_AT", direction: str = "DESC") -> list[dict]:
        repo = self.get(full_name)
        if repo is None:
            return []
        key = "updatedAt" if field_name == "UPDATED_AT" else "createdAt"
        with self.lock:
            prs = list(repo.prs.values())
        return sorted(prs, key=lambda p: (p[key], p["number"]), reverse=direction == "DESC")

    def edit(self, full_name: str, number: int, now: float, *, title: str | None = None) -> dict:
        """Edit a PR as a user would: new title, ``updatedAt`` = now."""
        repo = self.get(full_name)
        assert repo is not None, full_name
        with self.lock:
            pr = dict(repo.prs[number])
            pr["title"] = title or f"{pr['title']} (edited)"
            pr["updatedAt"] = iso(now)
            repo.prs[number] = pr
            self.version += 1
        return pr

    def add(self, full_name: str, now: float) -> dict:
        """Open a new PR now."""
        repo = self.get(full_name)
        assert repo is not None, full_name
        with self.lock:
            number = max(repo.prs, default=0) + 1
            pr = make_pr(full_name, number, number, self.seed, now + HOUR, self.long_lists)
            pr.update(createdAt=iso(now), updatedAt=iso(now), state="OPEN", mergedAt=None, closedAt=None, mergedBy=None)
            repo.prs[number] = pr
            self.version += 1
        return pr

    # -- ground truth -----------------------------------------------------------

    def expected_rows(self, full_name: str, transport: str = "graphql", *, since: str | None = None) -> list[dict]:
        """What a faithful fetch stores for this repo (gh_raw_pull_requests rows, by number)."""
        repo = self.get(full_name)
        assert repo is not None, full_name
        with self.lock:
            prs = sorted(repo.prs.values(), key=lambda p: p["number"])
        rows = [expected_row(repo.full_name, p, transport) for p in prs]
        return [r for r in rows if since is None or r["updatedAt"] >= since]


def _u(u: dict | None, transport: str) -> dict | None:
    if u is None:
        return None
    if transport == "rest":
        return {"login": rest_login(u), "databaseId": u["databaseId"]}
    return {"login": u["login"], "databaseId": u["databaseId"] if u["__typename"] == "User" else None}


def rest_login(u: dict) -> str:
    return u["login"] + "[bot]" if u["__typename"] == "Bot" else u["login"]


def expected_row(repo: str, p: dict, transport: str) -> dict:
    rest = transport == "rest"
    return {
        "repo": repo,
        "number": p["number"],
        "id": p["id"],
        "title": p["title"],
        "body": p["body"],
        "state": p["state"],
        "isDraft": p["isDraft"],
        "createdAt": p["createdAt"],
        "updatedAt": p["updatedAt"],
        "mergedAt": p["mergedAt"],
        "closedAt": p["closedAt"],
        "additions": p["additions"],
        "deletions": p["deletions"],
        "changedFiles": p["changedFiles"],
        "author": _u(p["author"], transport),
        "mergedBy": _u(p["mergedBy"], transport),
        "headRefName": p["headRefName"],
        "baseRefName": p["baseRefName"],
        "labels": [dict(x) for x in p["labels"]],
        "milestone": dict(p["milestone"]) if p["milestone"] else None,
        "assignees": [_u(a, transport) for a in p["assignees"]],
        "closingIssuesReferences": None if rest else [dict(x) for x in p["closingIssuesReferences"]],
        "reviews": [
            {
                "databaseId": r["databaseId"],
                "author": _u(r["author"], transport),
                "state": r["state"],
                "submittedAt": r["submittedAt"],
                "body": r["body"],
            }
            for r in p["reviews"]
        ],
        "reviewsTotalCount": len(p["reviews"]),
        "commits": [
            {
                "oid": c["commit"]["oid"],
                "message": c["commit"]["message"],
                "authoredDate": c["commit"]["authoredDate"],
                "committedDate": c["commit"]["committedDate"],
                "additions": None if rest else c["commit"]["additions"],
                "deletions": None if rest else c["commit"]["deletions"],
                "author": _u(c["commit"]["author"]["user"], transport),
            }
            for c in p["commits"]
        ],
        "commitsTotalCount": len(p["commits"]),
        "files": [dict(f) for f in p["files"]],
        "filesTotalCount": len(p["files"]),
        "commentsTotalCount": len(p["comments"]),
        "withheld_fields": None,
    }
