"""normalize: raw PR nodes in GraphQL shape -> gh_* tables, value by value.

The raw nodes are written by hand in the shape GitHub's GraphQL API returns
(and ``stages.fetch`` caches): nested lists, ISO-8601 strings with offsets,
null actors, ``ghost``, bots, NUL bytes, broken UTF-8, duplicates.
"""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pytest

from pipeline.base.hashing import content_hash
from pipeline.base.parquet import read_table, write_table
from pipeline.base.schemas import GH_RAW_PULL_REQUESTS, NORMALIZED_TABLES, spec
from stages.normalize import normalize
from stages.normalize.text import clean_strings

UTC = dt.UTC


def ts(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).astimezone(UTC)


def user(login: str | None, uid: int | None = None) -> dict | None:
    return None if login is None and uid is None else {"login": login, "databaseId": uid}


def pr_node(repo: str, number: int, **fields) -> dict:
    """A PR node as GraphQL returns it; unspecified fields get plain values."""
    node = {
        "repo": repo,
        "number": number,
        "id": f"PR_{repo}#{number}",
        "title": f"PR {number}",
        "body": "",
        "state": "OPEN",
        "isDraft": False,
        "createdAt": "2025-06-02T09:00:00Z",
        "updatedAt": "2025-06-02T09:00:00Z",
        "mergedAt": None,
        "closedAt": None,
        "additions": 10,
        "deletions": 2,
        "changedFiles": 1,
        "author": user("alice", 11),
        "mergedBy": None,
        "headRefName": "feature",
        "baseRefName": "main",
        "labels": [],
        "milestone": None,
        "assignees": [],
        "closingIssuesReferences": [],
        "reviews": [],
        "reviewsTotalCount": None,
        "commits": [],
        "commitsTotalCount": None,
        "files": [],
        "filesTotalCount": None,
        "commentsTotalCount": 0,
    }
    node.update(fields)
    return node


def review(rid: int | None, login: str | None, state: str, at: str | None, uid: int | None = None, body: str = ""):
    return {"databaseId": rid, "author": user(login, uid), "state": state, "submittedAt": at, "body": body}


def commit(oid: str | None, message: str, at: str, login: str | None = None, uid: int | None = None, add=1, dele=0):
    return {
        "oid": oid,
        "message": message,
        "authoredDate": at,
        "committedDate": at,
        "additions": add,
        "deletions": dele,
        "author": user(login, uid),
    }


def file(path: str | None, change: str | None, add=1, dele=0):
    return {"path": path, "additions": add, "deletions": dele, "changeType": change}


def raw_table(nodes: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(nodes, schema=GH_RAW_PULL_REQUESTS.schema)


def unsafe_strings(values: list[bytes | None]) -> pa.Array:
    """A string array holding arbitrary bytes (what a lax JSON decoder can produce)."""
    b = pa.array(values, pa.binary())
    return pa.Array.from_buffers(pa.string(), len(b), b.buffers(), null_count=b.null_count)


# --------------------------------------------------------------------------
# The awkward dataset
# --------------------------------------------------------------------------
COAUTHOR_MSG = (
    "Add thing\n\nCo-authored-by: Claude <noreply@anthropic.com>\r\n"
    "co-authored-by:   Bob   B  <bob@x.com>\nCo-authored-by: Claude <noreply@anthropic.com>\n"
)


def awkward_nodes() -> list[dict]:
    a1 = pr_node(
        "acme/api",
        1,
        title="Fix\x00 bug",
        state="MERGED",
        createdAt="2020-07-06T20:54:26+01:00",
        updatedAt="2020-07-08T00:00:00Z",
        mergedAt="2020-07-07T10:00:00-07:00",
        closedAt=None,
        author=user("alice", 11),
        mergedBy=user("bob", 12),
        labels=[{"name": "bug", "color": "f00"}, {"name": "bug", "color": "f00"}, {"name": "ui", "color": "0f0"}],
        milestone={"title": "v1.0", "number": 1, "dueOn": None},
        assignees=[user("alice", 11), user("ghost", 10137), None],
        closingIssuesReferences=[{"number": 5, "title": "x"}, {"number": 7, "title": "y"}, {"number": 5, "title": "x"}],
        reviews=[
            review(101, "bob", "APPROVED", "2020-07-07T12:00:00+02:00", 12, body="ok\x00"),
            review(102, "carol", "PENDING", None, 13),
            review(103, "dave", "DISMISSED", "2020-07-06T21:00:00Z", 14),
            review(104, "carol", "changes_requested", "2020-07-06T22:00:00Z", 13),
            review(105, "ghost", "COMMENTED", "2020-07-06T23:00:00Z", 10137),
            None,
            review(106, "coderabbitai[bot]", "COMMENTED", "2020-07-06T20:00:00Z"),
            review(107, "erin", "WEIRD", "2020-07-06T20:30:00Z", 15),
            review(101, "bob", "APPROVED", "2020-07-07T12:00:00+02:00", 12),
        ],
        reviewsTotalCount=9,
        commits=[
            commit("c1", COAUTHOR_MSG, "2020-07-06T21:00:00+00:00", "alice", 11, add=5, dele=1),
            commit("c2", "bump deps", "2020-07-06T22:00:00Z", "dependabot"),
            commit("c1", COAUTHOR_MSG, "2020-07-06T21:00:00+00:00", "alice", 11),
            commit(None, "lost", "2020-07-06T22:00:00Z"),
            commit("c3", "by a non-GitHub e-mail", "2020-07-07T08:00:00-07:00"),
        ],
        commitsTotalCount=3,
        files=[
            file("src/a.py", "ADDED", 3, 0),
            file("src/b.py", "removed", 0, 4),
            file("src/c.py", "COPIED"),
            file("src/d.py", None),
            file("src/a.py", "MODIFIED"),
            None,
        ],
        commentsTotalCount=4,
    )
    a1_old = dict(a1, title="old title", updatedAt="2020-07-07T00:00:00Z", reviews=[], commits=[], files=[])
    return [
        a1_old,
        pr_node(
            "acme/web",
            1,
            title="Same number, other repo",
            state="CLOSED",
            createdAt="2024-03-04T10:00:00Z",
            mergedAt="2024-03-05T10:00:00Z",
            closedAt="2024-03-05T10:00:00Z",
            author=user("ghost", 10137),
        ),
        pr_node(
            "acme/api",
            2,
            state="OPEN",
            isDraft=True,
            createdAt="2024-01-01T00:00:00",
            updatedAt="2024-01-02T00:00:00Z",
            closedAt="2024-01-01T12:00:00Z",
            author=user("renovate[bot]"),
            additions=None,
            changedFiles=None,
            files=[file("x", "MODIFIED"), file("y", "ADDED")],
        ),
        pr_node(
            "acme/api",
            3,
            state="merged",
            createdAt="2024-02-01T00:00:00Z",
            updatedAt="2024-02-03T00:00:00Z",
            closedAt="2024-02-02T00:00:00Z",
            author=None,
            reviewsTotalCount=4,
        ),
        pr_node("acme/api", 4, createdAt="garbage"),
        pr_node("acme/api", 5, state="LOCKED"),
        pr_node("acme/api", 6, state="MERGED", createdAt="2024-02-01T00:00:00Z", updatedAt="2024-02-09T00:00:00Z"),
        a1,
    ]


@pytest.fixture(scope="module")
def result():
    return normalize(raw_table(awkward_nodes()))


def rows(result, name: str) -> list[dict]:
    return result.tables[name].to_pylist()


def test_pull_requests_value_by_value(result):
    prs = {(r["repo"], r["number"]): r for r in rows(result, "gh_pull_requests")}
    assert list(prs) == [("acme/api", 1), ("acme/api", 2), ("acme/api", 3), ("acme/api", 6), ("acme/web", 1)]

    a1 = prs[("acme/api", 1)]
    assert a1["title"] == "Fix bug"  # newest updatedAt wins over "old title"; NUL removed
    assert a1["state"] == "merged"
    assert a1["created_at"] == dt.datetime(2020, 7, 6, 19, 54, 26, tzinfo=UTC)
    assert a1["merged_at"] == dt.datetime(2020, 7, 7, 17, 0, tzinfo=UTC)
    assert a1["closed_at"] == a1["merged_at"]  # merged without closedAt
    assert a1["updated_at"] == dt.datetime(2020, 7, 8, tzinfo=UTC)
    assert (a1["author_login"], a1["author_id"], a1["author_is_bot"]) == ("alice", 11, False)
    assert a1["merged_by_login"] == "bob"
    assert a1["labels"] == ["bug", "ui"]
    assert a1["assignees"] == ["alice"]
    assert a1["linked_issues"] == [5, 7]
    assert a1["milestone_title"] == "v1.0"
    assert (a1["review_count"], a1["commit_count"], a1["comment_count"]) == (5, 3, 4)
    assert (a1["head_ref"], a1["base_ref"], a1["node_id"]) == ("feature", "main", "PR_acme/api#1")

    web1 = prs[("acme/web", 1)]
    assert web1["title"] == "Same number, other repo"
    assert web1["state"] == "merged"  # REST-style CLOSED + mergedAt
    assert (web1["author_login"], web1["author_id"], web1["author_is_bot"]) == (None, None, False)

    a2 = prs[("acme/api", 2)]
    assert a2["state"] == "open" and a2["closed_at"] is None and a2["is_draft"] is True
    assert a2["created_at"] == dt.datetime(2024, 1, 1, tzinfo=UTC)  # no offset read as UTC
    assert (a2["author_login"], a2["author_id"], a2["author_is_bot"]) == ("renovate[bot]", None, True)
    assert (a2["additions"], a2["changed_files"]) == (0, 2)

    a3 = prs[("acme/api", 3)]
    assert a3["state"] == "merged" and a3["merged_at"] == dt.datetime(2024, 2, 2, tzinfo=UTC)
    assert a3["author_login"] is None

    a6 = prs[("acme/api", 6)]
    assert a6["merged_at"] == dt.datetime(2024, 2, 9, tzinfo=UTC) == a6["closed_at"]


def test_reviews_value_by_value(result):
    got = [
        (
            r["repo"],
            r["number"],
            r["review_id"],
            r["reviewer_login"],
            r["reviewer_id"],
            r["reviewer_is_bot"],
            r["reviewer_is_ai_bot"],
            r["state"],
        )
        for r in rows(result, "gh_reviews")
    ]
    assert got == [
        ("acme/api", 1, 106, "coderabbitai[bot]", None, True, True, "commented"),
        ("acme/api", 1, 103, "dave", 14, False, False, "commented"),
        ("acme/api", 1, 104, "carol", 13, False, False, "changes_requested"),
        ("acme/api", 1, 105, None, None, False, False, "commented"),
        ("acme/api", 1, 101, "bob", 12, False, False, "approved"),
    ]
    by_id = {r["review_id"]: r for r in rows(result, "gh_reviews")}
    assert by_id[101]["submitted_at"] == dt.datetime(2020, 7, 7, 10, 0, tzinfo=UTC)
    assert by_id[101]["body"] == "ok"


def test_commits_value_by_value(result):
    got = rows(result, "gh_commits")
    assert [(c["sha"], c["author_login"], c["author_id"], c["author_is_bot"]) for c in got] == [
        ("c1", "alice", 11, False),
        ("c2", "dependabot", None, True),
        ("c3", None, None, False),
    ]
    c1 = got[0]
    assert c1["co_authors"] == ["Claude <noreply@anthropic.com>", "Bob B <bob@x.com>"]
    assert (c1["additions"], c1["deletions"]) == (5, 1)
    assert c1["committed_at"] == dt.datetime(2020, 7, 6, 21, 0, tzinfo=UTC)
    assert got[2]["committed_at"] == dt.datetime(2020, 7, 7, 15, 0, tzinfo=UTC)
    assert got[1]["co_authors"] == []
    assert [(c["ai_tools"], c["ai_co_authors"]) for c in got] == [(["claude"], ["Claude"]), ([], []), ([], [])]


def test_files_value_by_value(result):
    got = [
        (f["repo"], f["number"], f["path"], f["status"], f["additions"], f["deletions"], f["file_category"])
        for f in rows(result, "gh_files")
    ]
    assert got == [
        ("acme/api", 1, "src/a.py", "added", 3, 0, "backend"),
        ("acme/api", 1, "src/b.py", "removed", 0, 4, "backend"),
        ("acme/api", 1, "src/c.py", "added", 1, 0, "backend"),
        ("acme/api", 1, "src/d.py", "modified", 1, 0, "backend"),
        ("acme/api", 2, "x", "modified", 1, 0, "other"),
        ("acme/api", 2, "y", "added", 1, 0, "other"),
    ]


def test_ai_signals_and_file_categories_for_generate():
    """What generate needs to know about AI and files travels as columns of the gh_* tables."""
    node = pr_node(
        "acme/ai",
        1,
        reviews=[
            review(1, "copilot-pull-request-reviewer[bot]", "COMMENTED", "2025-06-02T10:00:00Z"),
            review(2, "dependabot[bot]", "COMMENTED", "2025-06-02T10:00:00Z"),  # a bot, not an AI reviewer
            review(3, "copilot", "COMMENTED", "2025-06-02T10:00:00Z"),  # GraphQL names app bots without [bot]
        ],
        commits=[
            commit("a1", "Do it\n\nCo-authored-by: OpenHands <openhands@all-hands.dev>", "2025-06-02T10:00:00Z",
                   "devin-ai-integration[bot]"),
            commit("a2", "Co-authored-by: Cursor Agent <cursoragent@cursor.com>\nCo-authored-by: Ann <a@x.io>",
                   "2025-06-02T11:00:00Z", "alice", 11),
        ],
        files=[file("CLAUDE.md", "ADDED"), file(".cursor/rules/style.mdc", "ADDED"),
               file("web/src/components/App.tsx", "MODIFIED"), file("src/api/routes.ts", "MODIFIED"),
               file("db/migrations/0001_init.py", "ADDED")],
    )  # fmt: skip
    res = normalize(raw_table([node]))
    assert [(r["review_id"], r["reviewer_is_bot"], r["reviewer_is_ai_bot"]) for r in rows(res, "gh_reviews")] == [
        (1, True, True),
        (2, True, False),
        (3, True, True),
    ]
    assert [(c["sha"], c["ai_tools"], c["ai_co_authors"]) for c in rows(res, "gh_commits")] == [
        ("a1", ["devin", "openhands"], ["OpenHands"]),
        ("a2", ["cursor"], ["Cursor Agent"]),
    ]
    assert [(f["path"], f["file_category"], f["is_ai_config"]) for f in rows(res, "gh_files")] == [
        (".cursor/rules/style.mdc", "other", True),  # the base name decides, not the dot directory
        ("CLAUDE.md", "docs", True),
        ("db/migrations/0001_init.py", "backend", False),
        ("src/api/routes.ts", "backend", False),
        ("web/src/components/App.tsx", "frontend", False),
    ]


def test_users_value_by_value(result):
    got = {u["login"]: u for u in rows(result, "gh_users")}
    assert list(got) == sorted(got)
    assert set(got) == {"alice", "bob", "carol", "dave", "coderabbitai[bot]", "dependabot", "renovate[bot]"}
    assert "ghost" not in got
    assert (got["alice"]["github_id"], got["alice"]["prs_authored"], got["alice"]["reviews_given"]) == (11, 2, 0)
    assert got["alice"]["first_seen_at"] == dt.datetime(2020, 7, 6, 19, 54, 26, tzinfo=UTC)
    assert (got["bob"]["github_id"], got["bob"]["prs_authored"], got["bob"]["reviews_given"]) == (12, 0, 1)
    assert got["carol"]["reviews_given"] == 1  # the PENDING review does not count
    assert [u for u, r in got.items() if r["is_bot"]] == ["coderabbitai[bot]", "dependabot", "renovate[bot]"]


def test_report_counts_every_repair_and_drop(result):
    rep = result.report
    assert rep["input_rows"] == 8
    assert rep["rows"] == {"gh_pull_requests": 5, "gh_reviews": 5, "gh_commits": 3, "gh_files": 6, "gh_users": 7}
    assert rep["repairs"] == {
        "commit: dropped, no oid": 1,
        "commit: duplicate repo/number/sha dropped": 1,
        "file: duplicate repo/number/path dropped": 1,
        "file: null node dropped": 1,
        "file: unknown or missing changeType set to modified": 1,
        "pr: MERGED without mergedAt, merged_at set from closedAt/updatedAt": 2,
        "pr: author 'ghost' (deleted user), author_login null": 1,
        "pr: author null (deleted user), author_login null": 1,
        "pr: deleted-user assignees dropped from assignees": 2,
        "pr: dropped, createdAt missing or unreadable": 1,
        "pr: dropped, unknown state": 1,
        "pr: duplicate (repo, number) dropped, newest updatedAt kept": 1,
        "pr: merged without closedAt, closed_at set to merged_at": 2,
        "pr: open with a closedAt (reopened), closed_at cleared": 1,
        "pr: state set to merged because mergedAt is present": 1,
        "review: DISMISSED mapped to commented": 1,
        "review: PENDING dropped (not a submitted review)": 1,
        "review: WEIRD dropped (not a submitted review)": 1,
        "review: duplicate repo/number/review_id dropped": 1,
        "review: null node dropped": 1,
        "review: reviewer deleted (null/ghost), reviewer_login null": 1,
        "text: reviews[].body: NUL bytes removed": 1,
        "text: title: NUL bytes removed": 1,
    }
    assert rep["bots"] == {"pr_authors": 1, "reviewers": 1, "users": 3}
    assert rep["incomplete"] == {"reviews": 1, "commits": 0, "files": 0}  # acme/api#3 lists 0 of 4


def test_output_is_independent_of_input_order_and_writes_identically(tmp_path, result):
    nodes = awkward_nodes()
    random.Random(7).shuffle(nodes)
    again = normalize(raw_table(nodes))
    for t in NORMALIZED_TABLES:
        assert content_hash(again.tables[t.name]) == content_hash(result.tables[t.name]), t.name
        a = write_table(result.tables[t.name], t, tmp_path / "a" / f"{t.name}.parquet")
        write_table(again.tables[t.name], t, tmp_path / "b" / f"{t.name}.parquet")
        assert (tmp_path / "a" / f"{t.name}.parquet").read_bytes() == (
            tmp_path / "b" / f"{t.name}.parquet"
        ).read_bytes()
        assert read_table(tmp_path / "a" / f"{t.name}.parquet", t).equals(a)


def test_invalid_utf8_and_lone_surrogates_are_removed():
    nodes = [pr_node("acme/api", 1, reviews=[review(1, "bob", "APPROVED", "2025-06-02T10:00:00Z", 12)])]
    table = raw_table(nodes)
    # "ok" + a lone surrogate as a lax decoder stores it (CESU-8) + an invalid byte + NUL
    table = table.set_column(
        table.schema.get_field_index("body"), table.schema.field("body"), unsafe_strings([b"ok\xed\xa0\xbd\xff!\x00"])
    )
    reviews = table.column("reviews").chunk(0)
    rv = reviews.values
    idx = [rv.type.get_field_index(n) for n in ("databaseId", "author", "state", "submittedAt", "body")]
    children = [rv.field(i) for i in idx[:4]] + [unsafe_strings([b"LGTM \xe2\x9c"])]
    bad_reviews = pa.ListArray.from_arrays(
        reviews.offsets, pa.StructArray.from_arrays(children, fields=list(rv.type)), type=reviews.type
    )
    table = table.set_column(table.schema.get_field_index("reviews"), table.schema.field("reviews"), bad_reviews)
    with pytest.raises(pa.ArrowInvalid):
        table.validate(full=True)

    res = normalize(table)
    assert res.tables["gh_pull_requests"].column("body").to_pylist() == ["ok!"]
    assert res.tables["gh_reviews"].column("body").to_pylist() == ["LGTM "]
    assert res.report["repairs"] == {
        "text: body: NUL bytes removed": 1,
        "text: body: invalid UTF-8 removed": 1,
        "text: reviews[].body: invalid UTF-8 removed": 1,
    }
    for t in res.tables.values():
        t.validate(full=True)


def test_clean_strings_leaves_clean_tables_untouched():
    table = raw_table([pr_node("acme/api", 1, title="héllo ✓")])
    cleaned, repairs = clean_strings(table)
    assert repairs == {}
    assert cleaned.equals(table.combine_chunks())


def test_empty_input_gives_empty_tables():
    res = normalize(raw_table([]))
    for t in NORMALIZED_TABLES:
        assert res.tables[t.name].num_rows == 0
        assert res.tables[t.name].schema == spec(t.name).schema
    assert res.report["repairs"] == {}


def test_same_number_in_two_repos_never_mixes(result):
    prs = rows(result, "gh_pull_requests")
    assert [(p["repo"], p["number"], p["review_count"]) for p in prs if p["number"] == 1] == [
        ("acme/api", 1, 5),
        ("acme/web", 1, 0),
    ]
    assert {r["repo"] for r in rows(result, "gh_reviews")} == {"acme/api"}
