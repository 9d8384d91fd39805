"""The fetch stage's HTTP client (httpx's own transport, stages/fetch/transport.py) and page checkpoints.

Against a real server on 127.0.0.1: a keep-alive connection is reused; one the
server closed is dropped and a new one opened instead of failing; the pool
holds at most ``--concurrency`` connections and speaks HTTP/1.1; a proxy from
the environment is used. Page checkpoints are Arrow IPC files now; pages
written as Parquet by an older version must still be read.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pyarrow as pa
import pytest

from pipeline.base.parquet import write_table
from stages.fetch.cache import RepoCache
from stages.fetch.clock import SystemClock
from stages.fetch.pages import SPEC, read_rows, rows_to_table, write_page
from stages.fetch.transport import Transport

BODY = b'{"ok": true}'
PROXY_VARS = [f"{scheme}_proxy" for scheme in ("http", "https", "all", "no")]
PROXY_VARS += [v.upper() for v in PROXY_VARS]


@pytest.fixture
def no_proxy_env(monkeypatch):
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


class KeepAliveServer:
    """A tiny HTTP/1.1 server: answers with keep-alive, records each request line; with
    ``close_after_answer`` it closes the connection after the answer once told to
    (``close_now``), as a server whose keep-alive timed out, and sets ``closed``."""

    def __init__(self, close_after_answer: bool = False, delay: float = 0.0) -> None:
        self.close_after_answer = close_after_answer
        self.delay = delay
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self.lines: list[bytes] = []
        self.close_now = asyncio.Event()
        self.closed = asyncio.Event()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.lines.append(head.split(b"\r\n", 1)[0])
                await asyncio.sleep(self.delay)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(BODY)}\r\n\r\n".encode()
                    + BODY
                )
                await writer.drain()
                if self.close_after_answer:
                    await self.close_now.wait()
                    self.close_now.clear()
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        self.open -= 1
        writer.close()
        await writer.wait_closed()
        self.closed.set()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


def _client(url: str, concurrency: int = 8) -> httpx.AsyncClient:
    return Transport(api_url=url, token=None, clock=SystemClock(), concurrency=concurrency).client


async def test_connection_closed_by_the_server_is_dropped_not_reused(no_proxy_env):
    server = KeepAliveServer(close_after_answer=True)
    async with server as url:
        async with _client(url) as client:
            first = await client.get(url + "/a")
            assert first.json() == {"ok": True}
            server.close_now.set()
            await server.closed.wait()  # the server closed its end: the FIN is in the client's socket
            second = await client.get(url + "/b")  # must not be sent on the dead connection
            assert second.json() == {"ok": True}
            assert server.connections == 2
            assert server.lines == [b"GET /a HTTP/1.1", b"GET /b HTTP/1.1"]


async def test_open_keep_alive_connection_is_reused(no_proxy_env):
    server = KeepAliveServer()
    async with server as url:
        async with _client(url) as client:
            for i in range(3):
                assert (await client.get(f"{url}/{i}")).json() == {"ok": True}
            assert server.connections == 1
            assert server.lines == [b"GET /0 HTTP/1.1", b"GET /1 HTTP/1.1", b"GET /2 HTTP/1.1"]


async def test_the_pool_holds_at_most_concurrency_connections(no_proxy_env):
    server = KeepAliveServer(delay=0.05)
    async with server as url:
        async with _client(url, concurrency=3) as client:
            answers = await asyncio.gather(*(client.get(f"{url}/{i}") for i in range(9)))
            assert [a.json() for a in answers] == [{"ok": True}] * 9
            assert server.most_open == 3 and server.connections == 3
            assert all(line.endswith(b" HTTP/1.1") for line in server.lines) and len(server.lines) == 9


async def test_a_proxy_from_the_environment_is_used(no_proxy_env):
    proxy = KeepAliveServer()
    async with proxy as proxy_url:
        no_proxy_env.setenv("HTTP_PROXY", proxy_url)
        async with _client("http://api.example.invalid") as client:
            assert (await client.get("http://api.example.invalid/graphql")).json() == {"ok": True}
        assert proxy.lines == [b"GET http://api.example.invalid/graphql HTTP/1.1"]  # absolute form: via the proxy


# -- page checkpoints -------------------------------------------------------------


def _rows(n: int, start: int = 1) -> list[dict]:
    rows = []
    for i in range(start, start + n):
        rows.append(
            {
                "repo": "acme/widgets",
                "number": i,
                "id": f"PR_{i}",
                "title": f"PR {i} \u00e9\U0001f600",
                "state": "MERGED" if i % 2 else "OPEN",
                "createdAt": "2026-01-01T00:00:00Z",
                "updatedAt": f"2026-01-02T00:00:{i:02d}Z",
                "labels": [{"name": "bug", "color": "red"}] if i % 3 else [],
                "assignees": None,
                "reviews": [{"databaseId": i, "author": {"login": "ann", "databaseId": 5}, "state": "APPROVED"}],
            }
        )
    return rows


def test_page_checkpoint_round_trips_exactly(tmp_path):
    table = rows_to_table(_rows(7))
    path = tmp_path / "p000001.arrow"
    write_page(table, path)
    back = read_rows(path)
    assert back.schema == SPEC.schema
    assert back.to_pylist() == table.to_pylist()
    assert back.column("labels").to_pylist()[2] == [] and back.column("assignees").to_pylist()[0] is None


def test_unreadable_page_is_an_integrity_error(tmp_path):
    from pipeline.base.errors import IntegrityError

    path = tmp_path / "p000001.arrow"
    path.write_bytes(b"not arrow")
    with pytest.raises(IntegrityError, match=r"p000001\.arrow is not a readable cache file"):
        read_rows(path)


def test_pages_from_an_older_version_parquet_are_still_read(tmp_path):
    cache = RepoCache(tmp_path, "acme/widgets")
    old = cache.pages_dir / "p000001.parquet"  # what a killed run of the previous version left
    write_table(rows_to_table(_rows(3)), SPEC, old)
    cache.state_path.write_text(json.dumps({"version": 1, "repo": "acme/widgets", "pages": [old.name], "next_page": 2}))
    (cache.pages_dir / "p000009.parquet").write_bytes(b"orphan")  # in flight when that run died
    (cache.pages_dir / "p000010.arrow").write_bytes(b"orphan")
    state = cache.load_state()
    assert sorted(p.name for p in cache.pages_dir.iterdir()) == ["p000001.parquet"]
    again = _rows(2, start=3)
    again[0]["title"] = "edited"  # number 3 again, same updatedAt: the later fetch wins
    cache.commit_page(again, state)
    assert json.loads(cache.state_path.read_text())["pages"] == ["p000001.parquet", "p000002.arrow"]
    got = cache.table()
    assert sorted(got.column("number").to_pylist()) == [1, 2, 3, 4]
    three = [r for r in got.to_pylist() if r["number"] == 3]
    assert three[0]["title"] == "edited"
    assert cache.compact(state) == 4
    assert not list(cache.pages_dir.iterdir())
    assert isinstance(cache.table(), pa.Table) and cache.table().num_rows == 4
