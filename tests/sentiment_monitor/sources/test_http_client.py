"""The polite HTTP client: retries, backoff, rate limits, timeouts, masked errors, landing."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sentiment_monitor.sources.http import HttpClient, SourceError, land_records

from .loopback import LoopbackServer, Reply, Request
from .support import Sleeps

NOW = dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.UTC)
TOKEN = "tok-SECRET-4f9a1c"


def ok(request: Request) -> Reply:
    return Reply(200, {"ok": True, "path": request.path})


@pytest.fixture
def server(serve: Callable[[Any], LoopbackServer]) -> LoopbackServer:
    return serve(ok)


def client_for(server: LoopbackServer, sleeps: Sleeps, **options: Any) -> HttpClient:
    settings: dict[str, Any] = {"timeout": 2.0, "max_retries": 2, "backoff": 0.5, "max_wait": 600}
    settings.update(options)
    return HttpClient(
        "test-source",
        server.url,
        secrets=[TOKEN],
        headers={"Authorization": f"Bearer {TOKEN}"},
        sleep=sleeps,
        clock=NOW.timestamp,
        **settings,
    )


def test_5xx_is_retried_with_exponential_backoff(server: LoopbackServer, sleeps: Sleeps) -> None:
    server.inject("/x", Reply(500, {"error": "boom"}), Reply(503, b"busy"))
    with client_for(server, sleeps) as client:
        body, _ = client.get_json("/x")
    assert body == {"ok": True, "path": "/x"}
    assert len(server.calls("/x")) == 3
    assert sleeps == [0.5, 1.0]


def test_persistent_5xx_fails_naming_source_and_status(
    server: LoopbackServer, sleeps: Sleeps
) -> None:
    server.inject("/x", *[Reply(500, {"error": f"boom {TOKEN}"})] * 5)
    with client_for(server, sleeps) as client, pytest.raises(SourceError) as caught:
        client.get_json("/x", params={"q": "1"})
    message = str(caught.value)
    assert "test-source" in message and "HTTP 500" in message and "GET /x" in message
    assert "after 3 attempts" in message
    assert caught.value.status == 500
    assert TOKEN not in message
    assert len(server.calls("/x")) == 3  # bounded


def test_client_errors_are_not_retried_and_carry_the_servers_reason(
    server: LoopbackServer, sleeps: Sleeps
) -> None:
    server.inject("/x", Reply(404, {"error": "Record not found"}))
    with client_for(server, sleeps) as client, pytest.raises(SourceError) as caught:
        client.get_json("/x")
    assert caught.value.status == 404
    assert "HTTP 404 (Record not found)" in str(caught.value)
    assert len(server.calls("/x")) == 1 and sleeps == []


def test_an_echoed_credential_is_masked(server: LoopbackServer, sleeps: Sleeps) -> None:
    server.inject("/x", Reply(403, {"error": "Forbidden", "message": f"bad token {TOKEN}"}))
    with client_for(server, sleeps) as client, pytest.raises(SourceError) as caught:
        client.get_json("/x")
    assert TOKEN not in str(caught.value)
    assert "bad token ***" in str(caught.value)
    assert caught.value.code == "Forbidden"


def test_timeouts_are_retried_then_fail_bounded(server: LoopbackServer, sleeps: Sleeps) -> None:
    server.inject("/slow", *[Reply(200, {"late": True}, delay=0.4)] * 3)
    client = client_for(server, sleeps, timeout=0.05, max_retries=2)
    with client, pytest.raises(SourceError) as caught:
        client.get_json("/slow")
    assert "timed out after 3 attempts" in str(caught.value)
    assert caught.value.status is None
    assert sleeps == [0.5, 1.0]


def test_a_timeout_then_an_answer_succeeds(server: LoopbackServer, sleeps: Sleeps) -> None:
    server.inject("/slow", Reply(200, {"late": True}, delay=1.5))
    with client_for(server, sleeps, timeout=0.3) as client:
        body, _ = client.get_json("/slow")
    assert body == {"ok": True, "path": "/slow"}


def test_connection_errors_are_retried_then_fail(
    serve: Callable[[Any], LoopbackServer], sleeps: Sleeps
) -> None:
    gone = serve(ok)
    gone.stop()  # nothing listens on that port any more
    with client_for(gone, sleeps, max_retries=1) as client, pytest.raises(SourceError) as caught:
        client.get_json("/x")
    assert "connection failed" in str(caught.value) and "after 2 attempts" in str(caught.value)
    assert sleeps == [0.5]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": email.utils.format_datetime(NOW + dt.timedelta(seconds=12))}, 12.0),
        (  # Mastodon: remaining 0, reset as an ISO timestamp
            {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": (NOW + dt.timedelta(seconds=42)).isoformat(),
            },
            42.0,
        ),
        (  # Bluesky: reset as unix seconds
            {
                "RateLimit-Limit": "3000",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(int(NOW.timestamp()) + 30),
                "RateLimit-Policy": "3000;w=300",
            },
            30.0,
        ),
        ({}, 0.5),  # no hint: back off
    ],
    ids=["retry-after-seconds", "retry-after-date", "mastodon-reset", "bluesky-reset", "none"],
)
def test_429_waits_as_the_server_says_then_goes_on(
    server: LoopbackServer, sleeps: Sleeps, headers: dict[str, str], expected: float
) -> None:
    server.inject("/x", Reply(429, {"error": "Too many requests"}, headers))
    with client_for(server, sleeps) as client:
        body, _ = client.get_json("/x")
    assert body["ok"] is True
    assert sleeps == [pytest.approx(expected)]


def test_a_rate_limit_longer_than_allowed_fails_instead_of_waiting(
    server: LoopbackServer, sleeps: Sleeps
) -> None:
    server.inject("/x", Reply(429, {"error": "RateLimitExceeded"}, {"Retry-After": "86400"}))
    with client_for(server, sleeps, max_wait=900) as client, pytest.raises(SourceError) as caught:
        client.get_json("/x")
    assert caught.value.status == 429 and "HTTP 429" in str(caught.value)
    assert sleeps == []


def test_a_used_up_window_delays_the_next_request_until_reset(
    server: LoopbackServer, sleeps: Sleeps
) -> None:
    reset = (NOW + dt.timedelta(seconds=20)).isoformat()
    used_up = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    server.inject("/x", Reply(200, {"first": True}, used_up))
    with client_for(server, sleeps) as client:
        first, _ = client.get_json("/x")
        assert sleeps == []
        second, _ = client.get_json("/x")
    assert first == {"first": True} and second["ok"] is True
    assert sleeps == [pytest.approx(20.0)]


def test_a_body_that_is_not_json_is_a_clear_error(server: LoopbackServer, sleeps: Sleeps) -> None:
    server.inject("/x", Reply(200, b'{"notifications": [ {"uri": '))
    with client_for(server, sleeps) as client, pytest.raises(SourceError) as caught:
        client.get_json("/x")
    assert "not valid JSON" in str(caught.value) and "GET /x" in str(caught.value)


def test_credentials_are_never_sent_to_another_server(
    server: LoopbackServer, sleeps: Sleeps
) -> None:
    with client_for(server, sleeps) as client, pytest.raises(SourceError) as caught:
        client.get_json("http://elsewhere.invalid/api")  # refused before any connection
    assert "another server" in str(caught.value)


def test_link_paging_follows_rel_next(
    serve: Callable[[Any], LoopbackServer], sleeps: Sleeps
) -> None:
    def pages(request: Request) -> Reply:
        start = int(request.arg("max_id") or 10)
        items = [{"id": str(i)} for i in range(start - 1, max(start - 4, 0), -1)]
        headers = {}
        if items and int(items[-1]["id"]) > 1:
            next_url = f"http://{request.headers['host']}/list?max_id={items[-1]['id']}"
            headers["Link"] = f'<{next_url}>; rel="next", <http://x/list?min_id=9>; rel="prev"'
        return Reply(200, items, headers)

    server = serve(pages)
    with client_for(server, sleeps) as client:
        ids = [item["id"] for page in client.pages("/list", {"limit": 3}) for item in page]
    assert ids == [str(i) for i in range(9, 0, -1)]


def test_landing_replaces_earlier_attempts_atomically(tmp_path: Path) -> None:
    folder = tmp_path / "2026-11-20" / "mastodon"
    folder.mkdir(parents=True)
    (folder / ".records.jsonl.abc.tmp").write_text("half a line", encoding="utf-8")
    (folder / "records.jsonl").write_text('{"id": "old"}\n', encoding="utf-8")
    (folder / "other.jsonl").write_text('{"id": "stale"}\n', encoding="utf-8")
    records = [{"platform": "mastodon", "id": "1", "text": "héllo"}, {"id": "2", "extra": "x"}]
    path = land_records(folder, records)
    assert sorted(p.name for p in folder.iterdir()) == ["records.jsonl"]
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["1", "2"]
    assert lines[0]["text"] == "héllo" and lines[0]["lang"] is None
    assert "extra" not in lines[1]


def test_redirects_are_reported_not_followed(server: LoopbackServer, sleeps: Sleeps) -> None:
    moved = {"Location": "https://other.example/api?access_token=abc"}
    server.inject("/x", Reply(301, b"", moved))
    with client_for(server, sleeps) as client, pytest.raises(SourceError) as caught:
        client.get_json("/x")
    assert "redirected (HTTP 301) to https://other.example/api" in str(caught.value)
    assert "access_token" not in str(caught.value)
    assert caught.value.status == 301


def test_source_errors_survive_pickling() -> None:
    error = SourceError("bsky", "GET /x failed: HTTP 400 (ExpiredToken)", status=400, code="E")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.source, copy.status, copy.code) == (str(error), "bsky", 400, "E")
