"""A fake Bluesky service (PDS + AppView), after the atproto lexicons the source relies on.

``com.atproto.server.createSession`` / ``refreshSession`` (rotating refresh tokens),
``app.bsky.notification.listNotifications`` (newest first by ``indexedAt``, ``limit`` up to 100,
opaque ``cursor``), ``app.bsky.feed.getAuthorFeed`` (own posts and reposts with a ``reason``),
``app.bsky.feed.getPostThread`` (``threadViewPost`` with nested ``replies`` down to ``depth``;
``NotFound`` for unknown posts) and ``app.bsky.actor.getProfiles`` (at most 25 actors). Errors
are ``{"error": ..., "message": ...}``: ``ExpiredToken`` (400) for an expired access token,
``AuthenticationRequired`` (401) for a wrong password. Every answer carries ``RateLimit-Limit``,
``RateLimit-Remaining``, ``RateLimit-Reset`` (unix seconds) and ``RateLimit-Policy``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from typing import Any

from .loopback import Reply, Request

Json = dict[str, Any]


def iso(moment: dt.datetime) -> str:
    """The AppView's timestamp form: ``2024-05-01T12:00:00.000Z``."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeBluesky:
    """The state of one service and a handler for :class:`LoopbackServer`."""

    def __init__(self, handle: str, password: str, now: dt.datetime) -> None:
        self.password = password
        self.now = now
        self._rkeys = itertools.count(1)
        self.actors: dict[str, Json] = {}
        self.brand = self.actor(handle, followers=12000)
        self.posts: dict[str, Json] = {}  # uri -> postView
        self.feed: list[Json] = []  # feed items of every actor: {"actor", "item", "at"}
        self.notifications: list[Json] = []
        self.access_tokens: dict[str, bool] = {}  # token -> still valid
        self.refresh_tokens: dict[str, bool] = {}
        self.issued: list[str] = []  # every token handed out, to check none leaks
        self.expire_after: int | None = None  # expire access tokens after this many calls
        self.revoke_refresh = False  # and revoke the refresh tokens with them
        self._authed_calls = 0
        self._served = 0

    # --- building the world -----------------------------------------------------------------

    def actor(self, handle: str, followers: int = 10) -> Json:
        """A new account."""
        did = f"did:plc:{handle.split('.')[0]}{len(self.actors):04d}"
        actor = {"did": did, "handle": handle, "displayName": handle.split(".")[0].title()}
        self.actors[did] = {**actor, "followersCount": followers}
        return actor

    def post(
        self,
        author: Json,
        indexed_at: dt.datetime,
        text: str,
        *,
        created_at: str | None = None,
        reply_to: Json | None = None,
        quote: Json | None = None,
        mention_brand: bool = False,
        langs: list[str] | None = None,
    ) -> Json:
        """A new post seen by the service at ``indexed_at``; notifies the brand as bsky does."""
        uri = f"at://{author['did']}/app.bsky.feed.post/3k{next(self._rkeys):011d}"
        record: Json = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": created_at or iso(indexed_at - dt.timedelta(seconds=1)),
            "langs": langs if langs is not None else ["en"],
        }
        if reply_to:
            root = reply_to["record"].get("reply", {}).get("root") or {
                "uri": reply_to["uri"],
                "cid": reply_to["cid"],
            }
            record["reply"] = {"root": root, "parent": {"uri": reply_to["uri"], "cid": "c"}}
        if quote:
            record["embed"] = {
                "$type": "app.bsky.embed.record",
                "record": {"uri": quote["uri"], "cid": quote["cid"]},
            }
        view = {
            "uri": uri,
            "cid": f"bafy{next(self._rkeys)}",
            "author": author,
            "record": record,
            "replyCount": 0,
            "repostCount": 0,
            "likeCount": 0,
            "quoteCount": 0,
            "indexedAt": iso(indexed_at),
            "labels": [],
        }
        self.posts[uri] = view
        self.feed.append({"actor": author["did"], "item": {"post": view}, "at": indexed_at})
        if reply_to:
            reply_to["replyCount"] += 1
        brand = self.brand["did"]
        if author["did"] != brand:
            notified = {self.posts[reply_to["uri"]]["author"]["did"]} if reply_to else set()
            if reply_to:
                notified.add(self.posts[record["reply"]["root"]["uri"]]["author"]["did"])
            if brand in notified:
                self.notify("reply", author, indexed_at, view, reason_subject=reply_to["uri"])
            elif quote and quote["author"]["did"] == brand:
                self.notify("quote", author, indexed_at, view, reason_subject=quote["uri"])
            elif mention_brand:
                self.notify("mention", author, indexed_at, view)
        return view

    def like(self, author: Json, post: Json, at: dt.datetime) -> None:
        """``author`` likes ``post`` (a notification the source must ignore)."""
        self._interaction("like", "app.bsky.feed.like", author, post, at)

    def repost(self, author: Json, post: Json, at: dt.datetime) -> None:
        """``author`` reposts ``post`` (shows in their feed with a reason; notifies its author)."""
        self._interaction("repost", "app.bsky.feed.repost", author, post, at)
        reason = {"$type": "app.bsky.feed.defs#reasonRepost", "by": author, "indexedAt": iso(at)}
        item = {"post": post, "reason": reason}
        self.feed.append({"actor": author["did"], "item": item, "at": at})

    def follow(self, author: Json, at: dt.datetime) -> None:
        """``author`` follows the brand."""
        record = {"$type": "app.bsky.graph.follow", "subject": self.brand["did"]}
        uri = f"at://{author['did']}/app.bsky.graph.follow/3f{next(self._rkeys):011d}"
        self.notify("follow", author, at, {"uri": uri, "cid": "bafyf", "record": record})

    def _interaction(
        self, reason: str, nsid: str, author: Json, post: Json, at: dt.datetime
    ) -> None:
        record = {"$type": nsid, "subject": {"uri": post["uri"]}, "createdAt": iso(at)}
        uri = f"at://{author['did']}/{nsid}/3i{next(self._rkeys):011d}"
        if post["author"]["did"] == self.brand["did"]:
            view = {"uri": uri, "cid": "bafyi", "record": record}
            self.notify(reason, author, at, view, reason_subject=post["uri"])

    def notify(
        self,
        reason: str,
        author: Json,
        at: dt.datetime,
        view: Json,
        reason_subject: str | None = None,
    ) -> None:
        """A notification for the brand."""
        notification = {
            "uri": view["uri"],
            "cid": view["cid"],
            "author": {**author, "indexedAt": iso(at)},
            "reason": reason,
            "record": view["record"],
            "isRead": False,
            "indexedAt": iso(at),
            "labels": [],
        }
        if reason_subject:
            notification["reasonSubject"] = reason_subject
        self.notifications.append(notification)

    # --- serving ------------------------------------------------------------------------------

    def __call__(self, request: Request) -> Reply:
        self._served += 1
        reset = int((self.now + dt.timedelta(minutes=5)).timestamp())
        headers = {
            "RateLimit-Limit": "3000",
            "RateLimit-Remaining": str(max(3000 - self._served, 1)),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": "3000;w=300",
        }
        reply = self._route(request)
        reply.headers = {**headers, **reply.headers}
        return reply

    def _issue(self) -> Json:
        access, refresh = f"eyJacc.{secrets.token_hex(8)}", f"eyJref.{secrets.token_hex(8)}"
        self.access_tokens[access] = True
        self.refresh_tokens[refresh] = True
        self.issued += [access, refresh]
        brand = self.brand
        return {"accessJwt": access, "refreshJwt": refresh, **brand, "active": True}

    def _bearer(self, request: Request) -> str:
        return request.headers.get("authorization", "").removeprefix("Bearer ")

    def _route(self, request: Request) -> Reply:
        nsid = request.path.removeprefix("/xrpc/")
        if nsid == "com.atproto.server.createSession" and request.method == "POST":
            body = request.json() or {}
            if (
                body.get("identifier") in (self.brand["handle"], self.brand["did"])
                and body.get("password") == self.password
            ):
                return Reply(200, self._issue())
            return Reply(
                401,
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
            )
        if nsid == "com.atproto.server.refreshSession" and request.method == "POST":
            token = self._bearer(request)
            if not self.refresh_tokens.get(token):
                return Reply(400, {"error": "ExpiredToken", "message": "Token has been revoked"})
            self.refresh_tokens[token] = False  # refresh tokens rotate
            return Reply(200, self._issue())
        token = self._bearer(request)
        if not token:
            return Reply(401, {"error": "AuthMissing", "message": "Authentication Required"})
        if token not in self.access_tokens:
            return Reply(401, {"error": "InvalidToken", "message": "Token could not be verified"})
        if self.expire_after is not None and self._authed_calls >= self.expire_after:
            self.access_tokens = dict.fromkeys(self.access_tokens, False)
            if self.revoke_refresh:
                self.refresh_tokens = dict.fromkeys(self.refresh_tokens, False)
            self.expire_after = None
        if not self.access_tokens[token]:
            return Reply(400, {"error": "ExpiredToken", "message": "Token has expired"})
        self._authed_calls += 1
        handlers = {
            "app.bsky.notification.listNotifications": self._notifications,
            "app.bsky.feed.getAuthorFeed": self._author_feed,
            "app.bsky.feed.getPostThread": self._thread,
            "app.bsky.actor.getProfiles": self._profiles,
        }
        if nsid not in handlers:
            return Reply(501, {"error": "MethodNotImplemented", "message": "Not Implemented"})
        return handlers[nsid](request)

    def _page(self, request: Request, items: list[tuple[str, Json]], key: str) -> Reply:
        """Newest-first paging of (sort key, item) pairs with an opaque cursor."""
        limit = int(request.arg("limit") or 50)
        if not 1 <= limit <= 100:
            return Reply(400, {"error": "InvalidRequest", "message": "limit must be <= 100"})
        ordered = sorted(items, key=lambda pair: pair[0], reverse=True)
        cursor = request.arg("cursor")
        if cursor:
            ordered = [pair for pair in ordered if pair[0] < cursor]
        page = ordered[:limit]
        body: Json = {key: [item for _, item in page]}
        if len(page) == limit:
            body["cursor"] = page[-1][0]
        return Reply(200, body)

    def _notifications(self, request: Request) -> Reply:
        items = [(f"{n['indexedAt']}|{n['cid']}|{n['uri']}", n) for n in self.notifications]
        return self._page(request, items, "notifications")

    def _author_feed(self, request: Request) -> Reply:
        actor = request.arg("actor")
        dids = {did for did, a in self.actors.items() if actor in (did, a["handle"])}
        items = [
            (f"{iso(entry['at'])}|{entry['item']['post']['uri']}", entry["item"])
            for entry in self.feed
            if entry["actor"] in dids
        ]
        return self._page(request, items, "feed")

    def _thread(self, request: Request) -> Reply:
        uri = request.arg("uri") or ""
        if uri not in self.posts:
            return Reply(400, {"error": "NotFound", "message": f"Post not found: {uri}"})
        depth = int(request.arg("depth") or 6)

        def node(view: Json, level: int) -> Json:
            result: Json = {"$type": "app.bsky.feed.defs#threadViewPost", "post": view}
            if level < depth:
                children = [
                    p
                    for p in self.posts.values()
                    if p["record"].get("reply", {}).get("parent", {}).get("uri") == view["uri"]
                ]
                result["replies"] = [node(child, level + 1) for child in children]
            return result

        return Reply(200, {"thread": node(self.posts[uri], 0)})

    def _profiles(self, request: Request) -> Reply:
        actors = request.query.get("actors", [])
        if len(actors) > 25:
            return Reply(400, {"error": "InvalidRequest", "message": "actors must be <= 25"})
        profiles = [
            {**self.actors[did], "followsCount": 1, "postsCount": 1}
            for did in actors
            if did in self.actors
        ]
        return Reply(200, {"profiles": profiles})
