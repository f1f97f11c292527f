"""BlueskySource against a fake service: one UTC day by indexedAt, sessions, limits, no leaks."""

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
from sentiment_monitor.sources.bluesky import BlueskySource
from sentiment_monitor.sources.http import SourceError

from .fake_bluesky import FakeBluesky, iso
from .loopback import LoopbackServer, Reply
from .support import Sleeps, assert_no_secret

DAY = dt.date(2026, 11, 20)
START = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
END = START + dt.timedelta(days=1)
NOW = END + dt.timedelta(hours=1)
HANDLE = "brand.bsky.social"
PASSWORD = "app-pass-SECRET-abcd-efgh"
TICK = dt.timedelta(milliseconds=1)
NOTIFICATIONS = "/xrpc/app.bsky.notification.listNotifications"
THREAD = "/xrpc/app.bsky.feed.getPostThread"


class World:
    """A fake service holding a day with traffic on both sides of both edges."""

    def __init__(self, serve: Callable[[Any], LoopbackServer]) -> None:
        fake = self.fake = FakeBluesky(HANDLE, PASSWORD, NOW)
        brand = fake.brand
        alice = fake.actor("alice.bsky.social", followers=321)
        bob = fake.actor("bob.test", followers=45)
        carol = fake.actor("carol.test")
        dave = fake.actor("dave.test")
        erin = fake.actor("erin.test")
        self.expected: set[str] = set()

        def keep(post: dict[str, Any]) -> dict[str, Any]:
            self.expected.add(post["uri"])
            return post

        fake.post(brand, START - dt.timedelta(days=20), "ancient news")
        launch = fake.post(brand, START - dt.timedelta(days=2), "We launched!")
        deal = fake.post(brand, START + dt.timedelta(hours=8), "Today's deal")
        for moment in (START - TICK, START, START + dt.timedelta(hours=12), END - TICK, END):
            post = fake.post(alice, moment, f"@brand at {moment:%H:%M:%S.%f}", mention_brand=True)
            if START <= moment < END:
                keep(post)
        # replies to the brand: notified
        self.reply = keep(
            fake.post(
                bob,
                START + dt.timedelta(hours=10),
                "Broken & late!",
                reply_to=launch,
                langs=["de", "en"],
            )
        )
        self.answer = keep(
            fake.post(
                brand, START + dt.timedelta(hours=10, minutes=30), "Sorry!", reply_to=self.reply
            )
        )
        fake.post(dave, START - dt.timedelta(hours=3), "too early", reply_to=launch)
        fake.post(carol, END + dt.timedelta(minutes=5), "too late", reply_to=deal)
        # the brand answered in carol's thread yesterday; a reply below it today that does not
        # notify the brand (parent dave, root carol) is found only through the thread
        question = fake.post(carol, START - dt.timedelta(hours=6), "does it work offline?")
        helped = fake.post(brand, START - dt.timedelta(hours=4), "Yes!", reply_to=question)
        dave_reply = keep(
            fake.post(dave, START + dt.timedelta(hours=9), "not for me", reply_to=helped)
        )
        self.thread_only = keep(
            fake.post(erin, START + dt.timedelta(hours=9, minutes=30), "same", reply_to=dave_reply)
        )
        self.quote = keep(fake.post(dave, START + dt.timedelta(hours=14), "lol", quote=deal))
        # clients set createdAt to anything; the day follows indexedAt
        self.future = keep(
            fake.post(
                dave,
                START + dt.timedelta(hours=16),
                "@brand hi",
                created_at="2099-01-01T00:00:00Z",
                mention_brand=True,
            )
        )
        self.garbled = keep(
            fake.post(
                carol,
                START + dt.timedelta(hours=16, minutes=30),
                "@brand yo",
                created_at="yesterday",
                mention_brand=True,
            )
        )
        self.backdated = keep(
            fake.post(
                bob,
                START + dt.timedelta(minutes=30),
                "@brand late",
                created_at="2026-11-19T22:00:00.000Z",
                mention_brand=True,
            )
        )
        fake.post(
            bob,
            END + dt.timedelta(minutes=5),
            "@brand early",
            created_at="2026-11-20T23:00:00Z",
            mention_brand=True,
        )
        # many authors: follower counts need two getProfiles calls
        for number in range(28):
            fan = fake.actor(f"fan{number}.test", followers=number)
            keep(
                fake.post(
                    fan,
                    START + dt.timedelta(hours=17, minutes=number),
                    "@brand <3",
                    mention_brand=True,
                )
            )
        # never mentions
        fake.like(alice, deal, START + dt.timedelta(hours=12))
        fake.repost(bob, deal, START + dt.timedelta(hours=12, minutes=30))
        fake.follow(carol, START + dt.timedelta(hours=13))
        fake.repost(brand, self.reply, START + dt.timedelta(hours=15))
        self.server = serve(fake)

    def source(self, landing: Path, sleeps: Sleeps, brand: Brand, **options: Any) -> BlueskySource:
        settings: dict[str, Any] = {"type": "bluesky", "page_size": 5}
        settings.update(options)
        connection = ConnectionInfo(host=self.server.url, login=HANDLE, password=PASSWORD)
        return BlueskySource(
            settings, brand, landing, connection, sleep=sleeps, clock=NOW.timestamp
        )

    def secrets(self) -> list[str]:
        """The app password and every session token the service handed out."""
        return [PASSWORD, *self.fake.issued]


@pytest.fixture
def world(serve: Callable[[Any], LoopbackServer]) -> World:
    return World(serve)


def read(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def by_uri(path: str | Path) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in read(path)}


def test_registered_and_built_like_every_source(tmp_path: Path, brand: Brand) -> None:
    assert source_class("bluesky") is BlueskySource
    source = build_source({"type": "bluesky"}, brand, tmp_path)
    assert source.options.conn_id == "bluesky_default"


def test_a_day_lands_exactly_its_mentions_replies_quotes_and_thread_replies(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    result = world.source(tmp_path, sleeps, brand).extract(DAY)

    records = by_uri(result.files[0].path)
    assert set(records) == world.expected
    assert result.records == len(records)
    ordered = read(result.files[0].path)
    assert [(r["created_at"], r["id"]) for r in ordered] == sorted(
        (r["created_at"], r["id"]) for r in ordered
    )
    reply = records[world.reply["uri"]]
    rkey = world.reply["uri"].rsplit("/", 1)[-1]
    assert reply == {
        "platform": "bluesky",
        "id": world.reply["uri"],
        "author": "bob.test",
        "created_at": "2026-11-20T09:59:59.000000+00:00",
        "text": "Broken & late!",
        "in_reply_to_id": world.reply["record"]["reply"]["parent"]["uri"],
        "url": f"https://bsky.app/profile/bob.test/post/{rkey}",
        "author_followers": 45,
        "lang": "de",
        "repost_of_id": None,
    }
    assert records[world.answer["uri"]]["author"] == HANDLE
    assert records[world.quote["uri"]]["in_reply_to_id"] is None
    assert records[world.thread_only["uri"]]["author"] == "erin.test"
    # createdAt when believable, else indexedAt; the day always by indexedAt
    assert records[world.future["uri"]]["created_at"] == "2026-11-20T16:00:00.000000+00:00"
    assert records[world.garbled["uri"]]["created_at"] == "2026-11-20T16:30:00.000000+00:00"
    assert records[world.backdated["uri"]]["created_at"] == "2026-11-19T22:00:00.000000+00:00"
    assert all(isinstance(r["author_followers"], int) for r in records.values())
    profiles = world.server.calls("/xrpc/app.bsky.actor.getProfiles")
    assert [len(call.query["actors"]) for call in profiles] == [25, 9]
    pages = world.server.calls(NOTIFICATIONS)
    assert len(pages) > 2 and pages[0].arg("limit") == "5"
    assert all(call.arg("cursor") for call in pages[1:])
    assert sleeps == []


def test_likes_follows_and_reposts_never_land(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    reasons = {n["reason"] for n in world.fake.notifications}
    assert {"like", "repost", "follow"} <= reasons  # they are there to be ignored
    records = read(world.source(tmp_path, sleeps, brand).extract(DAY).files[0].path)
    assert all("/app.bsky.feed.post/" in r["id"] for r in records)
    assert all(r["repost_of_id"] is None for r in records)
    assert len(records) == len({r["id"] for r in records}) == len(world.expected)


def test_an_expired_session_is_refreshed_once_and_the_run_goes_on(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    world.fake.expire_after = 3  # the access token expires in the middle of the paging
    records = by_uri(world.source(tmp_path, sleeps, brand).extract(DAY).files[0].path)
    assert set(records) == world.expected
    assert len(world.server.calls("/xrpc/com.atproto.server.refreshSession")) == 1
    assert len(world.server.calls("/xrpc/com.atproto.server.createSession")) == 1


def test_a_refused_refresh_logs_in_again(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    world.fake.expire_after = 2
    world.fake.revoke_refresh = True
    records = by_uri(world.source(tmp_path, sleeps, brand).extract(DAY).files[0].path)
    assert set(records) == world.expected
    assert len(world.server.calls("/xrpc/com.atproto.server.createSession")) == 2


def test_a_429_waits_until_ratelimit_reset_then_completes(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    limited = {
        "RateLimit-Limit": "3000",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(int(NOW.timestamp()) + 30),
        "RateLimit-Policy": "3000;w=300",
    }
    body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    world.server.inject(NOTIFICATIONS, Reply(429, body, limited), after=1)
    world.server.inject(THREAD, Reply(429, body, {"Retry-After": "5"}))
    records = by_uri(world.source(tmp_path, sleeps, brand).extract(DAY).files[0].path)
    assert sleeps == [pytest.approx(30.0), pytest.approx(5.0)]
    assert set(records) == world.expected


def test_a_deleted_thread_root_is_skipped(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    world.server.inject(THREAD, Reply(400, {"error": "NotFound", "message": "Post not found"}))
    records = by_uri(world.source(tmp_path, sleeps, brand).extract(DAY).files[0].path)
    assert set(records) == world.expected  # the first thread read (today's deal) had none
    assert len(world.server.calls(THREAD)) == 3


def test_a_rerun_later_replaces_the_landing_with_the_same_day(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    source = world.source(tmp_path, sleeps, brand)
    first = source.extract(DAY)
    landed = Path(first.files[0].path).read_bytes()
    world.server.inject(THREAD, *[Reply(503, b"")] * 5)
    with pytest.raises(SourceError):
        source.extract(DAY)  # a crash midway leaves the last good landing alone
    assert Path(first.files[0].path).read_bytes() == landed
    fan = world.fake.actor("late.test")
    world.fake.post(fan, END + dt.timedelta(hours=2), "@brand morning", mention_brand=True)
    again = source.extract(DAY)
    assert Path(again.files[0].path).read_bytes() == landed
    assert [p.name for p in source.landing_dir(DAY).iterdir()] == ["records.jsonl"]


def test_a_wrong_app_password_fails_with_401_and_leaks_nothing(
    world: World,
    tmp_path: Path,
    sleeps: Sleeps,
    brand: Brand,
    debug_logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    wrong = "wrong-pass-SECRET-zzzz"
    connection = ConnectionInfo(host=world.server.url, login=HANDLE, password=wrong)
    source = BlueskySource({"type": "bluesky"}, brand, tmp_path, connection, sleep=sleeps)
    with pytest.raises(SourceError) as caught:
        source.extract(DAY)
    assert caught.value.status == 401 and "HTTP 401" in str(caught.value)
    assert "Invalid identifier or password" in str(caught.value)
    assert_no_secret([wrong], logs=debug_logs, output=capfd, landing=tmp_path, error=caught.value)


def test_persistent_500_fails_naming_source_and_status_and_leaks_nothing(
    world: World,
    tmp_path: Path,
    sleeps: Sleeps,
    brand: Brand,
    debug_logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    world.server.inject(THREAD, *[Reply(500, {"error": "InternalServerError"})] * 10)
    source = world.source(tmp_path, sleeps, brand, name="bsky_main", max_retries=2)
    with pytest.raises(SourceError) as caught:
        source.extract(DAY)
    assert "bsky_main" in str(caught.value) and "HTTP 500" in str(caught.value)
    assert len(world.fake.issued) == 2
    assert_no_secret(
        world.secrets(), logs=debug_logs, output=capfd, landing=tmp_path, error=caught.value
    )


def test_a_good_run_with_a_refresh_leaks_no_credential(
    world: World,
    tmp_path: Path,
    sleeps: Sleeps,
    brand: Brand,
    debug_logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    world.fake.expire_after = 4
    world.source(tmp_path, sleeps, brand).extract(DAY)
    assert len(world.fake.issued) == 4  # login and one refresh
    assert_no_secret(world.secrets(), logs=debug_logs, output=capfd, landing=tmp_path)


def test_a_body_that_is_not_json_is_a_clear_error(
    world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand
) -> None:
    world.server.inject(NOTIFICATIONS, Reply(200, b'{"notifications": [{"uri": "at://'))
    with pytest.raises(SourceError) as caught:
        world.source(tmp_path, sleeps, brand).extract(DAY)
    assert "listNotifications" in str(caught.value) and "not valid JSON" in str(caught.value)


def test_a_timeout_is_retried(world: World, tmp_path: Path, sleeps: Sleeps, brand: Brand) -> None:
    world.server.inject(NOTIFICATIONS, Reply(200, {"notifications": []}, delay=1.5))
    source = world.source(tmp_path, sleeps, brand, timeout_seconds=0.3)
    records = by_uri(source.extract(DAY).files[0].path)
    assert set(records) == world.expected
    assert sleeps == [2.0]


def test_the_day_edges_follow_indexed_at(world: World) -> None:
    edges = [iso(START - TICK), iso(START), iso(END - TICK), iso(END)]
    indexed = {n["indexedAt"] for n in world.fake.notifications}
    assert set(edges) <= indexed  # the world really has posts on every edge
