"""What the tests of build outputs share: where the build is, and an offline headless Chromium.

The browser is the Debian package `chromium`, driven through the Chrome DevTools
protocol over a pipe (--remote-debugging-pipe), which needs only the standard library.
It can reach no network: no host name resolves and every connection goes to a closed
port, so a page that still needs a CDN shows it.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# Where `make site-quick` builds (jupyter-book --path-output _build/check).
DEFAULT_SITE = ROOT / "_build" / "check" / "_build" / "html"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = (
    "install it with `apt-get update && apt-get install -y chromium` (Debian/Ubuntu; "
    ".ci/run does this), or set GENMOD_CHROMIUM to a Chromium or Chrome executable"
)


def site_dir() -> Path:
    """The html folder of the build under test: GENMOD_SITE, else the `make site-quick` build."""
    env = os.environ.get("GENMOD_SITE", "").strip()
    path = Path(env) if env else DEFAULT_SITE
    return path if path.is_absolute() else ROOT / path


def find_chromium() -> str | None:
    env = os.environ.get("GENMOD_CHROMIUM", "").strip()
    if env:
        return shutil.which(env)
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


class CDPError(RuntimeError):
    pass


class Chromium:
    """A headless Chromium without network, driven over the DevTools protocol on a pipe."""

    def __init__(self, executable: str, timeout: float = 60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="genmod-chromium-")
        self.log = open(Path(self.profile) / "chromium.log", "wb")
        args = [
            executable,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1280,900",
            # No network at all: no name resolves and every connection goes to a closed port.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=http://127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
            f"--user-data-dir={self.profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # The DevTools pipe is fd 3 (commands in) and fd 4 (replies out); the shell gives
        # Chromium our stdin and stdout there, and /dev/null as its own stdin and stdout.
        self.proc = subprocess.Popen(
            ["sh", "-c", 'exec "$@" 3<&0 4>&1 </dev/null >/dev/null', "sh", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        attached = self.call("Target.attachToTarget", targetId=target, flatten=True)
        self.session = attached["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Network.enable", session=True)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=1280,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )

    # -- the protocol -------------------------------------------------------------------
    def _send(self, message: dict) -> None:
        self.proc.stdin.write(json.dumps(message).encode() + b"\0")
        self.proc.stdin.flush()

    def _receive(self, deadline: float) -> dict:
        fd = self.proc.stdout.fileno()
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError(f"Chromium did not answer in {self.timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise CDPError(f"Chromium exited; its last words:\n{self.log_tail()}")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: bool = False, **params):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self._send(message)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for_event(self, method: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self.events):
                if event["method"] == method:
                    return self.events.pop(i)
            reply = self._receive(deadline)
            if "method" in reply:
                self.events.append(reply)

    def log_tail(self, lines: int = 20) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    # -- what the tests use ---------------------------------------------------------------
    def open(self, url: str) -> None:
        """Load a page and wait for its load event (deferred scripts, MathJax included, ran)."""
        self.events.clear()
        result = self.call("Page.navigate", session=True, url=url)
        if result.get("errorText"):
            raise CDPError(f"{url}: {result['errorText']}")
        # a new document; moving to an anchor of the same one loads nothing
        if "loaderId" in result:
            self.wait_for_event("Page.loadEventFired")

    def evaluate(self, expression: str):
        """Evaluate JavaScript in the page, awaiting a promise; return its JSON value."""
        result = self.call(
            "Runtime.evaluate",
            session=True,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise CDPError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def requests(self) -> list[str]:
        """URLs the page asked for since it was opened."""
        return [
            e["params"]["request"]["url"] for e in self.events
            if e["method"] == "Network.requestWillBeSent"
        ]

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (CDPError, OSError, ValueError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
