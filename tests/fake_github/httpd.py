"""The HTTP/1.1 layer of the fake: a threading server and a handler that
passes each request to :meth:`FakeGitHub.handle` and adds the latency."""

from __future__ import annotations

import contextlib
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_github.server import FakeGitHub, _json


class Server(ThreadingHTTPServer):
    request_queue_size = 256  # many clients connect at once; the default backlog (5) drops them
    daemon_threads = True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall
    server_fake: FakeGitHub

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        fake = self.server_fake
        try:
            ans = fake.handle(method, self.path, dict(self.headers.items()), body)
        except Exception as exc:  # a bug in the fake: say so loudly, as a 500 the client will retry
            traceback.print_exc()
            ans = _json(500, {"message": f"fake GitHub crashed: {type(exc).__name__}: {exc}"})
        delay = fake.latency + ans.delay
        if delay > 0:
            time.sleep(delay)
        if ans.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)
            return
        try:
            self.send_response_only(ans.status)
            for k, v in ans.headers.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(ans.body)))
            self.end_headers()
            if ans.body and method != "HEAD":
                self.wfile.write(ans.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout, a cancelled run)
            self.close_connection = True

    def handle(self) -> None:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            super().handle()

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")
