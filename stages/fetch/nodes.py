"""GraphQL PullRequest nodes as ``gh_raw_pull_requests`` rows.

:data:`NESTED` names the nested lists a node carries (each with the query
that pages the rest of it); :func:`map_pr` maps a node and its completed
lists to a row, with the fields GitHub withheld from the token (if any) in
``withheld_fields``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from stages.fetch.source import Json, Row

# nested list -> (query file, operation name) of the query that pages the rest of it
NESTED: dict[str, tuple[str, str]] = {
    "labels": ("labels_page.graphql", "LabelsPage"),
    "assignees": ("assignees_page.graphql", "AssigneesPage"),
    "closingIssuesReferences": ("closing_issues_page.graphql", "ClosingIssuesReferencesPage"),
    "reviews": ("reviews_page.graphql", "ReviewsPage"),
    "commits": ("commits_page.graphql", "CommitsPage"),
    "files": ("files_page.graphql", "FilesPage"),
}
Lists = dict[str, list[Json | None] | None]  # nested list name -> its items (None: GitHub sent null)


def _user(u: Json | None) -> Json | None:
    if not u:
        return None
    return {"login": u.get("login"), "databaseId": u.get("databaseId")}


def nodes_of(conn: Json | None) -> list[Json]:
    return [n for n in (conn or {}).get("nodes") or [] if n is not None]


def _commit(n: Json) -> Json:
    c = n.get("commit") or {}
    return {
        "oid": c.get("oid"),
        "message": c.get("message"),
        "authoredDate": c.get("authoredDate"),
        "committedDate": c.get("committedDate"),
        "additions": c.get("additions"),
        "deletions": c.get("deletions"),
        "author": _user((c.get("author") or {}).get("user")),
    }


ITEM: dict[str, Callable[[Json], Json | None]] = {
    "labels": lambda n: {"name": n.get("name"), "color": n.get("color")},
    "assignees": _user,
    "closingIssuesReferences": lambda n: {"number": n.get("number"), "title": n.get("title")},
    "reviews": lambda n: {
        "databaseId": n.get("databaseId"),
        "author": _user(n.get("author")),
        "state": n.get("state"),
        "submittedAt": n.get("submittedAt"),
        "body": n.get("body"),
    },
    "commits": _commit,
    "files": lambda n: {
        "path": n.get("path"),
        "additions": n.get("additions"),
        "deletions": n.get("deletions"),
        "changeType": n.get("changeType"),
    },
}


def map_pr(repo: str, node: Json, lists: Lists, withheld: Iterable[str] = ()) -> Row:
    """A PullRequest node (with its completed nested lists) as a gh_raw_pull_requests row;
    ``withheld``: the fields GitHub withheld from the token inside this PR."""
    ms = node.get("milestone")

    def total(name: str) -> int | None:
        conn = node.get(name)
        return None if conn is None else conn.get("totalCount")

    return {
        "repo": repo,
        "number": node["number"],
        "id": node["id"],
        "title": node.get("title"),
        "body": node.get("body"),
        "state": node["state"],
        "isDraft": node.get("isDraft"),
        "createdAt": node["createdAt"],
        "updatedAt": node["updatedAt"],
        "mergedAt": node.get("mergedAt"),
        "closedAt": node.get("closedAt"),
        "additions": node.get("additions"),
        "deletions": node.get("deletions"),
        "changedFiles": node.get("changedFiles"),
        "author": _user(node.get("author")),
        "mergedBy": _user(node.get("mergedBy")),
        "headRefName": node.get("headRefName"),
        "baseRefName": node.get("baseRefName"),
        "labels": lists["labels"],
        "milestone": None
        if ms is None
        else {"title": ms.get("title"), "number": ms.get("number"), "dueOn": ms.get("dueOn")},
        "assignees": lists["assignees"],
        "closingIssuesReferences": lists["closingIssuesReferences"],
        "reviews": lists["reviews"],
        "reviewsTotalCount": total("reviews"),
        "commits": lists["commits"],
        "commitsTotalCount": total("commits"),
        "files": lists["files"],
        "filesTotalCount": total("files"),
        "commentsTotalCount": total("comments"),
        "withheld_fields": sorted(set(withheld)) or None,
    }


def has_more(node: Json) -> bool:
    return any(((node.get(f) or {}).get("pageInfo") or {}).get("hasNextPage") for f in NESTED)


def first_pages(node: Json) -> Lists:
    return {f: None if node.get(f) is None else [ITEM[f](n) for n in nodes_of(node.get(f))] for f in NESTED}
