"""Root and repository resolvers of the fake's GraphQL (over the dataset)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from tests.fake_github.gql import keyset_after, keyset_cursor, paginate


def _not_found(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"type": "NOT_FOUND"})


def _withhold(pr: dict, forbidden: dict, index: int | None) -> dict:
    """``pr`` marked so that its forbidden field raises FORBIDDEN (see ``gql.field_resolver``)."""
    if pr["number"] in forbidden["numbers"] or (index is not None and index in forbidden["index"]):
        return dict(pr, __forbidden=forbidden["field"])
    return pr


def repo_value(fake: Any, repo: Any) -> dict:
    full = repo.full_name

    def pull_requests(info: GraphQLResolveInfo, **args: Any) -> dict:
        order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
        items = fake.dataset.ordered(full, order["field"], order["direction"])
        if args.get("states"):
            items = [p for p in items if p["state"] in args["states"]]
        key = "updatedAt" if order["field"] == "UPDATED_AT" else "createdAt"
        desc = order["direction"] == "DESC"
        conn = paginate(
            items, args, cursor_of=lambda _i, p: keyset_cursor(p, key), after_index=keyset_after(items, key, desc)
        )
        null_at = (info.context or {}).get("null_at")
        if null_at:
            kind = (info.context or {}).get("null_type", "SERVICE_UNAVAILABLE")
            conn["nodes"] = [dict(p, __null_fault=kind) if i in null_at else p for i, p in enumerate(conn["nodes"])]
        forbidden = (info.context or {}).get("forbidden")
        if forbidden:
            conn["nodes"] = [_withhold(p, forbidden, i) for i, p in enumerate(conn["nodes"])]
        return conn

    def pull_request(info: GraphQLResolveInfo, number: int) -> dict:
        with fake.dataset.lock:
            pr = repo.prs.get(number)
        if pr is None:
            raise _not_found(f"Could not resolve to a PullRequest with the number of {number}.")
        forbidden = (info.context or {}).get("forbidden")
        return _withhold(pr, forbidden, None) if forbidden else pr

    newest = max((p["updatedAt"] for p in repo.prs.values()), default=None)
    return {
        "__typename": "Repository",
        "id": f"R_{full}",
        "name": repo.name,
        "nameWithOwner": full,
        "owner": {"__typename": "Organization", "login": repo.owner},
        "pullRequests": pull_requests,
        "pullRequest": pull_request,
        "pushedAt": newest,
        "updatedAt": newest,
        "isPrivate": False,
    }


def root_value(fake: Any) -> dict:
    def repository(info: GraphQLResolveInfo, owner: str, name: str, **_: Any) -> dict:
        repo = fake.dataset.get(f"{owner}/{name}")
        if repo is None:
            raise _not_found(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return repo_value(fake, repo)

    def rate_limit(info: GraphQLResolveInfo, **_: Any) -> dict:
        return info.context["rate"]

    return {"repository": repository, "rateLimit": rate_limit}
