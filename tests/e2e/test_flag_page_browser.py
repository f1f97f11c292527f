"""The flags page end to end: a real ``airflow api-server``, its login, headless Chromium.

The API server runs on a free loopback port with the SimpleAuthManager (Airflow 3's default),
one known user and password, the plugin from ``plugins/`` and a SQLite warehouse seeded with
three flags, one of whose posts is ``<script>alert(1)</script>``. The browser logs in on
Airflow's own login page, opens /sentiment/flags, changes a flag's status; the test then finds
the change in the warehouse, and checks the script text is shown as text and opened no dialog.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sentiment_monitor.warehouse import make_engine
from tests.e2e.browser import Browser, chromium_path
from tests.sentiment_monitor.flag_seed import SCRIPT_TEXT, seed

pytestmark = pytest.mark.e2e

USER, PASSWORD = "cm", "morning-coffee-42"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('warehouse') / 'warehouse.db'}"
    seed(url)
    return url


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory, warehouse: str) -> Iterator[str]:
    """``airflow api-server`` on a free port; yields its base URL."""
    folder = tmp_path_factory.mktemp("api-server")
    passwords = folder / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}), encoding="utf-8")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-secret-" + str(port),
        "AIRFLOW_CONN_SENTIMENT_WAREHOUSE": warehouse,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parents[2] / "include"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    log = (folder / "api-server.log").open("w")
    process = subprocess.Popen(
        [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=2):
                    break
            except (urllib.error.URLError, OSError) as error:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    text = (folder / "api-server.log").read_text()[-4000:]
                    raise RuntimeError(f"api-server did not start: {error}\n{text}") from None
                time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chrome = Browser(chromium_path())
    try:
        yield chrome
    finally:
        chrome.close()


def test_unauthenticated_requests_are_refused_by_the_real_server(api_server: str) -> None:
    for path in ("/sentiment/api/flags", "/sentiment/flags", "/sentiment/anything"):
        request = urllib.request.Request(api_server + path)
        opener = urllib.request.build_opener(NoRedirect())
        try:
            opener.open(request, timeout=10)
            raise AssertionError(f"{path} answered without a user")
        except urllib.error.HTTPError as error:
            assert error.code in (401, 303, 307), (path, error.code)
    forged = urllib.request.Request(
        api_server + "/sentiment/api/flags", headers={"Authorization": "Bearer not.a.jwt"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=10)
    assert refused.value.code == 401


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_login_work_a_flag_and_see_the_script_as_text(
    api_server: str, browser: Browser, warehouse: str
) -> None:
    browser.goto(f"{api_server}/sentiment/flags")
    # Not logged in: Airflow's login page, coming back to the flags afterwards.
    browser.wait_for("location.pathname.startsWith('/auth/login')", "the login page")
    browser.wait_for("document.querySelector('input[name=username]')", "the login form")
    browser.type_into("input[name=username]", USER)
    browser.type_into("input[name=password]", PASSWORD)
    browser.evaluate("document.querySelector('button[type=submit]').click()")
    browser.wait_for("location.pathname !== '/auth/login'", "the login to finish")
    if not browser.evaluate("location.pathname === '/sentiment/flags'"):
        browser.goto(f"{api_server}/sentiment/flags")
    browser.wait_for("document.querySelector('#flags tr[data-mention-id=m3]')", "the flags table")

    cell = "document.querySelector('tr[data-mention-id=m3] td.text').textContent"
    assert browser.evaluate(cell) == SCRIPT_TEXT
    assert browser.evaluate("document.body.innerText.includes('<script>alert(1)</script>')")
    assert browser.evaluate("document.querySelectorAll('td script').length") == 0
    assert browser.dialogs() == []

    browser.evaluate(
        "document.querySelector('tr[data-mention-id=m3] select.status').value = 'resolved'"
    )
    browser.evaluate(
        "document.querySelector('tr[data-mention-id=m3] input.assignee').value = 'dana'"
    )
    browser.evaluate("document.querySelector('tr[data-mention-id=m3] button.save').click()")
    browser.wait_for(
        "document.getElementById('message').textContent.startsWith('Saved')", "the change"
    )
    with make_engine(warehouse).connect() as conn:
        row = conn.execute(
            sa.text("SELECT status, assignee FROM flags WHERE mention_id = 'm3'")
        ).one()
    assert tuple(row) == ("resolved", "dana")

    # The flag's own page shows the post as text too, and still no dialog.
    browser.goto(f"{api_server}/sentiment/flag?platform=mastodon&mention_id=m3&kind=detractor")
    browser.wait_for("document.querySelector('p.text')", "the flag page")
    assert browser.evaluate("document.querySelector('p.text').textContent") == SCRIPT_TEXT
    assert browser.dialogs() == []


def test_the_plugin_and_its_menu_entry_are_registered(api_server: str) -> None:
    login = urllib.request.Request(
        api_server + "/auth/token",
        data=json.dumps({"username": USER, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, timeout=10) as response:
        token = json.load(response)["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    with urllib.request.urlopen(
        urllib.request.Request(api_server + "/api/v2/plugins", headers=auth), timeout=10
    ) as response:
        plugins = {p["name"]: p for p in json.load(response)["plugins"]}
    plugin = plugins["sentiment_flags"]
    assert [a["url_prefix"] for a in plugin["fastapi_apps"]] == ["/sentiment"]
    assert [v["href"] for v in plugin["external_views"]] == ["/sentiment/flags"]
    # The same bearer token works on the plugin's API.
    with urllib.request.urlopen(
        urllib.request.Request(api_server + "/sentiment/api/flags", headers=auth), timeout=10
    ) as response:
        assert {f["mention_id"] for f in json.load(response)} >= {"m1", "m3", "m4"}
