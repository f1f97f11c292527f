"""The flags page app: every route refuses strangers, works for users, escapes post text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sentiment_monitor.config import load_config
from sentiment_monitor.flag_page import CSRF_HEADER, create_app
from sentiment_monitor.pipeline import run_day
from sentiment_monitor.warehouse import make_engine
from tests.conftest import write_config
from tests.sentiment_monitor.flag_seed import SCRIPT_TEXT, seed

GOOD = "good-token"
LOGIN = "/auth/login"
CHANGE = {"platform": "mastodon", "mention_id": "m3", "kind": "detractor", "status": "resolved"}
ROUTES = [
    ("GET", "/sentiment/flags"),
    ("GET", "/sentiment/flag?platform=mastodon&mention_id=m3&kind=detractor"),
    ("GET", "/sentiment/api/flags"),
    ("GET", "/sentiment/api/flag?platform=mastodon&mention_id=m3&kind=detractor"),
    ("GET", "/sentiment/api/flag/history?platform=mastodon&mention_id=m3&kind=detractor"),
    ("POST", "/sentiment/api/flag"),
    ("GET", "/sentiment/docs"),
    ("GET", "/sentiment/openapi.json"),
    ("GET", "/sentiment/no-such-page"),
]


READER = "reader-token"


class User:
    def __init__(self, name: str) -> None:
        self.name = name

    def get_name(self) -> str:
        return self.name


async def resolve(token: str) -> User:
    """Stands in for the auth manager: a manager's and a reader's token; others are refused."""
    if token not in (GOOD, READER):
        raise ValueError("invalid token")
    return User("cm" if token == GOOD else "viewer")


def client_for(url: str) -> TestClient:
    # Mounted under /sentiment as the Airflow API server mounts plugin apps.
    app = create_app(
        lambda: make_engine(url),
        resolve,
        lambda next_url: f"{LOGIN}?next=x",
        authorize=lambda user, method: method == "GET" or user.get_name() == "cm",
    )
    root = FastAPI()
    root.mount("/sentiment", app)
    return TestClient(root, base_url="http://airflow.test", follow_redirects=False)


@pytest.fixture
def client(sqlite_url: str) -> TestClient:
    seed(sqlite_url)
    return client_for(sqlite_url)


def _status(url: str, mention_id: str, kind: str) -> tuple:
    with make_engine(url).connect() as conn:
        return conn.execute(
            sa.text("SELECT status, assignee, note FROM flags WHERE mention_id = :m AND kind = :k"),
            {"m": mention_id, "k": kind},
        ).one()


def test_the_refusal_test_covers_every_route_of_the_app(sqlite_url: str) -> None:
    app = create_app(lambda: make_engine(sqlite_url), resolve, lambda next_url: LOGIN)
    listed = {(method, path.split("?")[0]) for method, path in ROUTES}
    for route in app.routes:
        for method in getattr(route, "methods", None) or {"GET"}:
            if method != "HEAD":
                assert (method, "/sentiment" + route.path) in listed, (method, route.path)


@pytest.mark.parametrize("token", [None, "forged", ""])
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_without_a_user(
    client: TestClient, method: str, path: str, token: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    cookies = {"_token": token} if token else {}
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies.set(name, value)
    response = client.request(
        method,
        path,
        headers={**headers, CSRF_HEADER: "1"},
        json=CHANGE if method == "POST" else None,
    )
    if "/api/" in path or method == "POST":
        assert response.status_code == 401
    else:
        assert response.status_code in (303, 401)
        if response.status_code == 303:
            assert response.headers["location"].startswith(LOGIN)
    assert SCRIPT_TEXT not in response.text and "mallory" not in response.text


def test_refused_change_changes_nothing(client: TestClient, sqlite_url: str) -> None:
    assert client.post("/sentiment/api/flag", json=CHANGE).status_code == 401
    assert _status(sqlite_url, "m3", "detractor")[0] == "open"


def test_user_lists_filters_and_reads_a_flag(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {GOOD}"}
    flags = client.get("/sentiment/api/flags", headers=auth).json()
    assert [f["mention_id"] for f in flags] == ["m3", "m4", "m1"]  # by priority
    only = client.get("/sentiment/api/flags?kind=question", headers=auth).json()
    assert [f["mention_id"] for f in only] == ["m1"]
    assert client.get("/sentiment/api/flags?status=resolved", headers=auth).json() == []
    one = client.get(
        "/sentiment/api/flag",
        params={"platform": "mastodon", "mention_id": "m1", "kind": "question"},
        headers=auth,
    ).json()
    assert one["author"] == "alice" and one["text"] == "Where is my order?"
    assert one["url"] == "https://social.example/@alice/m1"
    assert [m["mention_id"] for m in one["thread"]] == ["m1", "m2"]


def test_bearer_change_is_written_to_the_warehouse(client: TestClient, sqlite_url: str) -> None:
    auth = {"Authorization": f"Bearer {GOOD}"}
    response = client.post(
        "/sentiment/api/flag", headers=auth, json={**CHANGE, "assignee": "dana", "note": "called"}
    )
    assert response.status_code == 200, response.text
    assert _status(sqlite_url, "m3", "detractor") == ("resolved", "dana", "called")
    assert client.get("/sentiment/api/flags?assignee=dana", headers=auth).json()[0]["status"] == (
        "resolved"
    )
    bad = client.post("/sentiment/api/flag", headers=auth, json={**CHANGE, "status": "gone"})
    assert bad.status_code == 422
    missing = client.post("/sentiment/api/flag", headers=auth, json={**CHANGE, "mention_id": "x"})
    assert missing.status_code == 404


def test_a_user_the_auth_manager_lets_only_read_cannot_change(
    client: TestClient, sqlite_url: str
) -> None:
    auth = {"Authorization": f"Bearer {READER}"}
    assert client.get("/sentiment/api/flags", headers=auth).status_code == 200
    assert client.post("/sentiment/api/flag", headers=auth, json=CHANGE).status_code == 403
    assert _status(sqlite_url, "m3", "detractor")[0] == "open"


def test_cookie_changes_need_the_csrf_header_and_same_origin(
    client: TestClient, sqlite_url: str
) -> None:
    client.cookies.set("_token", GOOD)
    # A cross-site form post: no JSON, no custom header.
    form = client.post("/sentiment/api/flag", data={"status": "resolved"})
    assert form.status_code == 403
    no_header = client.post("/sentiment/api/flag", json=CHANGE)
    assert no_header.status_code == 403
    other_site = client.post(
        "/sentiment/api/flag",
        json=CHANGE,
        headers={CSRF_HEADER: "1", "Origin": "https://evil.example"},
    )
    assert other_site.status_code == 403
    assert _status(sqlite_url, "m3", "detractor")[0] == "open"
    ours = client.post(
        "/sentiment/api/flag",
        json=CHANGE,
        headers={CSRF_HEADER: "1", "Origin": "http://airflow.test"},
    )
    assert ours.status_code == 200
    assert _status(sqlite_url, "m3", "detractor")[0] == "resolved"


def test_pages_escape_post_text(client: TestClient) -> None:
    client.cookies.set("_token", GOOD)
    page = client.get("/sentiment/flags")
    assert page.status_code == 200 and "Signed in as cm" in page.text
    assert SCRIPT_TEXT not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    detail = client.get(
        "/sentiment/flag", params={"platform": "mastodon", "mention_id": "m3", "kind": "detractor"}
    )
    assert detail.status_code == 200
    assert SCRIPT_TEXT not in detail.text and "&lt;script&gt;" in detail.text
    # The only script on the page is the page's own.
    assert page.text.count("<script>") == 1


def test_status_set_on_the_page_survives_a_rerun(tmp_path: Path, warehouse_url: str) -> None:
    exports = tmp_path / "exports" / "2026-11-01"
    exports.mkdir(parents=True)
    record = {
        "platform": "mastodon",
        "id": "900",
        "author": "erin",
        "created_at": "2026-11-01T09:00:00Z",
        "text": "Lumen Coffee, this is the worst, most awful service. Terrible and rude.",
    }
    (exports / "x.jsonl").write_text(json.dumps(record) + "\n")
    config = load_config(
        write_config(tmp_path / "c.yaml", tmp_path / "exports", tmp_path / "staging")
    )
    run_day("2026-11-01", config=config, url=warehouse_url)
    client = client_for(warehouse_url)
    auth = {"Authorization": f"Bearer {GOOD}"}
    [flag] = client.get("/sentiment/api/flags?kind=detractor", headers=auth).json()
    change = {k: flag[k] for k in ("platform", "mention_id", "kind")}
    response = client.post(
        "/sentiment/api/flag",
        headers=auth,
        json={**change, "status": "in_progress", "assignee": "dana", "note": "DM sent"},
    )
    assert response.status_code == 200
    run_day("2026-11-01", config=config, url=warehouse_url)
    again = client.get("/sentiment/api/flag", params=change, headers=auth).json()
    assert (again["status"], again["assignee"], again["note"]) == ("in_progress", "dana", "DM sent")


def test_only_web_links_become_links(client: TestClient, sqlite_url: str) -> None:
    with make_engine(sqlite_url).begin() as conn:
        conn.execute(
            sa.text("UPDATE mentions SET url = 'javascript:alert(1)' WHERE mention_id = 'm3'")
        )
    client.cookies.set("_token", GOOD)
    detail = client.get(
        "/sentiment/flag", params={"platform": "mastodon", "mention_id": "m3", "kind": "detractor"}
    )
    assert "javascript:" not in detail.text
    good = client.get(
        "/sentiment/flag", params={"platform": "mastodon", "mention_id": "m4", "kind": "promoter"}
    )
    assert 'href="https://social.example/@bob/m4"' in good.text


def test_changes_on_the_page_are_kept_with_the_users_name(
    client: TestClient, sqlite_url: str
) -> None:
    auth = {"Authorization": f"Bearer {GOOD}"}
    key = {"platform": "mastodon", "mention_id": "m3", "kind": "detractor"}
    changed = client.post("/sentiment/api/flag", headers=auth, json={**CHANGE, "note": "called"})
    assert changed.status_code == 200, changed.text
    changes = client.get("/sentiment/api/flag/history", params=key, headers=auth).json()
    assert [(c["changed_by"], c["field"], c["old_value"], c["new_value"]) for c in changes] == [
        ("cm", "status", "open", "resolved"),
        ("cm", "note", None, "called"),
    ]
    assert all(c["changed_at"] for c in changes)
    one = client.get("/sentiment/api/flag", params=key, headers=auth).json()
    assert one["history"] == changes and one["status_changed_by"] == "cm"
    missing = client.get("/sentiment/api/flag/history", params={**key, "mention_id": "x"})
    assert missing.status_code == 401  # no user
    assert (
        client.get(
            "/sentiment/api/flag/history", params={**key, "mention_id": "x"}, headers=auth
        ).status_code
        == 404
    )
    client.cookies.set("_token", GOOD)
    page = client.get("/sentiment/flag", params=key)
    assert 'id="history"' in page.text and "called" in page.text and "<td>cm</td>" in page.text


def test_a_relapse_links_to_the_closed_flag_on_page_and_api(
    client: TestClient, sqlite_url: str
) -> None:
    with make_engine(sqlite_url).begin() as conn:
        conn.execute(sa.text("UPDATE flags SET status = 'resolved' WHERE mention_id = 'm3'"))
        conn.execute(
            sa.text(
                """
                INSERT INTO flags (platform, mention_id, kind, day, author, created_at, compound,
                    priority, reason, status, previous_mention_id)
                SELECT platform, 'm4', 'detractor', day, 'mallory', created_at, -0.9, 95,
                    'again', 'open', 'm3'
                FROM flags WHERE mention_id = 'm3'
                """
            )
        )
    auth = {"Authorization": f"Bearer {GOOD}"}
    key = {"platform": "mastodon", "mention_id": "m4", "kind": "detractor"}
    one = client.get("/sentiment/api/flag", params=key, headers=auth).json()
    assert one["previous_mention_id"] == "m3"
    assert one["previous"]["status"] == "resolved" and one["previous"]["mention_id"] == "m3"
    listed = client.get("/sentiment/api/flags?kind=detractor", headers=auth).json()
    assert listed[0]["mention_id"] == "m4" and listed[0]["previous_mention_id"] == "m3"
    client.cookies.set("_token", GOOD)
    page = client.get("/sentiment/flag", params=key)
    assert 'id="previous"' in page.text and "mention_id=m3" in page.text
    assert 'class="again"' in client.get("/sentiment/flags").text
