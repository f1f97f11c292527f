"""A fake Mastodon instance, as docs.joinmastodon.org describes the endpoints the source uses.

``GET /api/v1/accounts/verify_credentials``, ``GET /api/v1/notifications`` (``types[]``,
``max_id``, ``limit`` up to 80, newest first, ``Link`` header with ``rel="next"`` only when the
page is full, as Mastodon does), ``GET /api/v1/accounts/:id/statuses`` (``limit`` up to 40,
``exclude_reblogs``) and ``GET /api/v1/statuses/:id/context``. Every answer carries
``X-RateLimit-Limit/Remaining/Reset`` (reset as an ISO timestamp); errors are ``{"error": ...}``.
Ids are Mastodon-style snowflakes (creation milliseconds shifted left 16 bits), so they sort by
time like the real ones.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from urllib.parse import urlencode

from .loopback import Reply, Request

Json = dict[str, Any]


def iso(moment: dt.datetime) -> str:
    """Mastodon's timestamp form: ``2019-11-23T07:49:01.940Z``."""
    text = moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


class FakeMastodon:
    """The state of one instance and a handler for :class:`LoopbackServer`."""

    def __init__(self, token: str, now: dt.datetime, brand: str = "brand") -> None:
        self.token = token
        self.now = now
        self.honour_types = True  # servers before 3.5 ignore types[]
        self._seq = itertools.count(1)
        self._accounts = itertools.count(100)
        self.statuses: dict[str, Json] = {}
        self.notifications: list[Json] = []
        self.brand = self.account(brand, followers=5000)
        self._served = 0

    # --- building the world -----------------------------------------------------------------

    def account(self, acct: str, followers: int = 10) -> Json:
        """A new account."""
        number = next(self._accounts)
        return {
            "id": str(number),
            "username": acct.split("@")[0],
            "acct": acct,
            "display_name": acct.title(),
            "followers_count": followers,
            "url": f"https://social.example/@{acct}",
        }

    def _id(self, moment: dt.datetime) -> str:
        return str((int(moment.timestamp() * 1000) << 16) + next(self._seq))

    def post(
        self,
        account: Json,
        at: dt.datetime,
        content: str,
        *,
        reply_to: Json | None = None,
        visibility: str = "public",
        language: str | None = "en",
        reblog: Json | None = None,
        mention_brand: bool = False,
    ) -> Json:
        """A new status by ``account`` at ``at``; a mention notifies the brand."""
        status_id = self._id(at)
        status = {
            "id": status_id,
            "created_at": iso(at),
            "in_reply_to_id": reply_to["id"] if reply_to else None,
            "in_reply_to_account_id": reply_to["account"]["id"] if reply_to else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": visibility,
            "language": language,
            "uri": f"https://social.example/users/{account['acct']}/statuses/{status_id}",
            "url": f"https://social.example/@{account['acct']}/{status_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "content": content,
            "reblog": reblog,
            "account": account,
            "mentions": [],
        }
        self.statuses[status_id] = status
        if reply_to:
            reply_to["replies_count"] += 1
        replies_to_brand = reply_to is not None and reply_to["account"]["id"] == self.brand["id"]
        if (mention_brand or replies_to_brand) and account["id"] != self.brand["id"]:
            self.notify("mention", account, at, status)
        return status

    def notify(self, kind: str, account: Json, at: dt.datetime, status: Json | None) -> Json:
        """A notification of ``kind`` (mention, reblog, favourite, follow, ...) for the brand."""
        notification = {
            "id": self._id(at),
            "type": kind,
            "created_at": iso(at),
            "account": account,
            "status": status,
        }
        self.notifications.append(notification)
        return notification

    # --- serving ------------------------------------------------------------------------------

    def __call__(self, request: Request) -> Reply:
        self._served += 1
        headers = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(max(300 - self._served, 1)),
            "X-RateLimit-Reset": iso(self.now + dt.timedelta(minutes=5)),
        }
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, {"error": "The access token is invalid"}, headers)
        reply = self._route(request)
        reply.headers = {**headers, **reply.headers}
        return reply

    def _route(self, request: Request) -> Reply:
        path = request.path
        if path == "/api/v1/accounts/verify_credentials":
            return Reply(200, {**self.brand, "source": {"privacy": "public"}})
        if path == "/api/v1/notifications":
            items = self.notifications
            types = request.query.get("types[]")
            if types and self.honour_types:
                items = [n for n in items if n["type"] in types]
            return self._page(request, items, default=40, most=80)
        if path.startswith("/api/v1/accounts/") and path.endswith("/statuses"):
            account_id = path.split("/")[4]
            items = [s for s in self.statuses.values() if s["account"]["id"] == account_id]
            if request.arg("exclude_reblogs") == "true":
                items = [s for s in items if not s["reblog"]]
            return self._page(request, items, default=20, most=40)
        if path.startswith("/api/v1/statuses/") and path.endswith("/context"):
            status_id = path.split("/")[4]
            if status_id not in self.statuses:
                return Reply(404, {"error": "Record not found"})
            return Reply(200, self._context(status_id))
        return Reply(404, {"error": "Record not found"})

    def _page(self, request: Request, items: list[Json], *, default: int, most: int) -> Reply:
        limit = min(int(request.arg("limit") or default), most)
        newest_first = sorted(items, key=lambda item: int(item["id"]), reverse=True)
        max_id = request.arg("max_id")
        if max_id:
            newest_first = [i for i in newest_first if int(i["id"]) < int(max_id)]
        page = newest_first[:limit]
        links = []
        base = f"http://{request.headers['host']}{request.path}"
        keep = [(k, v) for k, vs in request.query.items() for v in vs if k in ("limit", "types[]")]
        if len(page) == limit:
            links.append(f'<{base}?{urlencode([*keep, ("max_id", page[-1]["id"])])}>; rel="next"')
        if page:
            links.append(f'<{base}?{urlencode([*keep, ("min_id", page[0]["id"])])}>; rel="prev"')
        headers = {"Link": ", ".join(links)} if links else {}
        return Reply(200, page, headers)

    def _context(self, status_id: str) -> Json:
        ancestors = []
        parent = self.statuses[status_id]["in_reply_to_id"]
        while parent and parent in self.statuses:
            ancestors.insert(0, self.statuses[parent])
            parent = self.statuses[parent]["in_reply_to_id"]
        descendants: list[Json] = []
        frontier = [status_id]
        while frontier:
            current = frontier.pop(0)
            children = sorted(
                (s for s in self.statuses.values() if s["in_reply_to_id"] == current),
                key=lambda s: int(s["id"]),
            )
            descendants.extend(children)
            frontier.extend(child["id"] for child in children)
        return {"ancestors": ancestors, "descendants": descendants}
