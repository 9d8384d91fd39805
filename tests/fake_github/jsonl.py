"""Real PR metadata from JSONL files, served by the fake GitHub.

One JSON object per line, as in ``../shared/fixtures/*.jsonl`` (derived from
a repository's public git history)::

    {"repo": "pallets/flask", "number": 3412, "title": ..., "body": ...,
     "author_login": "pgjones", "author_id": null, "created_at": "2020-07-06T20:54:26+01:00",
     "merged_at": "2021-04-07T05:32:20-07:00", "additions": 380, "deletions": 23,
     "changed_files": 13, "head_ref": "async" | null, "co_authors": [...],
     "files": [{"path", "additions", "deletions"}],
     "commits": [{"oid", "message", "authored_at", "committed_at", "additions",
                  "deletions", "author_login", "author_id"}]}

:func:`load_jsonl` turns each record into a PR in exactly the shape
:func:`tests.fake_github.dataset.make_pr` builds, so GraphQL, REST, cursors,
``UPDATED_AT`` order, costs and rate limits work unchanged. The mapping:

* times with offsets become GitHub's UTC ``...Z`` (second precision);
* ``state``: ``MERGED`` when ``merged_at`` is set (``closedAt = mergedAt``);
  otherwise ``CLOSED`` when the record has a ``closed_at``, else ``OPEN``.
  The fixtures hold merged PRs only. ``updatedAt = merged_at or closed_at or
  created_at`` (the data has no later activity);
* the author: a login ending in ``[bot]`` is a ``Bot`` (GraphQL shows it
  without the suffix, REST with it, as GitHub does); a null login is a
  deleted user (``author: null``). GitHub ids the record does not know (git
  has no ids) are synthetic but stable: ``2,000,000,000 + keyed(login) %
  100,000,000`` — far above real ids; a login's known id (from any record of
  any loaded file) wins everywhere;
* commits keep oid, message (``Co-authored-by:`` trailers included), dates,
  sizes; ``author.user`` is the commit author's login (null for bots, whose
  commits GitHub attributes to no ``User``);
* files keep path and sizes; ``changeType`` is ``MODIFIED`` (git-derived
  data does not say added/deleted/renamed);
* not in git, so served empty: reviews, labels, assignees, milestone,
  closing issues, comments, ``mergedBy``; ``baseRefName`` is ``main`` and
  ``headRefName`` the record's ``head_ref``, or ``pr-<number>`` when unknown
  (git keeps no branch of a squash merge; GitHub's field is non-null).

Reviews are honest by default (none). ``synthetic_reviews=True``
(``--synthetic-reviews``) adds 1-2 deterministic reviews per merged PR by
other people of the same repo (PR or commit authors, no bots), each with the body
:data:`SYNTHETIC_REVIEW_BODY` so nobody mistakes them for real ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pipeline.base.rng import key64, rng
from tests.fake_github.dataset import Dataset, FakeRepo, node_id

SYNTHETIC_ID_BASE = 2_000_000_000
SYNTHETIC_REVIEW_BODY = "[synthetic review: not in the source data]"
REQUIRED = ("repo", "number", "title", "created_at")


class JsonlError(ValueError):
    """A JSONL file the loader cannot read (names the file and line)."""


def utc(value: str | None) -> str | None:
    """``2020-07-06T20:54:26+01:00`` -> ``2020-07-06T19:54:26Z`` (None stays None)."""
    if value is None:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_records(paths: Iterable[Path | str]) -> list[dict]:
    """Every record of the files, in file then line order."""
    out: list[dict] = []
    for path in paths:
        path = Path(path)
        with path.open(encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise JsonlError(f"{path}:{i}: not JSON ({e.msg})") from e
                missing = [k for k in REQUIRED if rec.get(k) is None]
                if missing or str(rec["repo"]).count("/") != 1:
                    raise JsonlError(f"{path}:{i}: needs {', '.join(REQUIRED)} with repo as owner/name")
                out.append(rec)
    return out


def known_ids(records: list[dict]) -> dict[str, int]:
    """login -> GitHub id, from every record and commit that states one."""
    ids: dict[str, int] = {}
    for rec in records:
        pairs = [(rec.get("author_login"), rec.get("author_id"))]
        pairs += [(c.get("author_login"), c.get("author_id")) for c in rec.get("commits") or []]
        for login, uid in pairs:
            if login and uid is not None:
                ids.setdefault(login, int(uid))
    return ids


class _Users:
    def __init__(self, ids: dict[str, int]) -> None:
        self.ids = ids

    def actor(self, login: str | None) -> dict | None:
        """A PR author/reviewer: User, Bot (login without ``[bot]``) or None (deleted)."""
        if not login:
            return None
        uid = self.ids.get(login, SYNTHETIC_ID_BASE + key64("fake-github", "user-id", login) % 100_000_000)
        if login.endswith("[bot]"):
            return {"__typename": "Bot", "login": login[: -len("[bot]")], "databaseId": uid}
        return {"__typename": "User", "login": login, "databaseId": uid}

    def commit_user(self, login: str | None) -> dict | None:
        who = self.actor(login)
        return who if who is not None and who["__typename"] == "User" else None


def record_to_pr(rec: dict, users: _Users) -> dict:
    """One JSONL record as a fake PR (the shape of :func:`~tests.fake_github.dataset.make_pr`)."""
    repo, number = rec["repo"], int(rec["number"])
    created = utc(rec["created_at"])
    merged = utc(rec.get("merged_at"))
    closed = merged or utc(rec.get("closed_at"))
    state = "MERGED" if merged else ("CLOSED" if closed else "OPEN")
    files = [
        {
            "path": f["path"],
            "additions": int(f.get("additions") or 0),
            "deletions": int(f.get("deletions") or 0),
            "changeType": "MODIFIED",
        }
        for f in rec.get("files") or []
    ]
    commits = [
        {
            "commit": {
                "oid": c["oid"],
                "message": c.get("message") or "",
                "authoredDate": utc(c.get("authored_at") or c.get("committed_at") or rec["created_at"]),
                "committedDate": utc(c.get("committed_at") or c.get("authored_at") or rec["created_at"]),
                "additions": int(c.get("additions") or 0),
                "deletions": int(c.get("deletions") or 0),
                "author": {"user": users.commit_user(c.get("author_login"))},
            }
        }
        for c in rec.get("commits") or []
    ]
    return {
        "__typename": "PullRequest",
        "id": node_id("PullRequest", repo, number),
        "number": number,
        "title": rec["title"],
        "body": rec.get("body") or "",
        "state": state,
        "isDraft": False,
        "createdAt": created,
        "updatedAt": closed or created,
        "mergedAt": merged,
        "closedAt": closed,
        "additions": int(
            rec.get("additions") if rec.get("additions") is not None else sum(f["additions"] for f in files)
        ),
        "deletions": int(
            rec.get("deletions") if rec.get("deletions") is not None else sum(f["deletions"] for f in files)
        ),
        "changedFiles": int(rec.get("changed_files") if rec.get("changed_files") is not None else len(files)),
        "author": users.actor(rec.get("author_login")),
        "mergedBy": None,
        "headRefName": rec.get("head_ref") or f"pr-{number}",  # String! on GitHub
        "baseRefName": "main",
        "labels": [],
        "milestone": None,
        "assignees": [],
        "closingIssuesReferences": [],
        "reviews": [],
        "commits": commits,
        "files": files,
        "comments": [],
    }


def _epoch(ts: str) -> int:
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())


def add_synthetic_reviews(prs: list[dict]) -> None:
    """1-2 reviews per merged PR by other people of the repo (deterministic, clearly marked)."""
    humans: dict[str, list[dict]] = {}
    for p in prs:
        people = [p["author"], *(c["commit"]["author"]["user"] for c in p["commits"])]
        pool = humans.setdefault(p["_repo"], [])
        for u in people:
            if u is not None and u["__typename"] == "User" and u not in pool:
                pool.append(u)
    for p in prs:
        if p["state"] != "MERGED":
            continue
        pool = sorted(
            (u for u in humans.get(p["_repo"], []) if p["author"] is None or u["login"] != p["author"]["login"]),
            key=lambda u: u["login"],
        )
        if not pool:
            continue
        g = rng("fake-github", "synthetic-review", p["_repo"], p["number"])
        start, end = _epoch(p["createdAt"]), _epoch(p["mergedAt"])
        n = min(len(pool), 1 + int(g.integers(0, 2)))
        picks = g.choice(len(pool), size=n, replace=False)
        reviews = []
        for i, k in enumerate(sorted(int(x) for x in picks)):
            at = start + (end - start) * (i + 1) // (n + 1)
            reviews.append(
                {
                    "databaseId": SYNTHETIC_ID_BASE
                    + key64("fake-github", "review", p["_repo"], p["number"], i) % 10**8,
                    "author": pool[k],
                    "state": "APPROVED" if i == n - 1 else "COMMENTED",
                    "submittedAt": datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "body": SYNTHETIC_REVIEW_BODY,
                }
            )
        p["reviews"] = reviews


def load_jsonl(dataset: Dataset, paths: Iterable[Path | str], *, synthetic_reviews: bool = False) -> dict[str, int]:
    """Add the records' repos and PRs to ``dataset``; returns PRs per repo (a later duplicate wins)."""
    records = read_records(paths)
    users = _Users(known_ids(records))
    prs = []
    for rec in records:
        pr = record_to_pr(rec, users)
        pr["_repo"] = rec["repo"]
        prs.append(pr)
    if synthetic_reviews:
        add_synthetic_reviews(prs)
    counts: dict[str, int] = {}
    with dataset.lock:
        for pr in prs:
            full = pr.pop("_repo")
            repo = dataset.get(full)
            if repo is None:
                owner, _, name = full.partition("/")
                repo = dataset.repos[full.lower()] = FakeRepo(owner, name)
            repo.prs[pr["number"]] = pr
        for full in {r["repo"] for r in records}:
            repo = dataset.get(full)
            assert repo is not None
            counts[repo.full_name] = len(repo.prs)
        dataset.version += 1
    return counts
