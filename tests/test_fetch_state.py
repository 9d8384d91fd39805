"""The fetch cache's state: typed records, and ``state.json`` as the previous version wrote it.

``OLD_PAUSED_STATE`` is the ``state.json`` the previous version (untyped
dicts) wrote for ``acme/widgets`` (40 PRs) paused by an exhausted budget after
its first page; only the query hash is filled in, so the saved scan matches
today's queries. The new code must read it, write the same bytes back, and
resume from it.
"""

from __future__ import annotations

import json

import pytest

from pipeline.base.errors import IntegrityError
from stages.fetch.cache import MemoryCache, RepoCache
from stages.fetch.graphql import query_version
from stages.fetch.state import RepoState, Scan
from tests.fake_github import FakeGitHub
from tests.fake_github.testing import cached, diff, run_fetch, truth

OLD_PAUSED_STATE = """{
  "complete": false,
  "counts": {
    "pages_fetched": 1,
    "prs": 0
  },
  "etag": null,
  "incomplete": false,
  "last_check": null,
  "last_full_scan": null,
  "next_page": 2,
  "pages": [
    "p000001.arrow"
  ],
  "query_version": null,
  "repo": "acme/widgets",
  "scan": {
    "catchups": 0,
    "cursor": "Y3Vyc29yOnYyOlsiMjAyNS0xMi0zMFQxMjoyNDoyNloiLCAxNl0=",
    "done": false,
    "first_started": 1767614400.0,
    "full": true,
    "kind": "full",
    "null_nodes": 0,
    "pages": 1,
    "prs": 25,
    "query_version": "QUERY_VERSION",
    "since": null,
    "started": 1767614400.0,
    "stop_at": null,
    "until": null
  },
  "transport": "graphql",
  "version": 1,
  "watermark": null,
  "window_since": null
}
"""


def _old_state() -> str:
    return OLD_PAUSED_STATE.replace("QUERY_VERSION", query_version())


def test_old_state_json_loads_as_records_and_saves_the_same_bytes(tmp_path):
    cache = RepoCache(tmp_path, "acme/widgets")
    cache.state_path.parent.mkdir(parents=True)
    cache.state_path.write_text(_old_state())
    state = cache.load_state()
    assert state.transport == "graphql" and not state.complete and state.watermark is None
    assert state.scan == Scan(
        kind="full",
        stop_at=None,
        since=None,
        until=None,
        query_version=query_version(),
        cursor="Y3Vyc29yOnYyOlsiMjAyNS0xMi0zMFQxMjoyNDoyNloiLCAxNl0=",
        started=1767614400.0,
        first_started=1767614400.0,
        full=True,
        pages=1,
        prs=25,
    )
    assert cache.ledger.pages == ("p000001.arrow",) and cache.ledger.next_page == 2
    cache.state_path.unlink()
    cache.save_state(state)
    assert cache.state_path.read_text() == _old_state()


def test_a_paused_run_writes_what_the_old_version_wrote_and_resumes_from_it(tmp_path):
    raw = tmp_path / "raw" / "github"
    with FakeGitHub({"acme/widgets": 40}) as fake:
        fake.inject("primary", op="PullRequestsPage", repo="acme/widgets", skip=1)
        paused = run_fetch(fake, ["acme/widgets"], raw, max_wait=600)
        assert paused.repos["acme/widgets"].status == "paused"
        path = raw / "acme/widgets/state.json"
        assert path.read_text() == _old_state()
        path.write_text(_old_state())  # as the previous version left it
        fake.clock.advance(3601)
        again = run_fetch(fake, ["acme/widgets"], raw)
        st = again.repos["acme/widgets"]
        assert (st.status, st.mode, st.pages, st.prs_cached) == ("ok", "resumed", 1, 40)
        assert diff(cached(raw), truth(fake, ["acme/widgets"])) == ""
        done = json.loads(path.read_text())
        assert done["scan"] is None and done["pages"] == [] and done["counts"] == {"pages_fetched": 2, "prs": 40}


def test_keys_missing_from_an_older_state_take_their_defaults(tmp_path):
    cache = RepoCache(tmp_path, "acme/widgets")
    cache.state_path.parent.mkdir(parents=True)
    cache.state_path.write_text(json.dumps({"version": 1, "repo": "acme/widgets", "watermark": "2026-01-01T00:00:00Z"}))
    assert cache.load_state() == RepoState(watermark="2026-01-01T00:00:00Z")
    assert cache.ledger.pages == () and cache.ledger.next_page == 1


@pytest.mark.parametrize(
    "change",
    [
        {"complete": "yes"},
        {"watermark": 17},
        {"scan": {"kind": "sideways", "stop_at": None, "since": None, "until": None, "query_version": "q"}},
        {"scan": {"kind": "full"}},
        {"pages": "p000001.arrow"},
        {"counts": {"prs": "many"}},
        {"repo": "other/repo"},
        {"version": 2},
    ],
)
def test_a_state_json_that_does_not_fit_says_what_to_do(tmp_path, change):
    cache = RepoCache(tmp_path, "acme/widgets")
    cache.state_path.parent.mkdir(parents=True)
    cache.state_path.write_text(json.dumps({**json.loads(_old_state()), **change}))
    with pytest.raises(
        IntegrityError, match=r"state\.json is unreadable .*demoseed fetch --refresh --repo acme/widgets"
    ):
        cache.load_state()


def test_memory_and_disk_caches_keep_the_same_rows_and_state(tmp_path):
    def rows(title: str, *numbers: int) -> list[dict]:
        return [
            {"repo": "acme/widgets", "number": n, "id": f"PR_{n}", "title": title, "state": "OPEN", **_times(n)}
            for n in numbers
        ]

    def _times(n: int) -> dict:
        return {"createdAt": "2026-01-01T00:00:00Z", "updatedAt": f"2026-01-02T00:00:{n:02d}Z"}

    scan = Scan(kind="full", stop_at=None, since=None, until=None, query_version="q", cursor="c1", pages=1)
    for cache in (RepoCache(tmp_path, "acme/widgets"), MemoryCache("acme/widgets")):
        state = cache.load_state()
        assert state == RepoState()
        cache.commit_page(rows("first", 1, 2), RepoState(scan=scan))
        cache.commit_page(rows("second", 2, 3), RepoState(scan=scan))
        assert cache.load_state() == RepoState(scan=scan)
        assert cache.compact(RepoState(watermark="w")) == 3
        assert cache.load_state() == RepoState(watermark="w")
        got = sorted(cache.table().to_pylist(), key=lambda r: r["number"])
        assert [(r["number"], r["title"]) for r in got] == [(1, "first"), (2, "second"), (3, "second")]
        cache.drop()
        assert cache.load_state() == RepoState() and cache.table().num_rows == 0


def test_a_cache_written_before_withheld_fields_existed_still_loads(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from stages.fetch import load_raw
    from stages.fetch.pages import rows_to_table

    def rows(*numbers: int) -> list[dict]:
        return [
            {
                "repo": "acme/widgets",
                "number": n,
                "id": f"PR_{n}",
                "state": "OPEN",
                "createdAt": "2026-01-01T00:00:00Z",
                "updatedAt": f"2026-01-02T00:00:{n:02d}Z",
            }
            for n in numbers
        ]

    cache = RepoCache(tmp_path, "acme/widgets")
    cache.pages_dir.mkdir(parents=True)
    old = rows_to_table(rows(1, 2)).drop_columns(["withheld_fields"])  # the previous version's columns
    pq.write_table(old, cache.dir / "pull_requests.parquet")
    page = rows_to_table(rows(3)).drop_columns(["withheld_fields"])
    with pa.ipc.new_file(str(cache.pages_dir / "p000001.arrow"), page.schema) as writer:
        writer.write_table(page)
    state = json.loads(_old_state())
    cache.state_path.write_text(json.dumps({**state, "scan": None}))
    got = load_raw(tmp_path).to_pylist()
    assert [(r["number"], r["withheld_fields"]) for r in got] == [(1, None), (2, None), (3, None)]
    assert cache.compact(cache.load_state()) == 3
    assert pq.read_schema(cache.dir / "pull_requests.parquet").names[-1] == "withheld_fields"
