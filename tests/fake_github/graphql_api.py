"""The fake's GraphQL endpoint: auth, faults, validation, cost, budgets, execution."""

from __future__ import annotations

import json
from typing import Any

import graphql

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
            real = _run(fake, req, op, variables, user, rid, crowded, rec, None)
            real.delay = ans.delay
            return real
    if fake.memoize and fault is None:
        key = (body, user, fake.dataset.version)
        hit = fake._memo.get(key)
        if hit is None:
            hit = fake._memo[key] = _run(fake, req, op, variables, user, rid, crowded, rec, None)
        rec.status = hit.status
        return Answer(hit.status, hit.body, dict(hit.headers))
    return _run(fake, req, op, variables, user, rid, crowded, rec, fault)


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
) -> Answer:
    with fake._lock:
        w = fake._get_window(user, "graphql")
    try:
        doc = gql.parse_and_validate(req["query"])
        analysis = gql.analyze(doc, op, variables)
    except gql.QueryRefused as exc:
        rec.status = 200
        return _json(200, {"errors": exc.errors}, fake._rate_headers(w, "graphql", rid))
    cost = analysis.cost
    minute = int(fake.clock.now() // 60)
    with fake._lock:
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
            "nodeCount": analysis.nodes,
        }
        headers = fake._rate_headers(w, "graphql", rid)
    rec.cost = cost
    null_at = set(fault.params.get("index", [0])) if fault is not None and fault.kind == "null_nodes" else set()
    ctx = {"rate": rate, "fake": fake, "null_at": null_at}
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
    return _json(200, payload, headers)


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
