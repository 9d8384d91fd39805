"""GraphQL for the fake: GitHub's public schema, its cost model, resolvers.

* Every query is parsed and validated against ``schema.graphql`` (GitHub's
  published SDL) with graphql-core; invalid queries get GitHub-shaped errors
  (HTTP 200, ``errors`` only, no ``data``).
* :func:`analyze` applies GitHub's static checks and cost model before
  anything runs: connections that select ``nodes``/``edges`` need ``first`` or
  ``last`` in 1..100 (MISSING_PAGINATION_BOUNDARIES / EXCESSIVE_PAGINATION);
  cost = requests needed / 100 (rounded, at least 1) where each connection
  needs one request per parent node; more than 500,000 possible nodes is
  MAX_NODE_LIMIT_EXCEEDED.
* Resolvers read the :class:`~tests.fake_github.dataset.Dataset`. Lists whose
  field type is a ``*Connection`` are paginated with opaque offset cursors;
  ``Repository.pullRequests`` uses keyset cursors on its order (like GitHub's
  ``cursor:v2``), so a PR edited mid-scan jumps behind the cursor.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import graphql
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    get_named_type,
    value_from_ast_untyped,
)

from tests.fake_github.faults import FORBIDDEN_MESSAGE

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
MAX_NODES = 500_000


_SCHEMA_LOCK = threading.Lock()


@cache
def _build() -> GraphQLSchema:
    s = graphql.build_schema(SCHEMA_PATH.read_text(encoding="utf-8"), assume_valid_sdl=True)
    # GitHub's SDL breaks a few deprecation-consistency rules graphql-core checks; it is the real schema.
    s._validation_errors = []
    return s


def schema() -> GraphQLSchema:
    """GitHub's public schema (built once per process, by one thread)."""
    with _SCHEMA_LOCK:
        return _build()


class QueryRefused(Exception):
    """A query GitHub refuses before running it (errors, HTTP 200)."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors[0]["message"] if errors else "refused")
        self.errors = errors


def _loc(node: Any) -> list[dict]:
    if node.loc is None:
        return []
    loc = node.loc.source.get_location(node.loc.start)
    return [{"line": loc.line, "column": loc.column}]


def validation_errors(errors: list[GraphQLError]) -> list[dict]:
    out = []
    for e in errors:
        msg = e.message
        ext: dict[str, Any] = {"code": "graphqlValidation"}
        if msg.startswith("Cannot query field '"):
            name, typ = msg.split("'")[1], msg.split("'")[3]
            msg = f"Field '{name}' doesn't exist on type '{typ}'"
            ext = {"code": "undefinedField", "typeName": typ, "fieldName": name}
        out.append(
            {
                "message": msg,
                "locations": [{"line": loc.line, "column": loc.column} for loc in e.locations or []],
                "extensions": ext,
            }
        )
    return out


@dataclass
class Analysis:
    operation: OperationDefinitionNode
    requests: int = 0
    nodes: int = 0
    connections: list[str] = field(default_factory=list)

    @property
    def cost(self) -> int:
        return max(1, round(self.requests / 100))


def parse_and_validate(text: str) -> graphql.DocumentNode:
    """Parse and validate against the schema (cached by text: clients send the same queries)."""
    return _parse_and_validate(text)


@lru_cache(maxsize=256)
def _parse_and_validate(text: str) -> graphql.DocumentNode:
    try:
        doc = graphql.parse(text)
    except GraphQLError as exc:
        raise QueryRefused(validation_errors([exc])) from None
    errors = graphql.validate(schema(), doc)
    if errors:
        raise QueryRefused(validation_errors(errors))
    return doc


def analyze(doc: graphql.DocumentNode, operation_name: str | None, variables: Mapping[str, Any]) -> Analysis:
    """GitHub's static checks and cost of the operation that will run."""
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    frags = {d.name.value: d for d in doc.definitions if isinstance(d, graphql.FragmentDefinitionNode)}
    if operation_name:
        ops = [o for o in ops if o.name and o.name.value == operation_name]
        if not ops:
            raise QueryRefused([{"message": f"No operation named '{operation_name}'"}])
    elif len(ops) != 1:
        raise QueryRefused([{"message": "An operation name is required"}])
    op = ops[0]
    root = schema().get_root_type(op.operation)
    result = Analysis(op)
    errors: list[dict] = []

    def arg(node: FieldNode, name: str) -> Any:
        for a in node.arguments or ():
            if a.name.value == name:
                return value_from_ast_untyped(a.value, dict(variables))
        return None

    def skipped(node: Any) -> bool:
        for d in node.directives or ():
            cond = next(
                (value_from_ast_untyped(a.value, dict(variables)) for a in d.arguments or () if a.name.value == "if"),
                None,
            )
            if (d.name.value == "skip" and cond) or (d.name.value == "include" and not cond):
                return True
        return False

    def walk(sel_set: Any, parent: Any, mult: int, path: list[str]) -> None:
        for sel in sel_set.selections:
            if skipped(sel):
                continue
            if isinstance(sel, FragmentSpreadNode):
                frag = frags[sel.name.value]
                walk(frag.selection_set, schema().get_type(frag.type_condition.name.value), mult, path)
                continue
            if isinstance(sel, InlineFragmentNode):
                typ = schema().get_type(sel.type_condition.name.value) if sel.type_condition else parent
                walk(sel.selection_set, typ, mult, path)
                continue
            name = sel.name.value
            fdef = getattr(parent, "fields", {}).get(name)
            if fdef is None or sel.selection_set is None:
                continue
            named = get_named_type(fdef.type)
            here = [*path, (sel.alias or sel.name).value]
            if named.name.endswith("Connection"):
                first, last = arg(sel, "first"), arg(sel, "last")
                n = first if first is not None else last
                wants_items = any(
                    isinstance(s, FieldNode) and s.name.value in ("nodes", "edges")
                    for s in sel.selection_set.selections
                ) or any(not isinstance(s, FieldNode) for s in sel.selection_set.selections)
                if n is None and wants_items:
                    errors.append(
                        {
                            "type": "MISSING_PAGINATION_BOUNDARIES",
                            "path": here,
                            "locations": _loc(sel),
                            "message": f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.",
                        }
                    )
                    continue
                if n is not None and not 1 <= int(n) <= 100:
                    errors.append(
                        {
                            "type": "EXCESSIVE_PAGINATION",
                            "path": here,
                            "locations": _loc(sel),
                            "message": f"Requesting {n} records on the `{name}` connection exceeds the `{'first' if first is not None else 'last'}` limit of 100 records.",
                        }
                    )
                    continue
                n = int(n or 0)
                result.requests += mult
                result.nodes += mult * n
                result.connections.append(".".join(here))
                walk(sel.selection_set, named, mult * max(n, 1), here)
            else:
                walk(sel.selection_set, named, mult, here)

    walk(op.selection_set, root, 1, [])
    if errors:
        raise QueryRefused(errors)
    if result.nodes > MAX_NODES:
        raise QueryRefused(
            [
                {
                    "type": "MAX_NODE_LIMIT_EXCEEDED",
                    "message": f"This query requests up to {result.nodes:,} possible nodes which exceeds the maximum limit of {MAX_NODES:,}.",
                }
            ]
        )
    return result


# -- pagination --------------------------------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(cursor: str) -> str:
    try:
        return base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise GraphQLError(
            f"`{cursor}` does not appear to be a valid cursor.", extensions={"type": "INVALID_CURSOR_ARGUMENTS"}
        ) from None


def offset_cursor(i: int) -> str:
    return _b64(f"cursor:{i + 1}")


def paginate(
    items: list,
    args: Mapping[str, Any],
    cursor_of: Callable[[int, Any], str] | None = None,
    after_index: Callable[[str], int] | None = None,
) -> dict:
    """A connection over ``items`` for first/last/after/before (offset cursors by default)."""
    cursor_of = cursor_of or (lambda i, _item: offset_cursor(i))

    def index(cursor: str) -> int:
        if after_index is not None:
            return after_index(cursor)
        text = _unb64(cursor)
        if not text.startswith("cursor:"):
            raise GraphQLError(
                f"`{cursor}` does not appear to be a valid cursor.", extensions={"type": "INVALID_CURSOR_ARGUMENTS"}
            )
        return int(text.split(":", 1)[1]) - 1

    lo, hi = 0, len(items)
    if args.get("after"):
        lo = index(args["after"]) + 1
    if args.get("before"):
        hi = min(hi, index(args["before"]))
    lo = max(0, min(lo, len(items)))
    hi = max(lo, hi)
    first, last = args.get("first"), args.get("last")
    start, end = lo, hi
    if first is not None:
        end = min(hi, lo + first)
    if last is not None:
        start = max(start, end - last)
    window = items[start:end]
    cursors = [cursor_of(start + i, it) for i, it in enumerate(window)]
    return {
        "totalCount": len(items),
        "nodes": window,
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, window)],
        "pageInfo": {
            "hasNextPage": end < hi,
            "hasPreviousPage": start > lo or lo > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def keyset_cursor(pr: dict, key: str) -> str:
    return _b64("cursor:v2:" + json.dumps([pr[key], pr["number"]]))


def keyset_after(ordered: list[dict], key: str, desc: bool) -> Callable[[str], int]:
    def after_index(cursor: str) -> int:
        text = _unb64(cursor)
        if not text.startswith("cursor:v2:"):
            raise GraphQLError(
                f"`{cursor}` does not appear to be a valid cursor.", extensions={"type": "INVALID_CURSOR_ARGUMENTS"}
            )
        value, number = json.loads(text[len("cursor:v2:") :])
        mark = (value, number)
        # index of the last item at or before the cursor position in this order
        last = -1
        for i, pr in enumerate(ordered):
            k = (pr[key], pr["number"])
            if ((k > mark) if desc else (k < mark)) or k == mark:
                last = i
            else:
                break
        return last

    return after_index


def field_resolver(source: Any, info: graphql.GraphQLResolveInfo, **args: Any) -> Any:
    """Dict lookup; callables are resolvers; lists under ``*Connection`` types are paginated; a field
    a ``forbidden`` fault marked raises GitHub's FORBIDDEN (the field null, the rest of the node kept)."""
    if isinstance(source, Mapping):
        if source.get("__forbidden") == info.field_name:
            raise GraphQLError(FORBIDDEN_MESSAGE, extensions={"type": "FORBIDDEN", "saml_failure": False})
        value = source.get(info.field_name)
    else:
        value = getattr(source, info.field_name, None)
    if callable(value):
        return value(info, **args)
    if isinstance(value, list) and get_named_type(info.return_type).name.endswith("Connection"):
        if info.field_name == "assignees" and isinstance(source, Mapping) and source.get("__null_fault"):
            if source["__null_fault"] == "FORBIDDEN":
                raise GraphQLError(FORBIDDEN_MESSAGE, extensions={"type": "FORBIDDEN", "saml_failure": False})
            raise GraphQLError(
                f"Could not load {info.field_name} of pull request {source.get('number')} (timeout)",
                extensions={"type": "SERVICE_UNAVAILABLE"},
            )
        return paginate(value, args)
    return value
