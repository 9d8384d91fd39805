"""Injectable faults: what GitHub does on a bad day.

A :class:`Fault` matches requests by API (``graphql``/``rest``), operation
(the GraphQL ``operationName``, or the REST route: ``list``, ``detail``,
``reviews``, ``commits``, ``files``) and repo; lets ``skip`` matching
requests through, then fires ``times`` times, on every ``every``-th matching
request (1: each one; 23: the 23rd, the 46th... a steady, deterministic rate). Kinds:

==================  =========================================================
``502_json``         502 with GitHub's JSON timeout message
``504_json``         504 with the same JSON
``502_html``         502 with an HTML error page
``500_json``         500 JSON
``went_wrong``       200 with ``errors: [{"message": "Something went wrong…"}]``
``null_nodes``       partial data: the PR nodes at ``params["index"]`` (default
                     [0]) error in a non-null connection and come back null
``null_forbidden``   the same nodes come back null with a FORBIDDEN error on a
                     non-null field of theirs (``assignees``): the error nulls
                     the whole node, so GitHub cannot even say its number
``slow``             answer after ``params["seconds"]`` real seconds
``drop``             close the connection without an answer
``secondary``        secondary limit: ``params["status"]`` 403/429/200,
                     ``params["retry_after"]`` (seconds or None)
``primary``          primary budget exhausted now (remaining 0 until reset)
``edit``             before answering, edit PR ``params["number"]`` (its
                     ``updatedAt`` becomes now: it jumps to the top)
``bad_json``         400 "Problems parsing JSON" (as if the body were broken)
``scopes``           200 with an INSUFFICIENT_SCOPES error (a token missing a scope)
``forbidden``        part of a PR withheld from the token, as GitHub does when a
                     linked issue lives in a private repo: GraphQL executes
                     with ``params["field"]`` (default ``closingIssuesReferences``)
                     of some PRs raising FORBIDDEN ("Resource not accessible by
                     integration", ``extensions.saml_failure``), so ``data``
                     has that field null, the rest of the page intact, and
                     ``errors`` a path into the node. Which PRs: those numbered
                     ``params["numbers"]`` wherever they appear (a page, the
                     PR alone, its nested pages), else the page positions
                     ``params["index"]`` (default [0]). REST: 403 with that
                     message (e.g. ``op="reviews"``: PRs' reviews; with
                     ``params["numbers"]`` only those PRs')
==================  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = {
    "502_json",
    "504_json",
    "502_html",
    "500_json",
    "went_wrong",
    "null_nodes",
    "null_forbidden",
    "slow",
    "drop",
    "secondary",
    "primary",
    "edit",
    "bad_json",
    "scopes",
    "forbidden",
}
FORBIDDEN_MESSAGE = "Resource not accessible by integration"
SCOPES_MESSAGE = (
    "Your token has not been granted the required scopes to execute this query. The 'databaseId' field requires "
    "one of the following scopes: ['read:org'], but your token has only been granted the: ['repo'] scopes. "
    "Please modify your token's scopes at: https://github.com/settings/tokens."
)

TIMEOUT_MESSAGE = (
    "Something went wrong while executing your query. This may be the result of a timeout, or it could be a "
    "GitHub bug. Please include `{rid}` when reporting this issue."
)
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out "
    "to GitHub Support for help, please include the request ID {rid}."
)
HTML_502 = (
    "<!DOCTYPE html>\n<html><head><title>Unicorn! &middot; GitHub</title></head>"
    "<body><h1>No server is currently available to service your request.</h1>"
    "<p>Sorry about that. Please try refreshing and contact us if the problem persists.</p></body></html>"
)


@dataclass
class Fault:
    kind: str
    times: int = 1
    api: str | None = None
    op: str | None = None
    repo: str | None = None
    skip: int = 0
    every: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    fired: int = 0
    seen: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")
        if self.every < 1:
            raise ValueError(f"every must be 1 or more, not {self.every}")

    def matches(self, api: str, op: str | None, repo: str | None, number: int | None = None) -> bool:
        """Whether a request is one this fault is for (``number``: the PR of a REST PR route)."""
        return (
            (self.api is None or self.api == api)
            and (self.op is None or self.op == op)
            and (self.repo is None or (repo or "").lower() == self.repo.lower())
            and (number is None or "numbers" not in self.params or number in self.params["numbers"])
        )

    def take(self, api: str, op: str | None, repo: str | None, number: int | None = None) -> bool:
        """Whether this request gets the fault (consumes one firing)."""
        if self.fired >= self.times or not self.matches(api, op, repo, number):
            return False
        self.seen += 1
        if self.seen <= self.skip or (self.seen - self.skip) % self.every:
            return False
        self.fired += 1
        return True
