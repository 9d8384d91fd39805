"""The report page in a real browser: headless Chromium (Debian's ``chromium``, `make browser`).

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
NUL-separated JSON on file descriptors 3 and 4), so no WebDriver, no websocket
library and no port is needed. The page must load with no console error or
warning, no exception and no request but its own file; every chart must be
drawn (an SVG with marks in each snapshot's panel) from data equal to the
snapshots' weekly values; a full-page screenshot is taken.

Without chromium these tests skip with the reason shown, except under
CI=true, where they fail (.ci/run installs it with `make browser`).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from tests.test_report import ALL, CHART_IDS, WEEKLY_SERIES, manifest, png_size, rows_of, specs_in, team_weekly
from tests.test_report import snaps as snaps  # the fixture

pytestmark = pytest.mark.slow  # the quick edit-test loop: pytest -m 'not slow'

TIMEOUT = 60.0
WIDTH = 1400


class Chromium:
    """A headless Chromium and one DevTools session on a page, over a pipe."""

    def __init__(self, binary: str) -> None:
        cmd_r, self._w = os.pipe()  # we write commands, the browser reads fd 3
        self._r, res_w = os.pipe()  # the browser writes fd 4, we read
        # move the browser's ends out of the way, then put them on 3 and 4 in the child
        child_r, child_w = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
        os.close(cmd_r)
        os.close(res_w)
        self.profile = tempfile.mkdtemp(prefix="demoseed-chromium-")
        args = [
            binary,
            "--headless",
            "--remote-debugging-pipe",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={self.profile}",
            "about:blank",
        ]

        def fds() -> None:
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        self.proc = subprocess.Popen(
            args,
            pass_fds=(3, 4, child_r, child_w),
            preexec_fn=fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its helper processes form a group we can end
        )
        os.close(child_r)
        os.close(child_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def _message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            if select.select([self._r], [], [], left)[0]:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise EOFError("chromium closed the DevTools pipe")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        msg: dict[str, Any] = json.loads(raw)
        return msg

    def send(self, method: str, params: dict[str, Any] | None = None, *, page: bool = False) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if page:
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            got = self._message(deadline)
            if got.get("id") == self._id:
                if "error" in got:
                    raise RuntimeError(f"{method}: {got['error']}")
                result: dict[str, Any] = got["result"]
                return result
            self.events.append(got)

    def wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        for e in self.events:
            if e.get("method") == method:
                return e
        while True:
            got = self._message(deadline)
            self.events.append(got)
            if got.get("method") == method:
                return got

    def evaluate(self, expression: str) -> Any:
        res = self.send(
            "Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}, page=True
        )
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression[:60]}...: {res['exceptionDetails']}")
        return res["result"].get("value")

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=15)
        except (OSError, TimeoutError, EOFError, RuntimeError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group of the process this test started
            self.proc.wait(timeout=15)
        finally:
            os.close(self._w)
            os.close(self._r)
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        reason = "chromium is not installed (run 'make browser': apt-get install chromium)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true and {reason}: the report must be checked in a real browser")
        pytest.skip(reason)
    chromium = Chromium(binary)
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            chromium.send(f"{domain}.enable", page=True)
        yield chromium
    finally:
        chromium.close()


def open_page(b: Chromium, page: Path) -> str:
    """Load a page and wait until its charts are drawn; returns what the page says it rendered."""
    b.events.clear()
    b.send("Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False}, page=True)  # fmt: skip
    b.send("Page.navigate", {"url": page.as_uri()}, page=True)
    b.wait_for("Page.loadEventFired")
    rendered: str = b.evaluate("window.reportReady.then(() => document.body.dataset.rendered)")
    return rendered


# Per chart: its SVG's size, the marks drawn in each snapshot's panel, and the data Vega holds.
CHARTS_JS = """JSON.stringify(Array.from(document.querySelectorAll("div.chart")).map((div) => {
  const svg = div.querySelector("svg");
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  const panels = Array.from(div.querySelectorAll("g.role-scope"))
    .filter((g) => /^concat_\\d+_group$/.test(Array.from(g.classList).pop()));
  const marks = ".mark-line path, .mark-symbol path, .mark-rect path, .mark-area path";
  return {id: div.dataset.chart, svg: !!svg, width: box.width, height: box.height,
          marks: panels.map((g) => g.querySelectorAll(marks).length),
          data: window.reportViews[div.dataset.chart].data("values")};
}))"""


def problems(b: Chromium, page: Path) -> list[str]:
    """Console errors and warnings, exceptions, and requests for anything but the page itself."""
    out = []
    for e in b.events:
        method, p = e.get("method"), e.get("params") or {}
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            out.append(f"console.{p['type']}: " + " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))  # fmt: skip
        elif method == "Runtime.exceptionThrown":
            out.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
        elif method == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
            out.append(f"log {p['entry']['level']}: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        elif method == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if url != page.as_uri() and not url.startswith("data:"):
                out.append(f"request: {url}")
    return out


def test_every_snapshot_side_by_side_in_chromium(browser, snaps, tmp_path):
    order = [snaps[n] for n in ALL]
    page = tmp_path / "report.html"
    assert main(["report", *map(str, order), "-o", str(page)]) == 0
    specs = specs_in(page.read_text("utf-8"))
    assert open_page(browser, page) == str(len(CHART_IDS))
    charts = {c["id"]: c for c in json.loads(browser.evaluate(CHARTS_JS))}
    assert list(charts) == CHART_IDS
    for chart_id, c in charts.items():
        assert c["svg"] and c["width"] > 300 and c["height"] > 150, c
        assert len(c["marks"]) == len(order), (chart_id, c["marks"])
        assert all(n > 0 for n in c["marks"]), (chart_id, c["marks"])
        assert c["data"] == specs[chart_id]["datasets"]["values"], chart_id  # what Vega drew from
    # ... and that data is each snapshot's weekly table
    for snap in order:
        label, weeks = manifest(snap)["name"], team_weekly(snap)
        for chart_id, series in WEEKLY_SERIES.items():
            for s, column in series.items():
                got = [r["value"] for r in rows_of({"datasets": {"values": charts[chart_id]["data"]}}, label, series=s, kind="measured")]  # fmt: skip
                assert got == weeks.get_column(column).to_list(), (label, chart_id, s)
    assert problems(browser, page) == []
    # a full-page screenshot
    height = int(browser.evaluate("document.documentElement.scrollHeight"))
    shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1}}, page=True)  # fmt: skip
    image = base64.b64decode(shot["data"])
    (tmp_path / "screenshot.png").write_bytes(image)
    assert png_size(image) == (WIDTH, height) and height > 10 * 250


def test_one_snapshot_loads_clean(browser, snaps, tmp_path):
    page = tmp_path / "one.html"
    assert main(["report", str(snaps["detective-game"]), "-o", str(page)]) == 0
    assert open_page(browser, page) == str(len(CHART_IDS))
    charts = json.loads(browser.evaluate(CHARTS_JS))
    assert [c["marks"][0] > 0 for c in charts] == [True] * len(CHART_IDS)
    assert problems(browser, page) == []


def test_the_check_sees_a_broken_page(browser, tmp_path):
    """The browser checks can fail: a page that asks the network and logs an error is caught."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png">'
        '<script>window.reportReady = Promise.resolve(); document.body.dataset.rendered = "0";'
        'console.error("boom");</script></body></html>'
    )
    assert open_page(browser, page) == "0"
    found = problems(browser, page)
    assert "console.error: boom" in found and "request: http://127.0.0.1:9/x.png" in found
