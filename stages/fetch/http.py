"""The run's HTTP transport: httpx over httpcore, minus per-request socket syscalls.

Why not plain ``httpx.AsyncHTTPTransport``: for every request, and again when
every response is closed, httpcore 1.0.9's connection pool asks each pooled
connection ``has_expired()``, which asks its stream ``get_extra_info("is_readable")``.
httpcore's anyio stream answers through anyio's typed attributes, and anyio's
``SocketStream.extra_attributes`` rebuilds its whole attribute map on each
lookup, calling ``getpeername()`` (a syscall) eagerly. With 8 pooled
connections that is ~17 getpeername calls per request (~1,500 for a 88-request
run, 0.13-0.19 s of CPU in this sandbox, on every repo's critical path).
Upstream knows the pool's per-request scanning cost (encode/httpcore#928, open).

:class:`CachedSocketBackend` is httpcore's own ``AnyIOBackend`` whose streams
remember the raw socket once, at connect time, and answer ``is_readable`` and
``socket`` from it. ``is_readable`` still polls the socket on every check, so a
keep-alive connection the server closed is still seen as expired and dropped
(``tests/test_fetch_http.py``); every other attribute goes to httpcore's code.

:class:`PooledTransport` is ``httpx.AsyncHTTPTransport`` (request/response
mapping, error mapping, close) with its pool built here: the same limits,
HTTP/1.1 only, no retries, plus the backend above. A TLS context (certifi
bundle, ``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured, as httpx does) is built
only for an ``https`` API URL: building one costs ~30 ms, useless against a
plain-HTTP fake or mirror (a redirect to https would still verify, with
httpcore's default context). httpx and httpcore are pinned (requirements.lock);
the one private name used is ``AsyncHTTPTransport._pool`` (httpx 0.28).

httpx honours proxy variables (``HTTPS_PROXY``...) only for a client without
an explicit transport, so when :func:`env_proxies` finds one the run keeps
httpx's own transport (``stages.fetch.transport.Transport``).
"""

from __future__ import annotations

import ssl
import urllib.request
from typing import Any

import anyio
import httpcore
import httpx
from httpcore._backends.anyio import AnyIOBackend, AnyIOStream
from httpcore._utils import is_socket_readable


class CachedSocketStream(AnyIOStream):
    """httpcore's anyio stream, with the raw socket looked up once."""

    def __init__(self, stream: anyio.abc.ByteStream, sock: Any) -> None:
        super().__init__(stream)
        self._sock = sock

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # idle + readable = the server closed it (httpcore's expiry rule)
            return is_socket_readable(self._sock)
        if info == "socket":
            return self._sock
        return super().get_extra_info(info)

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> CachedSocketStream:
        tls = await super().start_tls(ssl_context, server_hostname, timeout)
        assert isinstance(tls, AnyIOStream)
        return CachedSocketStream(tls._stream, self._sock)  # TLS runs over the same socket


def _cached(stream: httpcore.AsyncNetworkStream) -> CachedSocketStream:
    assert isinstance(stream, AnyIOStream)
    inner = stream._stream
    return CachedSocketStream(inner, inner.extra(anyio.abc.SocketAttribute.raw_socket, None))


class CachedSocketBackend(AnyIOBackend):
    """httpcore's anyio backend whose streams are :class:`CachedSocketStream`."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> CachedSocketStream:
        return _cached(await super().connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> CachedSocketStream:
        return _cached(await super().connect_unix_socket(path, timeout, socket_options))


class PooledTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` over a pool with :class:`CachedSocketBackend` (see module doc)."""

    def __init__(self, *, limits: httpx.Limits, tls: bool) -> None:
        # not super().__init__(): it would build a TLS context and a pool of its own
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context() if tls else None,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=CachedSocketBackend(),
        )


def env_proxies() -> bool:
    """Whether the environment names an HTTP(S) proxy (httpx reads the same ``getproxies()``)."""
    return any(scheme in ("http", "https", "all") for scheme in urllib.request.getproxies())
