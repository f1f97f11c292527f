"""Headless Chromium driven over the Chrome DevTools Protocol, for the end-to-end page tests.

The lightest driver that works with Debian's ``/usr/bin/chromium``: the ``websockets`` client
Airflow already installs, no selenium, no browser download. :func:`chromium_path` finds the
browser and, on a fresh machine where we are root, installs the Debian package (``make test``
must run anywhere); elsewhere the tests skip with the reason, or fail when ``CI=true``.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " (CI=true: the browser tests must run)")
    pytest.skip(reason)


def chromium_path() -> Path:
    """Debian's chromium, installed with apt-get when missing and we are root."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        _unavailable(f"{CHROMIUM} is missing and we cannot install it (not root or no apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            _unavailable(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
    if not CHROMIUM.exists():
        _unavailable(f"apt-get installed chromium but {CHROMIUM} is still missing")
    return CHROMIUM


class Browser:
    """One headless Chromium with one page, spoken to over CDP."""

    def __init__(self, executable: Path, timeout: float = 30.0) -> None:
        from websockets.sync.client import connect

        self.timeout = timeout
        self.profile = Path(tempfile.mkdtemp(prefix="sentiment-chromium-"))
        self.process = subprocess.Popen(
            [str(executable), *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        self._wait(lambda: port_file.exists() and port_file.read_text().strip(), "DevTools port")
        port = int(port_file.read_text().split()[0])

        def page_socket() -> str | None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                targets = json.load(r)
            pages = [t for t in targets if t.get("type") == "page"]
            return pages[0]["webSocketDebuggerUrl"] if pages else None

        url = self._wait(page_socket, "a page target")
        self.socket = connect(url, max_size=None, open_timeout=timeout)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        self.send("Page.enable")
        self.send("Runtime.enable")

    def _wait(self, probe: Any, what: str) -> Any:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                value = probe()
            except OSError:
                value = None
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"chromium: no {what} within {self.timeout:.0f}s")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a CDP method and return its result; events seen meanwhile are kept."""
        message_id = next(self.ids)
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=self.timeout))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)
            if message.get("method") == "Page.javascriptDialogOpening":
                # Dismiss it so the page goes on; the test looks at self.events.
                self.socket.send(
                    json.dumps(
                        {
                            "id": next(self.ids),
                            "method": "Page.handleJavaScriptDialog",
                            "params": {"accept": False},
                        }
                    )
                )

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str) -> Any:
        """Poll a JavaScript expression until it is truthy."""
        # Only the truth value travels back: DOM nodes cannot be returned by value.
        return self._wait(lambda: self.evaluate(f"!!({expression})"), what)

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def type_into(self, selector: str, text: str) -> None:
        """Focus a field and type as a user does (React forms see real input events)."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", text=text)

    def dialogs(self) -> list[dict[str, Any]]:
        """Every alert/confirm/prompt the pages opened."""
        self.evaluate("1")  # drain pending events
        return [e for e in self.events if e.get("method") == "Page.javascriptDialogOpening"]

    def close(self) -> None:
        try:
            self.socket.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)
