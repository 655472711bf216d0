"""Headless Chromium driven through the DevTools protocol, for tests/test_ui_browser.py.

The Debian `chromium` package (`make test` installs it when missing), started with a private
profile and `--remote-debugging-port=0`; the port it picked is read from the profile's
DevToolsActivePort file, and one page is driven over its WebSocket (the `websockets` client):
navigate, evaluate JavaScript, type as a keyboard does, take screenshots. No downloaded browser,
no WebDriver."""
from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


class BrowserFailure(AssertionError):
    """The browser did not start or a page did not get where the test expected."""


def chromium_binary() -> str:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserFailure("no chromium on PATH: run `make test` (it installs the Debian chromium package) "
                         "or `apt-get install chromium`")


class Browser:
    def __init__(self, folder: Path, width: int = 1440, height: int = 900):
        from websockets.sync.client import connect

        folder.mkdir(parents=True, exist_ok=True)
        profile = folder / "profile"
        self.log = open(folder / "chromium.log", "wb")
        self.process = subprocess.Popen(
            [chromium_binary(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--remote-debugging-port=0",
             "--remote-allow-origins=*", f"--user-data-dir={profile}", f"--window-size={width},{height}",
             "about:blank"], stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (active.exists() and active.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise BrowserFailure(f"chromium did not start (see {folder / 'chromium.log'})")
            time.sleep(0.2)
        port = int(active.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            pages = [t for t in json.loads(response.read()) if t["type"] == "page"]
        self.socket = connect(pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        self.ids = itertools.count(1)
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method: str, **params) -> dict:
        """One DevTools command; its result (events that arrive meanwhile are dropped)."""
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=120))
            if message.get("id") == number:
                if "error" in message:
                    raise BrowserFailure(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserFailure(f"script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'", 60, f"{url} to load")

    def wait_for(self, condition: str, seconds: float, what: str):
        """Poll a JavaScript expression until it is truthy; its value."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                value = self.evaluate(condition)
            except BrowserFailure:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserFailure(f"timed out after {seconds:.0f} s waiting for {what}")
            time.sleep(0.5)

    def type_into(self, selector: str, text: str) -> None:
        """Focus the element and type as a keyboard does (the page's own handlers see it)."""
        self.wait_for(f"!!document.querySelector({json.dumps(selector)})", 30, selector)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", text=text)

    def text(self) -> str:
        return self.evaluate("document.body ? document.body.innerText : ''") or ""

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        shot = self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        try:
            if getattr(self, "socket", None) is not None:
                self.socket.close()
        finally:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
            self.log.close()
