"""The fetch stage's HTTP transport (stages/fetch/http.py) and page checkpoints.

The transport caches each connection's socket instead of asking anyio for it
on every pool check; it must still see a keep-alive connection the server
closed (and open a new one instead of failing), and answer httpcore's other
questions as before. Page checkpoints are Arrow IPC files now; pages written
as Parquet by an older version must still be read.
"""

from __future__ import annotations

import asyncio
import json
import ssl

import httpcore
import httpx
import pyarrow as pa
import pytest

from pipeline.base.parquet import write_table
from stages.fetch.cache import RepoCache
from stages.fetch.clock import SystemClock
from stages.fetch.http import CachedSocketStream, PooledTransport, env_proxies
from stages.fetch.pages import SPEC, read_rows, rows_to_table, write_page
from stages.fetch.transport import Transport

LIMITS = httpx.Limits(max_connections=2, max_keepalive_connections=2)
BODY = b'{"ok": true}'
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def no_proxy_env(monkeypatch):
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


class KeepAliveServer:
    """A tiny HTTP/1.1 server: answers with keep-alive; with ``close_after_answer``
    it closes the connection after the answer once told to (``close_now``), as a
    server whose keep-alive timed out."""

    def __init__(self, close_after_answer: bool) -> None:
        self.close_after_answer = close_after_answer
        self.connections = 0
        self.requests = 0
        self.close_now = asyncio.Event()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                assert head.startswith(b"GET /")
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
        writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


def _stream(transport: PooledTransport) -> CachedSocketStream:
    (conn,) = transport._pool.connections  # httpcore 1.0.9 internals (pinned)
    stream = conn._connection._network_stream
    assert isinstance(stream, CachedSocketStream)
    return stream


async def _until_readable(stream: CachedSocketStream) -> None:
    for _ in range(200):
        if stream.get_extra_info("is_readable"):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the closed connection never became readable")


async def test_connection_closed_by_the_server_is_dropped_not_reused():
    server = KeepAliveServer(close_after_answer=True)
    async with server as url:
        transport = PooledTransport(limits=LIMITS, tls=False)
        async with httpx.AsyncClient(transport=transport) as client:
            first = await client.get(url + "/a")
            assert first.json() == {"ok": True}
            stream = _stream(transport)
            assert stream.get_extra_info("is_readable") is False  # idle and open: kept for reuse
            server.close_now.set()
            await _until_readable(stream)  # the FIN arrived: idle + readable = closed by the server
            second = await client.get(url + "/b")  # must not be sent on the dead connection
            assert second.json() == {"ok": True}
            assert (server.connections, server.requests) == (2, 2)


async def test_open_keep_alive_connection_is_reused_and_answers_like_httpcore():
    server = KeepAliveServer(close_after_answer=False)
    async with server as url:
        transport = PooledTransport(limits=LIMITS, tls=False)
        async with httpx.AsyncClient(transport=transport) as client:
            for i in range(3):
                assert (await client.get(f"{url}/{i}")).json() == {"ok": True}
            assert (server.connections, server.requests) == (1, 3)
            stream = _stream(transport)
            assert stream.get_extra_info("is_readable") is False
            sock = stream.get_extra_info("socket")
            port = int(url.rsplit(":", 1)[1])
            assert sock.getpeername() == ("127.0.0.1", port)
            assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
            assert stream.get_extra_info("client_addr") == sock.getsockname()
            assert stream.get_extra_info("ssl_object") is None


def test_tls_context_only_for_https_api_urls(no_proxy_env):
    plain = Transport(api_url="http://127.0.0.1:1", token=None, clock=SystemClock())
    secure = Transport(api_url="https://api.github.com", token=None, clock=SystemClock())
    plain_pool = plain.client._transport._pool
    secure_pool = secure.client._transport._pool
    assert plain_pool._ssl_context is None  # httpcore would build a verifying one if a redirect went to https
    ctx = secure_pool._ssl_context
    assert isinstance(ctx, ssl.SSLContext) and ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert (secure_pool._max_connections, secure_pool._max_keepalive_connections) == (8, 8)
    assert (secure_pool._http1, secure_pool._http2) == (True, False)


def test_proxy_from_the_environment_keeps_httpx_transport(no_proxy_env):
    monkeypatch = no_proxy_env
    assert not env_proxies()
    assert isinstance(
        Transport(api_url="https://api.github.com", token=None, clock=SystemClock()).client._transport, PooledTransport
    )
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert env_proxies()
    client = Transport(api_url="https://api.github.com", token=None, clock=SystemClock()).client
    assert not isinstance(client._transport, PooledTransport)
    proxied = client._transport_for_url(httpx.URL("https://api.github.com/graphql"))
    assert isinstance(proxied._pool, httpcore.AsyncHTTPProxy)


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
