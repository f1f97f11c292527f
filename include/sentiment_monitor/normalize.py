"""Normalize: turn one day of raw export records into clean mention rows, and quarantine the rest.

Reads every landed file of every source in a streaming way (one record at a time, bounded
memory), and for each record either

* rejects it with a reason a person can act on (not JSON, a required field missing, an
  unparseable timestamp, empty text, an unknown platform, ...), keeping the raw record,
* counts it as a duplicate (the same ``(platform, mention_id)`` seen earlier that day, or a
  repost/boost of another post), or
* emits a normalized mention: HTML turned into plain text with entities unescaped, the timestamp
  in UTC, the author's handle normalized, the brand's own posts marked, questions and mentions of
  the brand recognised.

Output goes to Parquet parts of at most ``chunk_rows`` rows, so the next steps stream too. The
counts satisfy ``read == emitted + rejected + duplicates`` and are checked before returning.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment_monitor.config import Config, normalize_handle
from sentiment_monitor.records import (
    EXPORT_FIELDS,
    NORMALIZED_SCHEMA,
    PLATFORMS,
    REJECT_SCHEMA,
    REQUIRED_EXPORT_FIELDS,
    format_timestamp,
)
from sentiment_monitor.sources.base import ExtractResult

#: Longest raw record kept in ``rejects`` (a pasted novel is not worth storing twice).
MAX_RAW_CHARS = 10_000

_HTML_HINT = re.compile(
    r"</?(?:p|br|span|a|div|b|i|em|strong|ul|ol|li|blockquote|code|pre)\b", re.I
)
_BLOCK_END = re.compile(r"<br\s*/?>|</p>\s*<p[^>]*>|</(?:div|li|blockquote)>", re.I)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class RecordError(ValueError):
    """A record cannot become a mention; the message is the reason stored in ``rejects``."""


@dataclass
class NormalizeResult:
    """What normalize did for one day: counts and where its output sits."""

    day: str
    read: int = 0
    emitted: int = 0
    rejected: int = 0
    duplicates: int = 0
    reposts: int = 0  # part of ``duplicates``
    parts: list[str] = field(default_factory=list)
    rejects: list[str] = field(default_factory=list)
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for XCom."""
        return asdict(self)


def html_to_text(text: str) -> str:
    """Plain text from a post that may be HTML (Mastodon) and may hold entities (everyone).

    Tags are removed only when the text looks like HTML, so ``I <3 it`` survives; paragraphs and
    line breaks become newlines; entities are unescaped; NUL bytes (which PostgreSQL cannot store)
    and surrounding whitespace are dropped.
    """
    if _HTML_HINT.search(text):
        text = _BLOCK_END.sub("\n", text)
        text = _TAG.sub("", text)
    text = html.unescape(text).replace("\x00", "")
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def parse_timestamp(
    value: Any, timestamp_format: str | None = None, assume_timezone: str | None = None
) -> dt.datetime:
    """Parse ``created_at`` into an aware UTC datetime, or raise RecordError saying why."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RecordError("created_at is empty")
    if not isinstance(value, str):
        raise RecordError(f"created_at is not a timestamp: {value!r:.80}")
    text = value.strip()
    try:
        if timestamp_format:
            parsed = dt.datetime.strptime(text, timestamp_format)
        else:
            parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        expected = timestamp_format or "ISO 8601"
        raise RecordError(
            f"created_at is not a valid timestamp ({expected}): {text!r:.80}"
        ) from None
    if parsed.tzinfo is None:
        if not assume_timezone:
            raise RecordError(f"created_at has no UTC offset: {text!r:.80}")
        parsed = parsed.replace(tzinfo=ZoneInfo(assume_timezone))
    return parsed.astimezone(dt.UTC)


def _optional_str(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    value = str(value).strip().replace("\x00", "")
    return value or None


def _followers(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(f"author_followers is not a whole number: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    else:
        raise RecordError(f"author_followers is not a whole number: {value!r:.40}")
    if number < 0:
        raise RecordError(f"author_followers is negative: {number}")
    return number


class BrandMatcher:
    """Recognises the brand's own accounts and mentions of them, per platform."""

    def __init__(self, handles: dict[str, str]) -> None:
        self.handles = {p: normalize_handle(h) for p, h in handles.items()}
        self._patterns = {
            p: re.compile(r"(?<![\w@.])@" + re.escape(h.split("@")[0]) + r"(?![\w])", re.I)
            for p, h in self.handles.items()
        }

    def is_brand(self, platform: str, author: str) -> bool:
        """True for the brand's own account (``brand`` also matches ``brand@its.instance``)."""
        handle = self.handles.get(platform)
        if handle is None:
            return False
        if author == handle:
            return True
        # One side without an instance: compare the local parts.
        if ("@" in author) != ("@" in handle):
            return author.split("@")[0] == handle.split("@")[0]
        return False

    def mentions_brand(self, platform: str, text: str) -> bool:
        """True when the text names the brand's handle on that platform (``@brand``)."""
        pattern = self._patterns.get(platform)
        return bool(pattern and pattern.search(text))


def is_question(text: str, min_chars: int) -> bool:
    """A question: a question mark in a post long enough to mean something."""
    return "?" in text and len(text) >= min_chars


def normalize_record(
    raw: dict[str, Any],
    *,
    day: str,
    source: str,
    brand: BrandMatcher,
    question_min_chars: int,
    timestamp_format: str | None = None,
    assume_timezone: str | None = None,
) -> dict[str, Any]:
    """One export record (canonical field names) -> one normalized mention, or RecordError."""
    missing = [key for key in REQUIRED_EXPORT_FIELDS if raw.get(key) is None]
    if missing:
        raise RecordError(f"missing required field(s): {', '.join(missing)}")
    platform = str(raw["platform"]).strip().lower()
    if platform not in PLATFORMS:
        known = ", ".join(PLATFORMS)
        raise RecordError(f"unknown platform {raw['platform']!r:.40}; known: {known}")
    mention_id = str(raw["id"]).strip()
    if not mention_id:
        raise RecordError("id is empty")
    author = normalize_handle(str(raw["author"]))
    if not author:
        raise RecordError("author is empty")
    if not isinstance(raw["text"], str):
        raise RecordError(f"text is not a string: {type(raw['text']).__name__}")
    text = html_to_text(raw["text"])
    if not text:
        raise RecordError("text is empty")
    created_at = parse_timestamp(raw["created_at"], timestamp_format, assume_timezone)
    followers = _followers(raw.get("author_followers"))
    own = brand.is_brand(platform, author)
    lang = _optional_str(raw, "lang")
    return {
        "platform": platform,
        "mention_id": mention_id,
        "day": day,
        "author": author,
        "author_followers": followers,
        "created_at": format_timestamp(created_at),
        "text": text,
        "lang": lang.lower() if lang else None,
        "url": _optional_str(raw, "url"),
        "in_reply_to_id": _optional_str(raw, "in_reply_to_id"),
        "is_brand": own,
        "is_question": (not own) and is_question(text, question_min_chars),
        "mentions_brand": brand.mentions_brand(platform, text),
        "source": source,
    }


def iter_file_records(
    path: Path, file_format: str, mapping: dict[str, str]
) -> Iterator[tuple[int, str, dict[str, Any] | None, str | None]]:
    """Yield ``(record_no, raw_text, record_or_None, error_or_None)`` for each record of a file.

    Records come back with canonical field names (``mapping`` translates another tool's column
    names). A UTF-8 byte order mark is accepted; undecodable bytes are replaced, never fatal.
    """
    reverse = {column: canonical for canonical, column in mapping.items()}
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        if file_format == "jsonl":
            for number, line in enumerate(handle, start=1):
                stripped = line.strip()
                if not stripped:
                    continue
                try:
                    record = json.loads(stripped)
                except json.JSONDecodeError as error:
                    reason = f"not valid JSON: {error.msg} at column {error.colno}"
                    yield number, stripped, None, reason
                    continue
                if not isinstance(record, dict):
                    yield number, stripped, None, "not a JSON object"
                    continue
                yield number, stripped, _rename(record, reverse), None
        elif file_format == "csv":
            reader = csv.reader(handle)
            try:
                header = [name.strip() for name in next(reader)]
            except StopIteration:
                return
            except csv.Error as error:
                yield 1, "", None, f"unreadable CSV header: {error}"
                return
            number = 0
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as error:
                    number += 1
                    yield number, "", None, f"unreadable CSV row: {error}"
                    continue
                number += 1
                if not row or all(not cell.strip() for cell in row):
                    continue
                raw = _csv_line(row)
                if len(row) != len(header):
                    yield (
                        number,
                        raw,
                        None,
                        (f"CSV row has {len(row)} fields, the header has {len(header)}"),
                    )
                    continue
                record = {
                    key: (value if value != "" else None)
                    for key, value in zip(header, row, strict=True)
                }
                yield number, raw, _rename(record, reverse), None
        else:
            raise ValueError(f"unknown file format {file_format!r}")


def _rename(record: dict[str, Any], reverse: dict[str, str]) -> dict[str, Any]:
    if not reverse:
        return record
    return {reverse.get(key, key): value for key, value in record.items()}


def _csv_line(row: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(row)
    return buffer.getvalue().rstrip("\r\n")


def display_path(path: str) -> str:
    """A file's path as stored in ``rejects``: relative to the project when it lies inside it."""
    from sentiment_monitor.config import project_root

    try:
        return str(Path(path).resolve().relative_to(project_root()))
    except ValueError:
        return str(path)


def _key_digest(platform: str, mention_id: str) -> bytes:
    # 8 bytes per key keeps the day's seen-set small (about 100 MB for 1M mentions would be
    # strings; digests are a fraction of that) while a collision stays astronomically unlikely.
    return hashlib.blake2b(f"{platform}\x1f{mention_id}".encode(), digest_size=8).digest()


class _PartWriter:
    """Buffers rows and writes Parquet parts of at most ``chunk_rows`` rows."""

    def __init__(self, folder: Path, prefix: str, schema: pa.Schema, chunk_rows: int) -> None:
        self.folder, self.prefix, self.schema, self.chunk_rows = folder, prefix, schema, chunk_rows
        self.rows: list[dict[str, Any]] = []
        self.paths: list[str] = []
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        path = self.folder / f"{self.prefix}-{len(self.paths):05d}.parquet"
        table = pa.Table.from_pylist(self.rows, schema=self.schema)
        pq.write_table(table, path, compression="zstd")
        self.paths.append(str(path))
        self.rows = []


def normalize_day(
    config: Config, day: str, extracts: list[ExtractResult], staging_dir: Path
) -> NormalizeResult:
    """Normalize every record the sources landed for ``day`` into ``staging_dir``.

    ``staging_dir`` is emptied first, so a rerun starts clean. Sources are read in the order of
    the configuration and files in sorted order, so which copy of a duplicate wins is stable.
    """
    normalized_dir, rejects_dir = staging_dir / "normalized", staging_dir / "rejects"
    for folder in (normalized_dir, rejects_dir):
        if folder.exists():
            shutil.rmtree(folder)
    chunk_rows = config.scoring.chunk_rows
    mentions = _PartWriter(normalized_dir, "part", NORMALIZED_SCHEMA, chunk_rows)
    rejects = _PartWriter(rejects_dir, "normalize", REJECT_SCHEMA, chunk_rows)
    brand = BrandMatcher(config.brand.handles)
    result = NormalizeResult(day=day)
    seen: set[bytes] = set()
    order = {options["name"]: index for index, options in enumerate(config.sources)}
    for extract in sorted(extracts, key=lambda e: order.get(e.source, len(order))):
        counts = result.per_source.setdefault(
            extract.source, {"read": 0, "emitted": 0, "rejected": 0, "duplicates": 0}
        )
        for landed in extract.files:
            for number, raw_text, record, error in iter_file_records(
                Path(landed.path), landed.format, extract.mapping
            ):
                result.read += 1
                counts["read"] += 1
                if record is not None and error is None:
                    try:
                        if _optional_str(record, "repost_of_id"):
                            result.duplicates += 1
                            result.reposts += 1
                            counts["duplicates"] += 1
                            continue
                        row = normalize_record(
                            record,
                            day=day,
                            source=extract.source,
                            brand=brand,
                            question_min_chars=config.flags.question_min_chars,
                            timestamp_format=extract.timestamp_format,
                            assume_timezone=extract.assume_timezone,
                        )
                    except RecordError as problem:
                        error = str(problem)
                    else:
                        digest = _key_digest(row["platform"], row["mention_id"])
                        if digest in seen:
                            result.duplicates += 1
                            counts["duplicates"] += 1
                            continue
                        seen.add(digest)
                        mentions.add(row)
                        result.emitted += 1
                        counts["emitted"] += 1
                        continue
                rejects.add(
                    {
                        "day": day,
                        "source": extract.source,
                        "file": display_path(landed.path),
                        "record_no": number,
                        "stage": "normalize",
                        "reason": error,
                        "raw": raw_text[:MAX_RAW_CHARS].replace("\x00", ""),
                    }
                )
                result.rejected += 1
                counts["rejected"] += 1
    mentions.flush()
    rejects.flush()
    result.parts, result.rejects = mentions.paths, rejects.paths
    if result.read != result.emitted + result.rejected + result.duplicates:
        raise AssertionError(f"normalize lost records: {result}")
    return result


__all__ = [
    "EXPORT_FIELDS",
    "BrandMatcher",
    "NormalizeResult",
    "RecordError",
    "html_to_text",
    "iter_file_records",
    "normalize_day",
    "normalize_record",
    "parse_timestamp",
]
