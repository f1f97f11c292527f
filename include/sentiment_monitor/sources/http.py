"""The polite HTTP layer the network sources share, and how they land a day of records.

:class:`HttpClient` wraps one ``httpx.Client`` per extract: every request has a timeout; timeouts,
connection errors and 5xx answers are retried a bounded number of times with exponential backoff;
rate limits are honoured as the server states them (``Retry-After`` on a 429, Mastodon's
``X-RateLimit-Remaining``/``X-RateLimit-Reset`` with an ISO timestamp, Bluesky's
``ratelimit-remaining``/``ratelimit-reset`` with unix seconds), waiting before the next request
when the window is used up. Sleeping and the clock are injectable so tests never really wait.
Anything that goes wrong becomes a :class:`SourceError` whose message names the source, the
request (method and path, never the query) and the HTTP status, and in which every credential the
client knows of is masked. :func:`land_records` writes the day's export records to the source's
landing folder atomically, replacing whatever an earlier attempt left, so a rerun never doubles.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx
from pydantic import Field

from sentiment_monitor import __version__
from sentiment_monitor.config import Brand
from sentiment_monitor.records import EXPORT_FIELDS
from sentiment_monitor.sources.base import (
    ConnectionInfo,
    ExtractResult,
    LandedFile,
    Source,
    SourceOptions,
)

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]

#: The one file an API source lands per day, inside its ``landing_dir(day)``.
LANDED_FILE_NAME = "records.jsonl"

#: Longest single backoff between retries of a failed request, in seconds.
MAX_BACKOFF_SECONDS = 60.0

#: Shown instead of a credential wherever one would otherwise appear.
MASK = "***"

_USER_AGENT = f"sentiment-monitor/{__version__}"


class SourceError(RuntimeError):
    """A source could not collect its day. The message names the source and the HTTP status.

    ``status`` is the HTTP status (None for timeouts and connection errors) and ``code`` the
    machine-readable error the server sent (Bluesky's ``error`` field), so callers can react to
    e.g. an expired session without parsing the message.
    """

    def __init__(
        self,
        source: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(f"source {source!r}: {message}")
        self.source = source
        self.message = message
        self.status = status
        self.code = code

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields survive pickling (task runners and worker pools pickle errors).
        return (type(self), (self.source, self.message), dict(vars(self)))


class HttpSourceOptions(SourceOptions):
    """Options every network source has: which connection, how patient to be, how far back."""

    #: The Airflow connection holding the instance/service URL and the credentials.
    conn_id: str
    #: Seconds to wait for connect, read and write of one request.
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    #: Retries of one request after a timeout, connection error or 5xx (and, separately, a 429).
    max_retries: int = Field(4, ge=0, le=10)
    #: First backoff between retries; it doubles with each retry (capped at 60 s).
    backoff_seconds: float = Field(2.0, ge=0, le=60)
    #: Longest wait a rate limit may impose before the source gives up (the run fails, to be
    #: retried by Airflow later) rather than holding a worker slot.
    max_rate_limit_wait_seconds: float = Field(900.0, ge=0, le=86_400)
    #: The brand's posts of this many days before the collected day are searched for replies.
    threads_lookback_days: int = Field(7, ge=0, le=90)


class HttpClient:
    """One source's HTTP session: timeouts, bounded retries, rate limits, masked errors."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 2.0,
        max_wait: float = 900.0,
        secrets: Iterable[str | None] = (),
        headers: Mapping[str, str] | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.source = source
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add_secret(secret)
        #: Clock time before which no request is sent: the server said the window is used up.
        self._not_before = 0.0
        self._base = httpx.URL(base_url)
        self._http = httpx.Client(
            base_url=self._base,
            timeout=timeout,
            headers={"User-Agent": _USER_AGENT, "Accept": "application/json", **(headers or {})},
            follow_redirects=False,
            transport=transport,
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def add_secret(self, secret: str | None) -> None:
        """Mask ``secret`` in every message this client produces from now on."""
        if secret:
            self._secrets.add(secret)

    def redact(self, text: str) -> str:
        """``text`` with every known credential replaced by ``***``."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def error(
        self, message: str, *, status: int | None = None, code: str | None = None
    ) -> SourceError:
        """A SourceError for this client's source, credentials masked."""
        return SourceError(self.source, self.redact(message), status=status, code=code)

    def expect_object(self, value: Any, what: str) -> dict[str, Any]:
        """``value`` if it is a JSON object, else a SourceError saying what was expected."""
        if not isinstance(value, dict):
            raise self.error(f"unexpected answer: a JSON {type(value).__name__} as {what}")
        return value

    def same_origin(self, url: str) -> bool:
        """Whether ``url`` points at this client's server (credentials go nowhere else)."""
        other = httpx.URL(url)
        if other.is_relative_url:
            return True
        return (other.scheme, other.host, other.port) == (
            self._base.scheme,
            self._base.host,
            self._base.port,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request politely; return a 2xx response or raise SourceError."""
        if not self.same_origin(url):
            other = httpx.URL(url)
            raise self.error(
                f"refusing to send {method} {other.path} to another server ({other.host})"
            )
        what = f"{method} {httpx.URL(url).path}"
        failures = 0
        rate_limited = 0
        while True:
            self._wait_for_window(what)
            status: int | None = None
            try:
                response = self._http.request(
                    method, url, params=params, json=json_body, headers=headers
                )
            except httpx.TimeoutException:
                problem = "timed out"
            except httpx.UnsupportedProtocol:
                raise self.error(f"{what}: the URL's scheme is not http(s)") from None
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__})"
            except httpx.RequestError as exc:  # decoding, redirects: retrying will not help
                raise self.error(f"{what} failed ({type(exc).__name__})") from None
            else:
                status = response.status_code
                self._note_rate_limit(response)
                if status == 429:
                    rate_limited += 1
                    wait = self._rate_limit_wait(response, rate_limited)
                    self._not_before = 0.0  # the wait below is the one the server asked for
                    if rate_limited > self.max_retries or wait > self.max_wait:
                        raise self.error(
                            f"{what} failed: HTTP 429 (rate limited; the server asks to wait "
                            f"{wait:.0f} s, after {rate_limited} rate-limited attempts)",
                            status=429,
                        )
                    log.warning(
                        "source %r: %s rate limited (HTTP 429); waiting %.1f s as the server asks",
                        self.source,
                        what,
                        wait,
                    )
                    self._sleep(wait)
                    continue
                if status < 300:
                    return response
                if status < 400:
                    # Not followed: a redirect would carry the credentials somewhere else.
                    target = httpx.URL(response.headers.get("location", ""))
                    raise self.error(
                        f"{what} redirected (HTTP {status}) to {target.scheme}://{target.host}"
                        f"{target.path}; set the connection host to the final address",
                        status=status,
                    )
                if status < 500 and status != 408:
                    raise self._http_error(what, response)
                problem = f"HTTP {status}"
            failures += 1
            if failures > self.max_retries:
                detail = f"HTTP {status}" if status is not None else problem
                raise self.error(
                    f"{what} failed: {detail} after {failures} attempts", status=status
                )
            delay = min(self.backoff * 2 ** (failures - 1), MAX_BACKOFF_SECONDS)
            log.warning(
                "source %r: %s %s; retry %d of %d in %.1f s",
                self.source,
                what,
                problem,
                failures,
                self.max_retries,
                delay,
            )
            self._sleep(delay)

    def pages(self, url: str, params: Mapping[str, Any]) -> Iterator[list[Any]]:
        """The non-empty pages of a list endpoint paged by ``Link: <...>; rel="next"`` (Mastodon).

        Stops after the last page (no next link, an empty page, or a next link seen before);
        the caller stops earlier by leaving the loop.
        """
        next_url: str | None = url
        query: Mapping[str, Any] | None = params
        seen: set[str] = set()
        while next_url:
            body, response = self.get_json(next_url, params=query)
            if not isinstance(body, list):
                raise self.error(
                    f"GET {httpx.URL(next_url).path} answered with a JSON "
                    f"{type(body).__name__}, expected a list"
                )
            if not body:
                return
            yield body
            link = response.links.get("next", {}).get("url")
            if not link or link in seen:
                return
            seen.add(link)
            next_url, query = link, None

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[Any, httpx.Response]:
        """GET ``url`` and return its decoded JSON body and the response (for its headers)."""
        response = self.request("GET", url, params=params, headers=headers)
        return self.decode(response), response

    def post_json(
        self,
        url: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """POST ``json_body`` to ``url`` and return the decoded JSON answer."""
        return self.decode(self.request("POST", url, json_body=json_body, headers=headers))

    def decode(self, response: httpx.Response) -> Any:
        """The JSON body of ``response``, or a SourceError saying it is not JSON."""
        try:
            return response.json()
        except ValueError:
            what = f"{response.request.method} {response.request.url.path}"
            raise self.error(
                f"{what} answered HTTP {response.status_code} with a body that is not valid JSON "
                f"({len(response.content)} bytes)",
                status=response.status_code,
            ) from None

    def _http_error(self, what: str, response: httpx.Response) -> SourceError:
        """A SourceError for a 4xx answer, with the server's own error text when it gave one."""
        code: str | None = None
        detail = ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            error = body.get("error")
            message = body.get("message") or body.get("error_description")
            code = error if isinstance(error, str) else None
            parts = [str(part) for part in (error, message) if part]
            detail = ": ".join(parts)[:300]
        suffix = f" ({detail})" if detail else ""
        return self.error(
            f"{what} failed: HTTP {response.status_code}{suffix}",
            status=response.status_code,
            code=code,
        )

    def _wait_for_window(self, what: str) -> None:
        wait = self._not_before - self._clock()
        self._not_before = 0.0
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise self.error(
                f"{what} not sent: the rate limit is used up for another {wait:.0f} s "
                f"(more than max_rate_limit_wait_seconds={self.max_wait:.0f})",
                status=429,
            )
        log.info(
            "source %r: rate limit window used up; waiting %.1f s before %s",
            self.source,
            wait,
            what,
        )
        self._sleep(wait)

    def _note_rate_limit(self, response: httpx.Response) -> None:
        """Remember when the window resets if this response used up the last request."""
        remaining = _header(response, "x-ratelimit-remaining", "ratelimit-remaining")
        if remaining is None:
            return
        try:
            left = float(remaining)
        except ValueError:
            return
        if left <= 0:
            reset = self._reset_time(response)
            if reset is not None:
                self._not_before = max(self._not_before, reset)

    def _reset_time(self, response: httpx.Response) -> float | None:
        """The clock time the rate-limit window resets at, from either platform's headers."""
        value = _header(response, "x-ratelimit-reset", "ratelimit-reset")
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            moment = parse_timestamp(value)
            return moment.timestamp() if moment else None
        # Bluesky sends unix seconds; the IETF draft (and some proxies) a delta in seconds.
        return number if number > 1e9 else self._clock() + number

    def _rate_limit_wait(self, response: httpx.Response, attempt: int) -> float:
        """How long a 429 asks us to wait: Retry-After, else the reset time, else backoff."""
        retry_after = response.headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(float(retry_after), 0.0)
            except ValueError:
                try:
                    moment = email.utils.parsedate_to_datetime(retry_after)
                except (TypeError, ValueError):
                    moment = None
                if moment is not None:
                    return max(moment.timestamp() - self._clock(), 0.0)
        reset = self._reset_time(response)
        if reset is not None:
            return max(reset - self._clock(), 1.0)
        return min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)


def _header(response: httpx.Response, *names: str) -> str | None:
    for name in names:
        value = response.headers.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp with an offset, in UTC; None if absent, unparseable or naive."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    return moment.astimezone(dt.UTC)


def service_url(host: str | None, port: int | None, default: str | None = None) -> str:
    """The base URL of a connection: ``https://`` unless the host names a scheme; port if set."""
    host = (host or default or "").strip().rstrip("/")
    if not host:
        return ""
    if "://" not in host:
        host = f"https://{host}"
    url = httpx.URL(host)
    if port and url.port is None:
        url = url.copy_with(port=port)
    return str(url).rstrip("/")


def land_records(folder: Path, records: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``records`` as the folder's only JSONL file, atomically; return its path.

    The file is written under a temporary name in the same folder, flushed to disk and renamed
    over ``records.jsonl``; then every other file in the folder (what a crashed or older attempt
    left) is removed. A reader therefore sees the previous complete file or the new one, never a
    half-written one, and a rerun replaces rather than adds. Each line carries every export field
    in a fixed order (absent optional fields as null).
    """
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / LANDED_FILE_NAME
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{LANDED_FILE_NAME}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            for record in records:
                line = {name: record.get(name) for name in EXPORT_FIELDS}
                out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for path in folder.iterdir():
        if path != final and (path.is_file() or path.is_symlink()):
            path.unlink(missing_ok=True)
    return final


class HttpSource(Source):
    """A source that reads an HTTP API and lands one UTC day of export records as JSONL.

    ``sleep``, ``clock`` and ``transport`` exist for tests (no real waiting, a fixed "now");
    the DAG builds sources through ``build_source`` and gets the real ones.
    """

    Options: ClassVar[type[SourceOptions]] = HttpSourceOptions
    options: HttpSourceOptions

    def __init__(
        self,
        options: dict[str, Any],
        brand: Brand,
        landing_path: Path,
        connection: ConnectionInfo | None = None,
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(options, brand, landing_path, connection)
        self._sleep = sleep
        self._clock = clock
        self._transport = transport

    def error(self, message: str) -> SourceError:
        """A SourceError naming this source (for problems found before any request)."""
        return SourceError(self.name, message)

    def http_client(
        self,
        base_url: str,
        *,
        secrets: Iterable[str | None] = (),
        headers: Mapping[str, str] | None = None,
    ) -> HttpClient:
        """A client for ``base_url`` configured from this source's options."""
        return HttpClient(
            self.name,
            base_url,
            timeout=self.options.timeout_seconds,
            max_retries=self.options.max_retries,
            backoff=self.options.backoff_seconds,
            max_wait=self.options.max_rate_limit_wait_seconds,
            secrets=secrets,
            headers=headers,
            sleep=self._sleep,
            clock=self._clock,
            transport=self._transport,
        )

    def land(
        self, day: dt.date, records: Iterable[Mapping[str, Any]], counts: Mapping[str, int]
    ) -> ExtractResult:
        """Land ``records`` sorted by (created_at, id), log ``counts``, describe the file."""
        ordered = sorted(records, key=lambda r: (str(r.get("created_at")), str(r.get("id"))))
        path = land_records(self.landing_dir(day), ordered)
        log.info(
            "source %r: landed %d records of %s (%s)",
            self.name,
            len(ordered),
            day.isoformat(),
            ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "none seen",
        )
        return ExtractResult(
            source=self.name,
            day=day.isoformat(),
            files=[LandedFile(str(path), "jsonl")],
            records=len(ordered),
        )


def utc_iso(moment: dt.datetime) -> str:
    """The export form of a UTC timestamp: ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")
