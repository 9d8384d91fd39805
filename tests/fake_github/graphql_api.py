"""The fake's GraphQL endpoint: auth, faults, validation, cost, budgets, execution.

``memoize`` (client benchmarks): a repeated request (same body, user and data)
skips graphql-core's execution, ~20 ms of CPU a page, and is answered from the
kept JSON; it is still charged and checked like any request, and its
``rateLimit`` object, rate headers, request id and date are fresh.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import graphql
from graphql.language import FieldNode, OperationDefinitionNode

from tests.fake_github import gql
from tests.fake_github.dataset import iso
from tests.fake_github.faults import SECONDARY_MESSAGE, Fault
from tests.fake_github.server import DOCS, Answer, FakeGitHub, Record, _json


def handle_graphql(fake: FakeGitHub, headers: dict[str, str], body: bytes, rid: str, crowded: bool) -> Answer:
    user, given = fake._user(headers)
    if user is None:
        msg = "Bad credentials" if given else "This endpoint requires you to be authenticated."
        return _json(
            401,
            {
                "message": msg,
                "documentation_url": "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql",
            },
        )
    try:
        req = json.loads(body or b"null")
        assert isinstance(req, dict) and isinstance(req.get("query"), str)
    except (ValueError, AssertionError):
        return _json(400, {"message": "Problems parsing JSON", "documentation_url": DOCS})
    variables = req.get("variables") or {}
    op = req.get("operationName")
    repo = f"{variables['owner']}/{variables['name']}" if "owner" in variables and "name" in variables else None
    rec = Record("graphql", op, repo, variables.get("after"), variables.get("first"), time=fake.clock.now())
    fake.record(rec)
    with fake._lock:
        w = fake._get_window(user, "graphql")
    fault = fake._fault("graphql", op, repo)
    if fault is not None:
        rec.fault = fault.kind
        ans = fake.fault_answer(fault, "graphql", rid, w, "graphql", repo)
        if ans is not None and ans.status != -1:
            rec.status = ans.status
            return ans
        if ans is not None:  # slow: answer normally, late
            real, _ = _run(fake, req, op, variables, user, rid, crowded, rec, None)
            real.delay = ans.delay
            return real
    if fake.memoize and fault is None:
        key = (body, user, fake.dataset.version)
        memo = fake._memo.get(key)
        if memo is not None:
            return memo.answer(fake, user, rid, crowded, rec)
        ans, memo = _run(fake, req, op, variables, user, rid, crowded, rec, None, memoize=True)
        if memo is not None:
            fake._memo[key] = memo
        return ans
    return _run(fake, req, op, variables, user, rid, crowded, rec, fault)[0]


_RATE_MARK = "__fake_github_rate_limit__"


@dataclass(frozen=True)
class Memo:
    """A GraphQL answer kept for ``--memoize``: the executed data as JSON bytes
    around the ``rateLimit`` object. A hit is charged and checked exactly like
    a fresh request (budget, secondary limits, headers, request id); only
    graphql-core's execution of the same query on the same data is skipped."""

    cost: int
    nodes: int
    head: bytes  # the JSON before the rateLimit object ...
    tail: bytes  # ... and after it (b"" and the whole body in head: no rateLimit asked)
    rate_fields: tuple[tuple[str, str], ...]  # (response key, RateLimit field) as the query selected them

    def answer(self, fake: FakeGitHub, user: str, rid: str, crowded: bool, rec: Record) -> Answer:
        charged = _charge(fake, user, rid, crowded, rec, self.cost, self.nodes)
        if isinstance(charged, Answer):
            return charged
        rate, headers = charged
        rec.status = 200
        if not self.rate_fields:
            return Answer(200, self.head, headers)
        obj = {key: "RateLimit" if name == "__typename" else rate[name] for key, name in self.rate_fields}
        return Answer(200, self.head + json.dumps(obj).encode() + self.tail, headers)


def _rate_fields(doc: graphql.DocumentNode, op: str | None) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """(response key of rateLimit, its selected fields); ("", ()) if not asked; None: too fancy to memoize."""
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [d for d in ops if op is None or (d.name and d.name.value == op)]
    if len(chosen) != 1:
        return None
    found: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for sel in chosen[0].selection_set.selections:
        if not isinstance(sel, FieldNode):
            return None
        if sel.name.value != "rateLimit":
            continue
        subs = sel.selection_set.selections if sel.selection_set else ()
        if sel.arguments or not all(isinstance(f, FieldNode) for f in subs):
            return None
        fields = tuple(((f.alias or f.name).value, f.name.value) for f in subs if isinstance(f, FieldNode))
        found.append(((sel.alias or sel.name).value, fields))
    if len(found) > 1:
        return None
    return found[0] if found else ("", ())


def _memo(payload: dict, body: bytes, analysis: gql.Analysis, doc: graphql.DocumentNode, op: str | None) -> Memo | None:
    if payload.get("errors") or not isinstance(payload.get("data"), dict):
        return None  # partial or refused answers are not kept
    shape = _rate_fields(doc, op)
    if shape is None:
        return None
    key, fields = shape
    if not key:
        return Memo(analysis.cost, analysis.nodes, body, b"", ())
    marked = json.dumps({**payload, "data": {**payload["data"], key: _RATE_MARK}}).encode()
    head, sep, tail = marked.partition(json.dumps(_RATE_MARK).encode())
    if not sep or json.dumps(_RATE_MARK).encode() in tail:
        return None
    return Memo(analysis.cost, analysis.nodes, head, tail, fields)


def _charge(
    fake: FakeGitHub, user: str, rid: str, crowded: bool, rec: Record, cost: int, nodes: int
) -> tuple[dict, dict[str, str]] | Answer:
    """Charge ``cost`` points as GitHub does: the secondary limits, then the hourly
    budget. Returns (the rateLimit object, the rate headers), or the refusal."""
    minute = int(fake.clock.now() // 60)
    with fake._lock:
        w = fake._get_window(user, "graphql")
        spent = fake._minute.get((user, minute), 0)
        if crowded or spent + cost > fake.secondary_points_per_minute:
            rec.status = 403
            return _json(
                403,
                {"message": SECONDARY_MESSAGE.format(rid=rid), "documentation_url": DOCS},
                {**fake._rate_headers(w, "graphql", rid), "retry-after": "60"},
            )
        if cost > w.limit - w.used:
            rec.status = 200
            return fake._rate_limited(fake._rate_headers(w, "graphql", rid), user)
        w.used += cost
        fake._minute[(user, minute)] = spent + cost
        rate = {
            "cost": cost,
            "limit": w.limit,
            "remaining": w.limit - w.used,
            "resetAt": iso(w.reset),
            "used": w.used,
            "nodeCount": nodes,
        }
        headers = fake._rate_headers(w, "graphql", rid)
    rec.cost = cost
    return rate, headers


def _run(
    fake: FakeGitHub,
    req: dict,
    op: str | None,
    variables: dict,
    user: str,
    rid: str,
    crowded: bool,
    rec: Record,
    fault: Fault | None,
    memoize: bool = False,
) -> tuple[Answer, Memo | None]:
    """Validate, charge and execute one query (and, with ``memoize``, what to keep of it)."""
    with fake._lock:
        w = fake._get_window(user, "graphql")
    try:
        doc = gql.parse_and_validate(req["query"])
        analysis = gql.analyze(doc, op, variables)
    except gql.QueryRefused as exc:
        rec.status = 200
        return _json(200, {"errors": exc.errors}, fake._rate_headers(w, "graphql", rid)), None
    charged = _charge(fake, user, rid, crowded, rec, analysis.cost, analysis.nodes)
    if isinstance(charged, Answer):
        return charged, None
    rate, headers = charged
    nulling = fault is not None and fault.kind in ("null_nodes", "null_forbidden")
    null_at = set(fault.params.get("index", [0])) if fault is not None and nulling else set()
    null_type = "FORBIDDEN" if fault is not None and fault.kind == "null_forbidden" else "SERVICE_UNAVAILABLE"
    ctx = {"rate": rate, "fake": fake, "null_at": null_at, "null_type": null_type, "forbidden": _forbidden(fault)}
    result = graphql.execute(
        gql.schema(),
        doc,
        root_value=_root(fake),
        context_value=ctx,
        variable_values=variables,
        operation_name=op,
        field_resolver=gql.field_resolver,
    )
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [_github_error(e) for e in result.errors]
    rec.status = 200
    ans = _json(200, payload, headers)
    return ans, (_memo(payload, ans.body, analysis, doc, op) if memoize else None)


def _forbidden(fault: Fault | None) -> dict[str, Any] | None:
    """What a ``forbidden`` fault withholds in this execution: the field, and which PRs."""
    if fault is None or fault.kind != "forbidden":
        return None
    numbers = fault.params.get("numbers")
    return {
        "field": fault.params.get("field", "closingIssuesReferences"),
        "numbers": set(numbers or ()),
        "index": set() if numbers else set(fault.params.get("index", [0])),
    }


def _github_error(e: graphql.GraphQLError) -> dict:
    out = e.formatted
    ext = dict(out.pop("extensions", None) or {})
    if "type" in ext:
        out["type"] = ext.pop("type")
    if ext:
        out["extensions"] = ext
    return out


def _root(fake: FakeGitHub) -> dict:
    from tests.fake_github.resolvers import root_value

    return root_value(fake)
