"""Drive a local headless Chromium over the DevTools protocol (pipe transport, no extra packages).

Used to check the HTML reports in a real browser (console errors, network requests, what the DOM
shows) and to take the documented screenshot of the demo ticket. Chromium is Debian's `chromium`
package; nothing is downloaded. `--remote-debugging-pipe` speaks NUL-separated JSON on fds 3/4, so
no websocket client and no TCP port are needed.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    "--no-default-browser-check", "--disable-dev-shm-usage", "--remote-debugging-pipe",
)


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageReport:
    url: str
    console_errors: list[str] = field(default_factory=list)
    console_messages: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL requested except the page itself
    screenshot: bytes = b""
    pdf: bytes = b""
    values: dict[str, Any] = field(default_factory=dict)  # name -> result of an evaluated expression


def _high_fd(fd: int) -> int:
    """Move fd above 9 so that dup2 onto 3/4 in the child cannot clobber it."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return new


class Chromium:
    """One headless browser; `with Chromium() as b: b.open(path)`."""

    def __init__(self, binary: str | None = None, timeout: float = 30.0):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise BrowserError("chromium not found (Debian: apt-get install chromium)")
        self.timeout = timeout
        self._id = 0
        self._pending: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        self._profile = tempfile.mkdtemp(prefix="esa-diagnose-chromium-")
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        cmd_r, res_w = _high_fd(cmd_r), _high_fd(res_w)

        def child_fds() -> None:
            os.dup2(cmd_r, 3)
            os.dup2(res_w, 4)

        self.proc = subprocess.Popen(
            [self.binary, *FLAGS, f"--user-data-dir={self._profile}", "--window-size=1280,900", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=child_fds, pass_fds=(3, 4), close_fds=True,
        )
        os.close(cmd_r)
        os.close(res_w)
        self._w = os.fdopen(cmd_w, "wb", buffering=0)
        self._r = os.fdopen(res_r, "rb", buffering=0)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # -- transport
    def _read_loop(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self._r.read(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self._events.put({"method": "_closed"})
                for q in list(self._pending.values()):
                    q.put({"error": {"message": "browser closed"}})
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue
                if "id" in msg and msg["id"] in self._pending:
                    self._pending[msg["id"]].put(msg)
                else:
                    self._events.put(msg)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float | None = None) -> dict[str, Any]:
        with self._lock:
            self._id += 1
            mid = self._id
            q: queue.Queue[dict[str, Any]] = queue.Queue()
            self._pending[mid] = q
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        try:
            self._w.write(json.dumps(msg).encode() + b"\0")
        except BrokenPipeError as exc:
            raise BrowserError("chromium exited") from exc
        try:
            reply = q.get(timeout=timeout or self.timeout)
        except queue.Empty:
            raise BrowserError(f"no answer to {method} within {timeout or self.timeout}s") from None
        finally:
            self._pending.pop(mid, None)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    # -- pages
    def open(self, target: str | Path, *, evaluate: dict[str, str] | None = None, screenshot: bool = True,
             pdf: bool = False, width: int = 1280, settle: float = 0.3, media: str = "") -> PageReport:
        """Load a file or URL, wait for load, collect console errors and requests, evaluate expressions
        (name -> JavaScript expression, run by DevTools: the page's CSP does not apply to it), and take a
        full-page PNG screenshot (and a PDF as printed, when asked)."""
        url = Path(target).resolve().as_uri() if not str(target).startswith(("file:", "http:", "https:", "about:",
                                                                              "data:")) else str(target)
        report = PageReport(url=url)
        tid = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = self.send("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable", session=sid)
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=sid)
            if media:  # "print": lay the page out as it prints (checks run against the printed layout)
                self.send("Emulation.setEmulatedMedia", {"media": media}, session=sid)
            self._drain(sid, report, url)
            self.send("Page.navigate", {"url": url}, session=sid)
            deadline = time.monotonic() + self.timeout
            loaded = False
            while time.monotonic() < deadline and not loaded:
                loaded = self._drain(sid, report, url, wait=0.2, until="Page.loadEventFired")
            if not loaded:
                raise BrowserError(f"{url}: page did not finish loading")
            time.sleep(settle)
            self._drain(sid, report, url)
            for name, expr in (evaluate or {}).items():
                r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=sid)
                if "exceptionDetails" in r:
                    report.values[name] = BrowserError(str(r["exceptionDetails"].get("text")))
                else:
                    report.values[name] = r.get("result", {}).get("value")
            if screenshot:
                metrics = self.send("Page.getLayoutMetrics", session=sid)
                size = metrics.get("cssContentSize") or metrics.get("contentSize") or {}
                h = max(1, min(int(size.get("height", 900)), 16000))
                self.send("Emulation.setDeviceMetricsOverride",
                          {"width": width, "height": h, "deviceScaleFactor": 1, "mobile": False}, session=sid)
                shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                                 session=sid)
                report.screenshot = base64.b64decode(shot.get("data", ""))
            if pdf:
                out = self.send("Page.printToPDF", {"printBackground": False, "preferCSSPageSize": True}, session=sid)
                report.pdf = base64.b64decode(out.get("data", ""))
            self._drain(sid, report, url)
        finally:
            with contextlib.suppress(BrowserError):
                self.send("Target.closeTarget", {"targetId": tid}, timeout=5)
        return report

    def _drain(self, sid: str, report: PageReport, url: str, wait: float = 0.0, until: str | None = None) -> bool:
        """Record the events received so far; True when `until` was among them."""
        hit = False
        end = time.monotonic() + wait
        while True:
            timeout = max(0.0, end - time.monotonic())
            try:
                ev = self._events.get(timeout=timeout) if timeout else self._events.get_nowait()
            except queue.Empty:
                return hit
            method = ev.get("method", "")
            if method == "_closed":
                raise BrowserError("chromium exited")
            if ev.get("sessionId") not in (sid, None):
                continue
            p = ev.get("params", {})
            if method == until:
                hit = True
            if method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                report.console_messages.append(f"{p.get('type')}: {text}")
                if p.get("type") in ("error", "assert"):
                    report.console_errors.append(text)
            elif method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                report.console_errors.append(d.get("exception", {}).get("description") or d.get("text", "exception"))
            elif method == "Log.entryAdded":
                entry = p.get("entry", {})
                report.console_messages.append(f"{entry.get('level')}: {entry.get('text')}")
                if entry.get("level") == "error":
                    report.console_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
            elif method == "Network.requestWillBeSent":
                req_url = p.get("request", {}).get("url", "")
                if req_url != url and not req_url.startswith("about:"):
                    report.requests.append(req_url)
            elif method == "Network.loadingFailed" and p.get("blockedReason"):
                report.console_errors.append(f"blocked request ({p.get('blockedReason')})")

    def close(self) -> None:
        with contextlib.suppress(BrowserError):
            self.send("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for f in (self._w, self._r):
            with contextlib.suppress(OSError):
                f.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def screenshot(html: str | Path, png: str | Path, width: int = 1280) -> PageReport:
    """Write a full-page PNG of an HTML file; returns the page report (console errors, requests)."""
    with Chromium() as b:
        report = b.open(html, width=width)
    Path(png).write_bytes(report.screenshot)
    return report
