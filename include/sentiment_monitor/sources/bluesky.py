"""Bluesky: the brand's mentions, replies, quotes and the replies in its threads, one UTC day a run.

The source logs in with the handle and app password of the connection (``createSession``) and
refreshes the session once when a call answers ``ExpiredToken``. Three streams are merged by
``at://`` URI: the notifications, newest first, cursor-paged back until they are older than the
day, keeping only the reasons ``mention``, ``reply`` and ``quote`` (likes, follows and reposts are
never mentions); the brand's own replies of the day, from its author feed; and the replies of the
day in the threads (``getPostThread``) of the brand's posts of the day and the
``threads_lookback_days`` before it. Clients set ``createdAt`` to anything, so the day a post
belongs to is decided by ``indexedAt``, the time the service saw it. The exported ``created_at`` is
the post's ``createdAt`` when it parses as a timestamp with an offset and is not later than
``indexedAt`` (plus a little clock skew); otherwise ``indexedAt``. Follower counts come from
``getProfiles`` in batches of 25 unless ``fetch_followers`` is off.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from pydantic import Field

from sentiment_monitor.sources.base import ExtractResult, SourceOptions, day_bounds
from sentiment_monitor.sources.http import (
    HttpClient,
    HttpSource,
    HttpSourceOptions,
    SourceError,
    parse_timestamp,
    service_url,
    utc_iso,
)

log = logging.getLogger(__name__)

#: Notification reasons that are a post addressed to the brand; everything else is ignored.
KEPT_REASONS = frozenset({"mention", "reply", "quote"})

#: Lists are sorted by the service's own time, but paging goes this far past the day's start
#: so that nothing at the edge is missed.
EDGE_SLACK = dt.timedelta(minutes=10)

#: A ``createdAt`` later than ``indexedAt`` by more than this is a client's wrong clock.
CLOCK_SKEW = dt.timedelta(minutes=5)

#: ``app.bsky.actor.getProfiles`` takes at most this many actors per call.
PROFILES_PER_CALL = 25

DEFAULT_SERVICE = "https://bsky.social"

Item = dict[str, Any]


class BlueskySourceOptions(HttpSourceOptions):
    """``{type: bluesky, conn_id: bluesky_default, ...}``."""

    conn_id: str = "bluesky_default"
    #: Items per page of notifications and of the author feed (Bluesky allows at most 100).
    page_size: int = Field(100, ge=1, le=100)
    #: How deep below a brand post its thread is read.
    thread_depth: int = Field(100, ge=1, le=1000)
    #: Look up authors' follower counts (one extra call per 25 authors).
    fetch_followers: bool = True


class _Session:
    """A logged-in XRPC session: the access token on every call, renewed once when it expires."""

    def __init__(self, client: HttpClient, identifier: str, password: str) -> None:
        self.client = client
        self._identifier = identifier
        self._password = password
        self._access = ""
        self._refresh = ""
        self.did = ""
        self.handle = ""

    def login(self) -> None:
        """``com.atproto.server.createSession`` with the handle and app password."""
        body = self.client.post_json(
            "/xrpc/com.atproto.server.createSession",
            json_body={"identifier": self._identifier, "password": self._password},
        )
        self._take(body)

    def refresh(self) -> None:
        """``com.atproto.server.refreshSession``; log in again if the refresh token is refused."""
        try:
            body = self.client.post_json(
                "/xrpc/com.atproto.server.refreshSession",
                headers={"Authorization": f"Bearer {self._refresh}"},
            )
        except SourceError as error:
            if error.status not in (400, 401):
                raise
            log.info(
                "source %r: refresh refused (HTTP %s); logging in again", error.source, error.status
            )
            self.login()
            return
        self._take(body)

    def _take(self, body: Any) -> None:
        body = self.client.expect_object(body, "session")
        access, refresh = body.get("accessJwt"), body.get("refreshJwt")
        if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
            raise self.client.error("the session answer carries no accessJwt/refreshJwt")
        self.client.add_secret(access)
        self.client.add_secret(refresh)
        self._access, self._refresh = access, refresh
        self.did = str(body.get("did") or self.did)
        self.handle = str(body.get("handle") or self.handle)

    def get(self, nsid: str, params: Mapping[str, Any]) -> Item:
        """GET an XRPC query; on ``ExpiredToken`` refresh the session and try once more."""
        try:
            return self._get(nsid, params)
        except SourceError as error:
            if error.code != "ExpiredToken" or error.status not in (400, 401):
                raise
        log.info("source %r: session expired; refreshing it", self.client.source)
        self.refresh()
        return self._get(nsid, params)

    def _get(self, nsid: str, params: Mapping[str, Any]) -> Item:
        body, _ = self.client.get_json(
            f"/xrpc/{nsid}", params=params, headers={"Authorization": f"Bearer {self._access}"}
        )
        return self.client.expect_object(body, nsid)

    def pages(self, nsid: str, params: Mapping[str, Any], key: str) -> Iterator[list[Any]]:
        """The non-empty pages of a cursor-paged query; ``key`` names the list in the answer."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            query = dict(params, cursor=cursor) if cursor else dict(params)
            body = self.get(nsid, query)
            items = body.get(key)
            if not isinstance(items, list):
                raise self.client.error(f"GET /xrpc/{nsid} answered without a {key!r} list")
            if not items:
                return
            yield items
            cursor = body.get("cursor")
            if not isinstance(cursor, str) or not cursor or cursor in seen:
                return
            seen.add(cursor)


class BlueskySource(HttpSource):
    """Lands one UTC day of a Bluesky brand account's mentions, replies, quotes and threads."""

    type = "bluesky"
    Options: ClassVar[type[SourceOptions]] = BlueskySourceOptions
    options: BlueskySourceOptions

    def extract(self, day: dt.date) -> ExtractResult:
        """Collect every mention, reply and quote indexed on ``day`` and land them."""
        connection = self.connection
        identifier = (connection.login if connection else None) or self.brand.handles.get("bluesky")
        password = connection.password if connection else None
        if not identifier or not password:
            raise self.error(
                f"connection {self.options.conn_id!r} must give login (the handle) and "
                "password (an app password)"
            )
        base_url = service_url(
            connection.host if connection else None,
            connection.port if connection else None,
            DEFAULT_SERVICE,
        )
        start, end = day_bounds(day)
        found = _Found()
        with self.http_client(base_url, secrets=[password]) as client:
            session = _Session(client, identifier, password)
            session.login()
            self._notifications(session, start, end, found)
            for uri in self._brand_feed(session, start, end, found):
                self._thread(session, uri, start, end, found)
            if self.options.fetch_followers:
                self._followers(session, found)
        return self.land(day, found.collected.values(), found.counts)

    def _notifications(
        self, session: _Session, start: dt.datetime, end: dt.datetime, found: _Found
    ) -> None:
        """Mentions, replies and quotes, newest first, until the page ends before the day."""
        params = {"limit": self.options.page_size}
        nsid = "app.bsky.notification.listNotifications"
        for page in session.pages(nsid, params, "notifications"):
            for item in page:
                item = session.client.expect_object(item, "notification")
                indexed = _indexed(session.client, item)
                reason = item.get("reason")
                if reason not in KEPT_REASONS:
                    found.counts[f"skipped {reason} notifications"] += 1
                    continue
                if start <= indexed < end:
                    found.add(session.client, item, indexed, "notifications")
            last = session.client.expect_object(page[-1], "notification")
            if _indexed(session.client, last) < start - EDGE_SLACK:
                break

    def _brand_feed(
        self, session: _Session, start: dt.datetime, end: dt.datetime, found: _Found
    ) -> list[str]:
        """The brand's replies of the day; return its posts of the window that have replies."""
        window_start = start - dt.timedelta(days=self.options.threads_lookback_days)
        roots: list[str] = []
        params = {
            "actor": session.did or session.handle,
            "limit": self.options.page_size,
            "filter": "posts_with_replies",
        }
        for page in session.pages("app.bsky.feed.getAuthorFeed", params, "feed"):
            for entry in page:
                entry = session.client.expect_object(entry, "feed item")
                post = session.client.expect_object(entry.get("post"), "feed post")
                author = post.get("author")
                if entry.get("reason") or not isinstance(author, dict):
                    continue  # a repost or pin, not the brand's own post
                if author.get("did") != session.did:
                    continue
                indexed = _indexed(session.client, post)
                if not window_start <= indexed < end:
                    continue
                record = post.get("record") or {}
                if start <= indexed < end and isinstance(record, dict) and record.get("reply"):
                    found.add(session.client, post, indexed, "brand replies")
                if post.get("replyCount") != 0 and isinstance(post.get("uri"), str):
                    roots.append(post["uri"])
            last = session.client.expect_object(page[-1], "feed item")
            reason = last.get("reason")
            moment = reason if isinstance(reason, dict) else last.get("post")
            if _indexed(session.client, moment) < window_start - EDGE_SLACK:
                break
        return roots

    def _thread(
        self, session: _Session, uri: str, start: dt.datetime, end: dt.datetime, found: _Found
    ) -> None:
        """The replies of the day anywhere below one of the brand's posts."""
        try:
            body = session.get(
                "app.bsky.feed.getPostThread", {"uri": uri, "depth": self.options.thread_depth}
            )
        except SourceError as error:
            if error.code == "NotFound" or error.status == 404:  # deleted since it was listed
                found.counts["skipped deleted threads"] += 1
                return
            raise
        thread = body.get("thread")
        stack = list(thread.get("replies") or []) if isinstance(thread, dict) else []
        while stack:
            node = stack.pop()
            post = node.get("post") if isinstance(node, dict) else None
            if not isinstance(post, dict):
                continue  # notFoundPost, blockedPost
            indexed = _indexed(session.client, post)
            if start <= indexed < end:
                found.add(session.client, post, indexed, "thread replies")
            stack.extend(node.get("replies") or [])

    def _followers(self, session: _Session, found: _Found) -> None:
        """Fill ``author_followers`` from ``getProfiles``, 25 authors a call."""
        dids = sorted(set(found.authors.values()) - {""})
        followers: dict[str, int] = {}
        for offset in range(0, len(dids), PROFILES_PER_CALL):
            batch = dids[offset : offset + PROFILES_PER_CALL]
            body = session.get("app.bsky.actor.getProfiles", {"actors": batch})
            for profile in body.get("profiles") or []:
                if isinstance(profile, dict) and isinstance(profile.get("followersCount"), int):
                    followers[str(profile.get("did"))] = profile["followersCount"]
        for uri, record in found.collected.items():
            record["author_followers"] = followers.get(found.authors[uri])


class _Found:
    """The day's posts so far, by URI (first stream wins), with their authors and counts."""

    def __init__(self) -> None:
        self.collected: dict[str, Item] = {}
        self.authors: dict[str, str] = {}  # uri -> author DID, for follower counts
        self.counts: Counter[str] = Counter()

    def add(self, client: HttpClient, item: Item, indexed: dt.datetime, stream: str) -> None:
        """Keep a notification or post view (both carry uri, author and record)."""
        uri = item.get("uri")
        author = item.get("author")
        record = item.get("record")
        if not isinstance(uri, str) or not isinstance(author, dict) or not isinstance(record, dict):
            raise client.error("a post without uri, author or record")
        if "/app.bsky.feed.post/" not in uri:
            self.counts["skipped non-posts"] += 1
            return
        if uri in self.collected:
            return
        self.collected[uri] = _export(uri, author, record, indexed)
        self.authors[uri] = str(author.get("did") or "")
        self.counts[stream] += 1


def _export(uri: str, author: Item, record: Item, indexed: dt.datetime) -> Item:
    """The export record of a post."""
    handle = str(author.get("handle") or "")
    did = str(author.get("did") or "")
    created = parse_timestamp(record.get("createdAt"))
    if created is None or created > indexed + CLOCK_SKEW:
        created = indexed
    reply = record.get("reply")
    parent = reply.get("parent") if isinstance(reply, dict) else None
    parent_uri = parent.get("uri") if isinstance(parent, dict) else None
    langs = record.get("langs")
    lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    text = record.get("text")
    # "handle.invalid" marks a handle that no longer resolves; the DID still names the author.
    profile = handle if handle and handle != "handle.invalid" else did
    return {
        "platform": "bluesky",
        "id": uri,
        "author": profile,
        "created_at": utc_iso(created),
        "text": text if isinstance(text, str) else "",
        "in_reply_to_id": parent_uri if isinstance(parent_uri, str) else None,
        "url": f"https://bsky.app/profile/{profile}/post/{uri.rsplit('/', 1)[-1]}",
        "author_followers": None,
        "lang": lang,
        "repost_of_id": None,
    }


def _indexed(client: HttpClient, item: Any) -> dt.datetime:
    moment = parse_timestamp(item.get("indexedAt")) if isinstance(item, dict) else None
    if moment is None:
        raise client.error("an item without a valid indexedAt")
    return moment
