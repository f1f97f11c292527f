"""Mastodon: the brand's mentions, replies in its threads and its own replies, one UTC day a run.

The access token in the connection belongs to the brand's account (``verify_credentials`` says
which). Three streams are read and merged by status id: the ``mention`` notifications, newest
first, paged back through the ``Link`` header until they are older than the day; the brand's own
statuses of the day and of ``threads_lookback_days`` before it, whose replies to others count as
the brand's answers; and the descendants (``/statuses/:id/context``) of each of those statuses that
has replies. A status belongs to day D when its ``created_at`` falls in D (UTC), so a run for D
collects the same set whenever it happens, apart from posts federated to the instance after the run.
Boosts are never new mentions and are skipped; direct messages are skipped unless
``include_direct``. ``content`` is kept as Mastodon's HTML; the normalizer turns it into text.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import Any, ClassVar
from urllib.parse import quote

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

#: Notifications and statuses are ordered by id, which follows creation time only roughly (a
#: remote server's clock, delivery delays); paging goes this far past the day's start.
EDGE_SLACK = dt.timedelta(minutes=10)


class MastodonSourceOptions(HttpSourceOptions):
    """``{type: mastodon, conn_id: mastodon_default, include_direct: false, ...}``."""

    conn_id: str = "mastodon_default"
    #: Land direct messages (visibility "direct") too; they are private, so off by default.
    include_direct: bool = False
    #: Notifications per page (Mastodon allows at most 80).
    page_size: int = Field(80, ge=1, le=80)
    #: The brand's statuses per page (Mastodon allows at most 40).
    statuses_page_size: int = Field(40, ge=1, le=40)


Status = dict[str, Any]


class MastodonSource(HttpSource):
    """Lands one UTC day of a Mastodon brand account's mentions and thread replies."""

    type = "mastodon"
    Options: ClassVar[type[SourceOptions]] = MastodonSourceOptions
    options: MastodonSourceOptions

    def extract(self, day: dt.date) -> ExtractResult:
        """Collect every mention and thread reply created on ``day`` and land them."""
        connection = self.connection
        base_url = service_url(connection.host, connection.port) if connection else ""
        token = connection.password if connection else None
        if not base_url or not token:
            raise self.error(
                f"connection {self.options.conn_id!r} must give host (the instance URL) and "
                "password (the access token)"
            )
        headers = {"Authorization": f"Bearer {token}"}
        with self.http_client(base_url, secrets=[token], headers=headers) as client:
            run = _Day(client, day, self.options.include_direct)
            account = client.expect_object(
                client.get_json("/api/v1/accounts/verify_credentials")[0], "account"
            )
            if not account.get("id"):
                raise client.error("verify_credentials answered without an account id")
            self._check_brand(account)
            self._mentions(run)
            for status_id in self._brand_statuses(run, str(account["id"])):
                self._thread_replies(run, status_id)
        return self.land(day, run.collected.values(), run.counts)

    def _check_brand(self, account: Status) -> None:
        handle = self.brand.handles.get("mastodon")
        acct = str(account.get("acct", "")).lower()
        if handle and acct and handle != acct and handle.split("@")[0] != acct:
            log.warning(
                "source %r: the access token belongs to %r, not to the brand handle %r; its own "
                "posts will not be recognised as the brand's",
                self.name,
                acct,
                handle,
            )

    def _mentions(self, run: _Day) -> None:
        """Mention notifications, newest first, until a page ends before the day starts."""
        params = {"types[]": ["mention"], "limit": self.options.page_size}
        for page in run.client.pages("/api/v1/notifications", params):
            for item in page:
                notification = run.client.expect_object(item, "notification")
                status = notification.get("status")
                # Servers before 3.5 ignore types[]: filter here too.
                if notification.get("type") != "mention" or not isinstance(status, dict):
                    run.counts["skipped other notifications"] += 1
                    continue
                run.consider(status, "mentions")
            last = run.client.expect_object(page[-1], "notification")
            oldest = parse_timestamp(last.get("created_at")) or run.created(last.get("status"))
            if oldest < run.start - EDGE_SLACK:
                break

    def _brand_statuses(self, run: _Day, account_id: str) -> list[str]:
        """Keep the brand's replies of the day; return its statuses of the window with replies."""
        window_start = run.start - dt.timedelta(days=self.options.threads_lookback_days)
        threads: list[str] = []
        params = {"limit": self.options.statuses_page_size, "exclude_reblogs": "true"}
        url = f"/api/v1/accounts/{quote(account_id, safe='')}/statuses"
        for page in run.client.pages(url, params):
            for item in page:
                status = run.client.expect_object(item, "status")
                if status.get("reblog"):
                    continue
                if not window_start <= run.created(status) < run.end:
                    continue
                if status.get("in_reply_to_id"):
                    run.consider(status, "brand replies")
                # replies_count counts the replies this instance knows, the same ones the
                # context endpoint returns; only a sure zero saves the request.
                if status.get("replies_count") != 0:
                    threads.append(str(status["id"]))
            if run.created(page[-1]) < window_start - EDGE_SLACK:
                break
        return threads

    def _thread_replies(self, run: _Day, status_id: str) -> None:
        """The day's statuses among the descendants of one of the brand's statuses."""
        url = f"/api/v1/statuses/{quote(status_id, safe='')}/context"
        try:
            context, _ = run.client.get_json(url)
        except SourceError as error:
            if error.status == 404:  # deleted since it was listed
                run.counts["skipped deleted threads"] += 1
                return
            raise
        descendants = run.client.expect_object(context, "context").get("descendants") or []
        if not isinstance(descendants, list):
            raise run.client.error(f"GET {url} answered without a descendants list")
        for status in descendants:
            run.consider(run.client.expect_object(status, "status"), "thread replies")


class _Day:
    """One run's collection: the day's bounds, the statuses kept so far by id, and counts."""

    def __init__(self, client: HttpClient, day: dt.date, include_direct: bool) -> None:
        self.client = client
        self.start, self.end = day_bounds(day)
        self.include_direct = include_direct
        self.collected: dict[str, Status] = {}
        self.counts: Counter[str] = Counter()

    def created(self, status: Any) -> dt.datetime:
        """The status's ``created_at`` in UTC, or a SourceError if it has none."""
        created = parse_timestamp(status.get("created_at")) if isinstance(status, dict) else None
        if created is None:
            raise self.client.error("a status or notification without a valid created_at")
        return created

    def consider(self, status: Status, stream: str) -> None:
        """Keep ``status`` if it was created on the day and is wanted at all."""
        if status.get("reblog"):
            self.counts["skipped boosts"] += 1
            return
        if status.get("visibility") == "direct" and not self.include_direct:
            self.counts["skipped direct messages"] += 1
            return
        created = self.created(status)
        if not self.start <= created < self.end:
            return
        record = self.record(status, created)
        if record["id"] not in self.collected:
            self.collected[record["id"]] = record
            self.counts[stream] += 1

    def record(self, status: Status, created: dt.datetime) -> Status:
        """The export record of a status."""
        account = status.get("account")
        if not status.get("id") or not isinstance(account, dict) or not account.get("acct"):
            raise self.client.error("a status without id or account.acct")
        followers = account.get("followers_count")
        reply_to = status.get("in_reply_to_id")
        return {
            "platform": "mastodon",
            "id": str(status["id"]),
            "author": str(account["acct"]),
            "created_at": utc_iso(created),
            "text": status.get("content") or "",
            "in_reply_to_id": str(reply_to) if reply_to else None,
            "url": status.get("url") or status.get("uri"),
            "author_followers": followers if isinstance(followers, int) else None,
            "lang": status.get("language"),
            "repost_of_id": None,
        }
