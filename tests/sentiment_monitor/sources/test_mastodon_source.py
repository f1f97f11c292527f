"""MastodonSource against a fake instance: exactly one UTC day, nothing lost, doubled or leaked."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sentiment_monitor.config import Brand
from sentiment_monitor.sources import build_source, source_class
from sentiment_monitor.sources.base import ConnectionInfo
from sentiment_monitor.sources.http import SourceError
from sentiment_monitor.sources.mastodon import MastodonSource

from .fake_mastodon import FakeMastodon
from .loopback import LoopbackServer, Reply
from .support import Sleeps, assert_no_secret

DAY = dt.date(2026, 11, 20)
START = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
END = START + dt.timedelta(days=1)
NOW = END + dt.timedelta(hours=1)
TOKEN = "mastodon-token-SECRET-7d2e"
TICK = dt.timedelta(milliseconds=1)


class World:
    """A fake instance holding a day with traffic on both sides of both edges."""

    def __init__(self, serve: Callable[[Any], LoopbackServer]) -> None:
        fake = self.fake = FakeMastodon(TOKEN, NOW)
        brand = fake.brand
        alice = fake.account("alice", followers=120)
        bob = fake.account("bob@remote.example", followers=7)
        carol = fake.account("carol", followers=3)
        dave = fake.account("dave")
        self.expected: set[str] = set()

        def keep(status: dict[str, Any]) -> dict[str, Any]:
            self.expected.add(status["id"])
            return status

        post_old = fake.post(brand, START - dt.timedelta(days=10), "<p>ancient news</p>")
        post_1 = fake.post(brand, START - dt.timedelta(days=3), "<p>We launched!</p>")
        post_2 = fake.post(brand, START + dt.timedelta(hours=9), "<p>Today's deal</p>")
        self.thread_root = post_1
        # mentions around both edges of the day
        for moment in (START - TICK, START, START + dt.timedelta(hours=12), END - TICK, END):
            status = fake.post(
                alice, moment, f"<p>@brand at {moment:%H:%M:%S.%f}</p>", mention_brand=True
            )
            if START <= moment < END:
                keep(status)
        fake.post(
            alice, END + dt.timedelta(minutes=30), "<p>@brand tomorrow</p>", mention_brand=True
        )
        # the thread of an older brand post: replies before, on and after the day
        fake.post(dave, START - dt.timedelta(hours=2), "<p>too early</p>", reply_to=post_1)
        self.reply = keep(
            fake.post(
                bob,
                START + dt.timedelta(hours=10),
                "<p>Broken &amp; late!</p>",
                reply_to=post_1,
                language="de",
            )
        )
        keep(
            fake.post(
                carol, START + dt.timedelta(hours=11), "<p>same here</p>", reply_to=self.reply
            )
        )  # in the thread, no notification for the brand
        self.answer = keep(
            fake.post(
                brand,
                START + dt.timedelta(hours=10, minutes=30),
                "<p>Sorry, fixing it</p>",
                reply_to=self.reply,
            )
        )
        fake.post(brand, START - dt.timedelta(hours=5), "<p>old answer</p>", reply_to=post_1)
        fake.post(carol, END + dt.timedelta(minutes=10), "<p>later</p>", reply_to=post_2)
        # a reply to a post older than the lookback still comes in as a mention
        keep(fake.post(alice, START + dt.timedelta(hours=8), "<p>old one</p>", reply_to=post_old))
        # things that must never land
        fake.post(
            dave,
            START + dt.timedelta(hours=13),
            "<p>secret DM</p>",
            visibility="direct",
            mention_brand=True,
        )
        fake.notify("reblog", alice, START + dt.timedelta(hours=14), post_2)
        fake.notify("favourite", carol, START + dt.timedelta(hours=14), post_2)
        fake.notify("follow", dave, START + dt.timedelta(hours=15), None)
        fake.post(brand, START + dt.timedelta(hours=16), "", reblog=self.reply)  # a boost
        self.server = serve(fake)

    def source(self, landing: Path, sleeps: Sleeps, brand: Brand, **options: Any) -> MastodonSource:
        settings: dict[str, Any] = {"type": "mastodon", "page_size": 2, "statuses_page_size": 2}
        settings.update(options)
        connection = ConnectionInfo(host=self.server.url, password=TOKEN)
        return MastodonSource(
            settings, brand, landing, connection, sleep=sleeps, clock=NOW.timestamp
        )


@pytest.fixture
def world(serve: Callable[[Any], LoopbackServer]) -> World:
    return World(serve)


def read(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def test_registered_and_built_like_every_source(tmp_path: Path, brand: Brand) -> None:
    assert source_class("mastodon") is MastodonSource
    source = build_source({"type": "mastodon", "name": "masto"}, brand, tmp_path)
    assert source.options.conn_id == "mastodon_default"
    assert source.landing_dir(DAY) == tmp_path / "2026-11-20" / "masto"


def test_a_day_lands_exactly_its_mentions_thread_replies_and_brand_replies(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    result = world.source(tmp_path, sleeps, brand).extract(DAY)

    assert result.source == "mastodon" and result.day == "2026-11-20"
    assert len(result.files) == 1 and result.files[0].format == "jsonl"
    records = read(result.files[0].path)
    assert {r["id"] for r in records} == world.expected
    assert result.records == len(records) == len(world.expected)
    for record in records:
        created = dt.datetime.fromisoformat(record["created_at"])
        assert START <= created < END
    assert [(r["created_at"], r["id"]) for r in records] == sorted(
        (r["created_at"], r["id"]) for r in records
    )
    reply = next(r for r in records if r["id"] == world.reply["id"])
    assert reply == {
        "platform": "mastodon",
        "id": world.reply["id"],
        "author": "bob@remote.example",
        "created_at": "2026-11-20T10:00:00.000000+00:00",
        "text": "<p>Broken &amp; late!</p>",
        "in_reply_to_id": world.thread_root["id"],
        "url": world.reply["url"],
        "author_followers": 7,
        "lang": "de",
        "repost_of_id": None,
    }
    answer = next(r for r in records if r["id"] == world.answer["id"])
    assert answer["author"] == "brand" and answer["in_reply_to_id"] == world.reply["id"]
    # paged through the Link header, with the documented parameters
    calls = world.server.calls("/api/v1/notifications")
    assert len(calls) > 2
    assert calls[0].query["types[]"] == ["mention"] and calls[0].query["limit"] == ["2"]
    assert all("max_id" in call.query for call in calls[1:])
    assert sleeps == []


def test_direct_messages_are_skipped_unless_opted_in(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    default = read(world.source(tmp_path / "a", sleeps, brand).extract(DAY).files[0].path)
    opted_in = world.source(tmp_path / "b", sleeps, brand, include_direct=True).extract(DAY)
    texts = {r["text"] for r in read(opted_in.files[0].path)} - {r["text"] for r in default}
    assert texts == {"<p>secret DM</p>"}


def test_boosts_and_other_notifications_never_count_even_if_types_is_ignored(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    world.fake.honour_types = False  # a server before 3.5 sends every kind of notification
    records = read(world.source(tmp_path, sleeps, brand).extract(DAY).files[0].path)
    assert {r["id"] for r in records} == world.expected
    assert all(r["repost_of_id"] is None and r["text"] for r in records)


def test_a_rerun_later_replaces_the_landing_with_the_same_day(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    source = world.source(tmp_path, sleeps, brand)
    first = source.extract(DAY)
    landed = Path(first.files[0].path).read_bytes()
    folder = source.landing_dir(DAY)
    # a crashed attempt left a temporary file and another file behind ...
    (folder / ".records.jsonl.x1.tmp").write_text('{"id": "half', encoding="utf-8")
    (folder / "old-attempt.jsonl").write_text('{"id": "dup"}\n', encoding="utf-8")
    # ... the next attempt crashes after fetching part of the day ...
    world.server.inject(
        f"/api/v1/statuses/{world.thread_root['id']}/context", *[Reply(500, b"oops")] * 5
    )
    with pytest.raises(SourceError):
        source.extract(DAY)
    assert Path(first.files[0].path).read_bytes() == landed  # the last good landing is intact
    # ... and the day goes on on the platform before the rerun
    world.fake.post(
        world.fake.account("erin"),
        END + dt.timedelta(hours=2),
        "<p>@brand hi</p>",
        mention_brand=True,
    )
    again = source.extract(DAY)
    assert sorted(p.name for p in folder.iterdir()) == ["records.jsonl"]
    assert Path(again.files[0].path).read_bytes() == landed
    assert again.records == first.records


def test_a_429_waits_until_the_reset_the_headers_give_then_completes(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    limited = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": (NOW + dt.timedelta(seconds=42)).isoformat().replace("+00:00", "Z"),
    }
    world.server.inject(
        "/api/v1/notifications", Reply(429, {"error": "Too many requests"}, limited), after=1
    )
    records = read(world.source(tmp_path, sleeps, brand).extract(DAY).files[0].path)
    assert sleeps == [pytest.approx(42.0)]
    assert {r["id"] for r in records} == world.expected


def test_5xx_twice_then_ok_is_retried(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    path = f"/api/v1/statuses/{world.thread_root['id']}/context"
    world.server.inject(path, Reply(500, {"error": "x"}), Reply(502, b"<html>bad gateway"))
    source = world.source(tmp_path, sleeps, brand, backoff_seconds=1)
    records = read(source.extract(DAY).files[0].path)
    assert {r["id"] for r in records} == world.expected
    assert sleeps == [1.0, 2.0]


def test_persistent_500_fails_naming_source_and_status_without_the_token(
    world: World,
    tmp_path: Path,
    sleeps: Sleeps,
    brand: Brand,
    debug_logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    world.server.inject("/api/v1/notifications", *[Reply(500, {"error": TOKEN})] * 10)
    source = world.source(tmp_path, sleeps, brand, name="masto_eu", max_retries=3)
    with pytest.raises(SourceError) as caught:
        source.extract(DAY)
    assert "masto_eu" in str(caught.value) and "HTTP 500" in str(caught.value)
    assert len(world.server.calls("/api/v1/notifications")) == 4
    assert not source.landing_dir(DAY).exists()
    assert_no_secret([TOKEN], logs=debug_logs, output=capfd, landing=tmp_path, error=caught.value)


def test_a_wrong_token_is_a_401_error_without_the_token(
    world: World,
    tmp_path: Path,
    sleeps: Sleeps,
    brand: Brand,
    debug_logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    wrong = "wrong-token-SECRET-0000"
    source = MastodonSource(
        {"type": "mastodon"},
        brand,
        tmp_path,
        ConnectionInfo(host=world.server.url, password=wrong),
        sleep=sleeps,
    )
    with pytest.raises(SourceError) as caught:
        source.extract(DAY)
    assert caught.value.status == 401 and "HTTP 401" in str(caught.value)
    assert "The access token is invalid" in str(caught.value)
    assert_no_secret([wrong], logs=debug_logs, output=capfd, landing=tmp_path, error=caught.value)


def test_a_good_run_leaks_no_token(
    world: World,
    tmp_path: Path,
    sleeps: Sleeps,
    brand: Brand,
    debug_logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    source = world.source(tmp_path, sleeps, brand)
    result = source.extract(DAY)
    assert TOKEN not in repr(source.connection) and TOKEN not in repr(result.to_dict())
    assert_no_secret([TOKEN], logs=debug_logs, output=capfd, landing=tmp_path)


def test_a_timeout_is_retried_then_fails_bounded(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    world.server.inject("/api/v1/accounts/verify_credentials", *[Reply(200, {}, delay=0.4)] * 3)
    source = world.source(tmp_path, sleeps, brand, timeout_seconds=0.05, max_retries=1)
    with pytest.raises(SourceError) as caught:
        source.extract(DAY)
    assert "timed out after 2 attempts" in str(caught.value)
    assert len(sleeps) == 1


def test_a_body_that_is_not_json_is_a_clear_error(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    world.server.inject("/api/v1/notifications", Reply(200, b"[{"), after=1)
    with pytest.raises(SourceError) as caught:
        world.source(tmp_path, sleeps, brand).extract(DAY)
    assert "GET /api/v1/notifications" in str(caught.value)
    assert "not valid JSON" in str(caught.value)


def test_a_connection_without_token_is_refused_before_any_request(
    tmp_path: Path, brand: Brand
) -> None:
    source = MastodonSource(
        {"type": "mastodon"}, brand, tmp_path, ConnectionInfo(host="https://social.example")
    )
    with pytest.raises(SourceError, match="mastodon_default"):
        source.extract(DAY)
