"""REST endpoints of the fake: pulls list/detail/reviews/commits/files, rate_limit.

Pagination by ``page``/``per_page`` (default 30, max 100) with a ``link``
header (next/prev/first/last); ``etag`` on every 200 and ``304 Not Modified``
for a matching ``If-None-Match`` (not charged). Without a token the budget is
per IP (60/hour); an exhausted budget answers 403 with remaining 0.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import urlencode

from tests.fake_github.dataset import CHANGE_TO_STATUS, rest_login
from tests.fake_github.server import DOCS, Answer, Record, _json

_ROUTE = re.compile(r"^/repos/([^/]+)/([^/]+)/pulls(?:/(\d+)(?:/(reviews|commits|files))?)?$")
CAPS = {"commits": 250, "files": 3000}


def _user(u: dict | None) -> dict | None:
    if u is None:
        return None
    return {"login": rest_login(u), "id": u["databaseId"], "type": u["__typename"], "node_id": f"U_{u['databaseId']}"}


def list_item(repo: str, p: dict) -> dict:
    ms = p["milestone"]
    return {
        "url": f"/repos/{repo}/pulls/{p['number']}",
        "number": p["number"],
        "node_id": p["id"],
        "state": "open" if p["state"] == "OPEN" else "closed",
        "title": p["title"],
        "body": p["body"],
        "draft": p["isDraft"],
        "user": _user(p["author"]),
        "labels": [{"name": x["name"], "color": x["color"]} for x in p["labels"]],
        "milestone": None if ms is None else {"title": ms["title"], "number": ms["number"], "due_on": ms["dueOn"]},
        "assignees": [_user(a) for a in p["assignees"]],
        "created_at": p["createdAt"],
        "updated_at": p["updatedAt"],
        "closed_at": p["closedAt"],
        "merged_at": p["mergedAt"],
        "head": {"ref": p["headRefName"]},
        "base": {"ref": p["baseRefName"]},
    }


def detail(repo: str, p: dict) -> dict:
    return {
        **list_item(repo, p),
        "merged": p["state"] == "MERGED",
        "merged_by": _user(p["mergedBy"]),
        "comments": len(p["comments"]),
        "review_comments": 0,
        "commits": len(p["commits"]),
        "additions": p["additions"],
        "deletions": p["deletions"],
        "changed_files": p["changedFiles"],
    }


def review(r: dict) -> dict:
    return {
        "id": r["databaseId"],
        "user": _user(r["author"]),
        "body": r["body"],
        "state": r["state"],
        "submitted_at": r["submittedAt"],
    }


def commit(c: dict) -> dict:
    cc = c["commit"]
    return {
        "sha": cc["oid"],
        "commit": {
            "message": cc["message"],
            "author": {"name": "x", "email": "x@example.com", "date": cc["authoredDate"]},
            "committer": {"date": cc["committedDate"]},
        },
        "author": _user(cc["author"]["user"]),
    }


def file(f: dict) -> dict:
    return {
        "filename": f["path"],
        "status": CHANGE_TO_STATUS[f["changeType"]],
        "additions": f["additions"],
        "deletions": f["deletions"],
    }


def _link(base: str, query: dict[str, list[str]], page: int, last: int) -> str:
    def url(n: int) -> str:
        q = {k: v[0] for k, v in query.items()}
        q["page"] = str(n)
        return f"<{base}?{urlencode(q)}>"

    parts = []
    if page < last:
        parts += [f'{url(page + 1)}; rel="next"', f'{url(last)}; rel="last"']
    if page > 1:
        parts += [f'{url(1)}; rel="first"', f'{url(page - 1)}; rel="prev"']
    return ", ".join(parts)


def handle_rest(
    fake: Any, path: str, query: dict[str, list[str]], headers: dict[str, str], rid: str, crowded: bool
) -> Answer:
    uid, given = fake._user(headers)
    if given and uid is None:
        return _json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
    user = uid or "anon"
    with fake._lock:
        w = fake._get_window(user, "core")
    if path == "/rate_limit":
        return _json(
            200,
            {
                "resources": {
                    "core": {"limit": w.limit, "used": w.used, "remaining": w.limit - w.used, "reset": int(w.reset)}
                }
            },
            fake._rate_headers(w, "core", rid),
        )
    m = _ROUTE.match(path)
    route = "list" if m and not m.group(3) else (m.group(4) or "detail") if m else None
    repo_name = f"{m.group(1)}/{m.group(2)}" if m else None
    page = int((query.get("page") or ["1"])[0])
    rec = Record("rest", route, repo_name, str(page), int((query.get("per_page") or ["30"])[0]), time=fake.clock.now())
    fake.record(rec)
    fault = fake._fault("rest", route, repo_name, int(m.group(3)) if m and m.group(3) else None)
    delay = 0.0
    if fault is not None:
        rec.fault = fault.kind
        ans = fake.fault_answer(fault, "rest", rid, w, "core", repo_name)
        if ans is not None and ans.status != -1:
            rec.status = ans.status
            return ans
        delay = ans.delay if ans is not None else 0.0
    rate = fake._rate_headers(w, "core", rid)
    if crowded:
        return _json(403, {"message": "You have exceeded a secondary rate limit.", "documentation_url": DOCS}, rate)
    if w.used >= w.limit:
        rec.status = 403
        who = "127.0.0.1" if user == "anon" else f"user ID {user}"
        return _json(403, {"message": f"API rate limit exceeded for {who}.", "documentation_url": DOCS}, rate)
    repo = fake.dataset.get(repo_name) if repo_name else None
    if m is None or repo is None:
        rec.status = 404
        with fake._lock:
            w.used += 1
        return _json(
            404,
            {"message": "Not Found", "documentation_url": DOCS, "status": "404"},
            fake._rate_headers(w, "core", rid),
        )
    per_page = max(1, min(100, int((query.get("per_page") or ["30"])[0])))
    full = repo.full_name
    link = ""
    if route == "list":
        direction = (query.get("direction") or ["desc"])[0].upper()
        sort = (query.get("sort") or ["created"])[0]
        items = fake.dataset.ordered(full, "UPDATED_AT" if sort == "updated" else "CREATED_AT", direction)
        state = (query.get("state") or ["open"])[0]
        if state != "all":
            items = [p for p in items if (p["state"] == "OPEN") == (state == "open")]
        last = max(1, -(-len(items) // per_page))
        payload: Any = [list_item(full, p) for p in items[(page - 1) * per_page : page * per_page]]
        link = _link(f"http://{headers.get('host', '127.0.0.1')}{path}", query, page, last)
    else:
        with fake.dataset.lock:
            pr = repo.prs.get(int(m.group(3)))
        if pr is None:
            rec.status = 404
            return _json(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, rate)
        if route == "detail":
            payload = detail(full, pr)
        else:
            conv = {"reviews": review, "commits": commit, "files": file}[route]
            items = pr[route][: CAPS.get(route, 10**9)]
            last = max(1, -(-len(items) // per_page))
            payload = [conv(x) for x in items[(page - 1) * per_page : page * per_page]]
            link = _link(f"http://{headers.get('host', '127.0.0.1')}{path}", query, page, last)
    body = json.dumps(payload).encode()
    etag = 'W/"' + hashlib.sha1(body).hexdigest() + '"'
    if headers.get("if-none-match") == etag:
        rec.status = 304
        return Answer(304, b"", {**rate, "etag": etag}, delay=delay)
    with fake._lock:
        w.used += 1
    rate = fake._rate_headers(w, "core", rid)
    extra = {"etag": etag, **({"link": link} if link else {})}
    rec.status = 200
    ans = _json(200, payload, {**rate, **extra})
    ans.delay = delay
    return ans
