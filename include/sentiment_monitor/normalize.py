"""Normalize: turn one day of raw export records into clean mention rows, and quarantine the rest.

Reads every landed file of every source, on all cores: the files are cut into pieces (a CSV
file, whose quoted fields may span lines, or a line-aligned byte range of a JSONL file) that a
spawned process pool normalizes one record at a time in bounded memory. For each record, either

* rejects it with a reason a person can act on (not JSON, a required field missing, an
  unparseable timestamp, empty text, an unknown platform, ...), keeping the raw record,
* counts it as a duplicate (the same ``(platform, mention_id)`` seen earlier that day, or a
  repost/boost of another post), or
* emits a normalized mention: HTML turned into plain text with entities unescaped, the timestamp
  in UTC, the author's handle normalized, the brand's own posts marked, questions and mentions of
  the brand recognised.

Output goes to Parquet parts of at most ``chunk_rows`` rows, so the next steps stream too. The
counts satisfy ``read == emitted + rejected + duplicates`` (per source and overall) and are
checked before returning. Record numbers in ``rejects`` are those of the whole file (line of a
JSONL file, data row of a CSV file), however it was cut.

Duplicates: the first copy wins, in reading order (sources in the order of the configuration,
their files in sorted order, records in file order), whatever process read it. Each piece
returns an 8-byte digest of ``(platform, mention_id)`` per row; the parent finds the first copy
of each key with a sort, by buckets of digests so memory stays flat, and writes the row numbers
of the later copies beside their part (``part-*.drop.npy``) instead of rewriting it.
:func:`read_normalized` reads a part without them; the score step reads parts that way.
"""

from __future__ import annotations

import codecs
import concurrent.futures
import contextlib
import csv
import datetime as dt
import hashlib
import html
import io
import json
import math
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from msgspec.structs import astuple

from sentiment_monitor.processes import spawn_pool, without_cycle_collector
from sentiment_monitor.records import (
    EXPORT_FIELDS,
    NORMALIZED_SCHEMA,
    PLATFORMS,
    REJECT_SCHEMA,
    REQUIRED_EXPORT_FIELDS,
    format_timestamp,
    read_part,
    write_staged_part,
)

if TYPE_CHECKING:  # worker processes import this module: keep pydantic and config out of it
    from sentiment_monitor.config import Config
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
    part_rows: list[int] = field(default_factory=list)  # rows of each part, later copies skipped
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
    if not (
        "<" in text
        or "&" in text
        or "\n" in text
        or "  " in text
        or "\t" in text
        or "\r" in text
        or "\x00" in text
        or "\x0b" in text
        or "\x0c" in text
    ):
        # No tag, entity, NUL, line break or run of blanks: only the ends can change. Most posts
        # from Bluesky and the exports take this way. (Substring tests beat one regex here.)
        return text.strip()
    if "<" in text and _HTML_HINT.search(text):
        text = _BLOCK_END.sub("\n", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    if "\x00" in text:
        text = text.replace("\x00", "")
    if "  " in text or "\t" in text or "\r" in text or "\x0b" in text or "\x0c" in text:
        text = _SPACES.sub(" ", text)  # otherwise every blank is already one space
    if "\n" in text:
        text = "\n".join(line.strip() for line in text.split("\n"))
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


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
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # year 1 or 9999 pushed out of range by its offset
        raise RecordError(f"created_at is out of range in UTC: {text!r:.80}") from None


def _clean(value: Any) -> str | None:
    """An optional text field: stripped, without NUL bytes, None when empty."""
    if value is None:
        return None
    value = str(value).strip()
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value or None


def _followers(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(f"author_followers is not a whole number: {value!r}")
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        try:
            number = int(value.strip())
        except ValueError:  # "--5", or digits int() does not read, such as "²"
            number = None
    if number is None:
        raise RecordError(f"author_followers is not a whole number: {value!r:.40}")
    if number < 0:
        raise RecordError(f"author_followers is negative: {number}")
    return number


class BrandMatcher:
    """Recognises the brand's own accounts and mentions of them, per platform."""

    def __init__(self, handles: dict[str, str], *, normalized: bool = False) -> None:
        if not normalized:
            from sentiment_monitor.config import normalize_handle

            handles = {p: normalize_handle(h) for p, h in handles.items()}
        self.handles = handles
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

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent to the workers as its normalized handles, rebuilt without the configuration's
        # code (workers never import it); the compiled class (native.py) pickles only this way.
        return (_brand_matcher, (self.handles,))


def _brand_matcher(handles: dict[str, str]) -> BrandMatcher:
    return BrandMatcher(handles, normalized=True)


def is_question(text: str, min_chars: int) -> bool:
    """A question: a question mark in a post long enough to mean something."""
    return "?" in text and len(text) >= min_chars


#: An ISO 8601 timestamp in the form exports use: ``YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM)``.
#: Seconds and fraction never change in the conversion to UTC (offsets are whole minutes), nor
#: do minutes when the offset is whole hours; so only the hour (or minute) and the offset need
#: parsing, and those repeat all day.
_ISO_TIMESTAMP = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3])):([0-5][0-9]):([0-5][0-9])"
    r"(?:\.([0-9]{1,6}))?(Z|[+-][0-9]{2}:[0-9]{2})"
)


class _Normalizer:
    """Turns the canonical fields of one export record into one normalized row, fast.

    Holds what repeats from record to record: the brand's handles, the platform spellings seen,
    and the hours of the day already converted to UTC.
    """

    _CACHE_MAX = 100_000

    def __init__(
        self,
        brand: BrandMatcher,
        question_min_chars: int,
        timestamp_format: str | None = None,
        assume_timezone: str | None = None,
    ) -> None:
        self.brand = brand
        self.question_min_chars = question_min_chars
        self.timestamp_format = timestamp_format
        self.assume_timezone = assume_timezone
        self._platforms: dict[str, str] = {}
        self._heads: dict[str, str] = {}
        self._iso = _ISO_TIMESTAMP.fullmatch if timestamp_format is None else None

    def timestamp(self, value: Any) -> str:
        """``created_at`` in the staged text form (see ``format_timestamp``), or RecordError."""
        if self._iso is not None and type(value) is str:
            match = self._iso(value)
            if match is not None:
                hour, minute, second, fraction, offset = match.groups()
                whole_hours = offset == "Z" or offset.endswith("00")
                key = hour + offset if whole_hours else f"{hour}:{minute}{offset}"
                head = self._heads.get(key)
                if head is None:
                    # fromisoformat still judges the date, hour and offset.
                    at = f"{hour}:00:00{offset}" if whole_hours else f"{hour}:{minute}:00{offset}"
                    whole = format_timestamp(parse_timestamp(at))
                    # drop ":MM:SS.ffffff+00:00" or ":SS.ffffff+00:00"
                    head = whole[:-19] if whole_hours else whole[:-16]
                    if len(self._heads) >= self._CACHE_MAX:
                        self._heads.clear()
                    self._heads[key] = head
                if whole_hours:
                    head = f"{head}:{minute}"
                return f"{head}:{second}.{fraction or '':0<6}+00:00"
        return format_timestamp(parse_timestamp(value, self.timestamp_format, self.assume_timezone))

    def row(
        self,
        platform: Any,
        mention_id: Any,
        author: Any,
        created_at: Any,
        text: Any,
        in_reply_to_id: Any,
        url: Any,
        author_followers: Any,
        lang: Any,
    ) -> tuple[Any, ...]:
        """The normalized values in ``_ROW_FIELDS`` order, or RecordError saying why not.

        The checks and their order are those of the export format (``records.py``);
        the common cases (strings, whole numbers) are inlined.
        """
        if (
            platform is None
            or mention_id is None
            or author is None
            or created_at is None
            or text is None
        ):
            values = (platform, mention_id, author, created_at, text)
            missing = [k for k, v in zip(REQUIRED_EXPORT_FIELDS, values, strict=True) if v is None]
            raise RecordError(f"missing required field(s): {', '.join(missing)}")
        name = self._platforms.get(platform) if type(platform) is str else None
        if name is None:
            name = str(platform).strip().lower()
            if name not in PLATFORMS:
                known = ", ".join(PLATFORMS)
                raise RecordError(f"unknown platform {platform!r:.40}; known: {known}")
            if type(platform) is str:
                self._platforms[platform] = name
        mention_id = str(mention_id).strip()
        if not mention_id:
            raise RecordError("id is empty")
        author = str(author).strip().lstrip("@").lower()  # config.normalize_handle
        if not author:
            raise RecordError("author is empty")
        if not isinstance(text, str):
            raise RecordError(f"text is not a string: {type(text).__name__}")
        text = html_to_text(text)
        if not text:
            raise RecordError("text is empty")
        created = self.timestamp(created_at)
        followers = author_followers
        if type(followers) is not int or followers < 0:
            if type(followers) is str and followers.isdigit() and followers.isascii():
                followers = int(followers)
            else:
                followers = _followers(followers)
        if lang is not None:
            lang = str(lang).strip().lower()
            if "\x00" in lang:
                lang = lang.replace("\x00", "")
            lang = lang or None
        if url is not None:
            url = str(url).strip()
            if "\x00" in url:
                url = url.replace("\x00", "")
            url = url or None
        if in_reply_to_id is not None:
            in_reply_to_id = str(in_reply_to_id).strip()
            if "\x00" in in_reply_to_id:
                in_reply_to_id = in_reply_to_id.replace("\x00", "")
            in_reply_to_id = in_reply_to_id or None
        brand = self.brand
        own = brand.is_brand(name, author)
        return (
            name,
            mention_id,
            author,
            followers,
            created,
            text,
            lang,
            url,
            in_reply_to_id,
            own,
            (not own) and "?" in text and len(text) >= self.question_min_chars,  # is_question
            "@" in text and brand.mentions_brand(name, text),
        )


#: The columns :meth:`_Normalizer.row` returns, in order (``day`` and ``source`` are per file).
_ROW_FIELDS: tuple[str, ...] = (
    "platform",
    "mention_id",
    "author",
    "author_followers",
    "created_at",
    "text",
    "lang",
    "url",
    "in_reply_to_id",
    "is_brand",
    "is_question",
    "mentions_brand",
)

#: Export fields in the argument order of :meth:`_Normalizer.row`, then ``repost_of_id``.
#: The export fields in the order a record's values are read (``records.EXPORT_FIELDS``): the
#: values before ``repost_of_id`` make a row (``_Normalizer.row``); a record naming a post it
#: re-shares is counted as a repost instead.
_READ_FIELDS: tuple[str, ...] = EXPORT_FIELDS
_REPOST = _READ_FIELDS.index("repost_of_id")


#: A JSONL export record with canonical keys, fields in ``_READ_FIELDS`` order (``astuple``
#: relies on it); every other key is ignored.
_ExportRecord = msgspec.defstruct("_ExportRecord", [(key, Any, None) for key in _READ_FIELDS])


_EXPORT_DECODER = msgspec.json.Decoder(_ExportRecord)


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


def line_count(data: bytes) -> int:
    """Lines in ``data`` as Python's universal newlines count them (``\\n``, ``\\r\\n``, ``\\r``).

    ``data`` must not end between the ``\\r`` and the ``\\n`` of one line break.
    """
    if b"\r" not in data:  # the usual case: one pass, not three
        return data.count(b"\n")
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def split_lines(path: str | Path, piece_bytes: int) -> list[tuple[int, int, int]]:
    """Cut a file of lines into byte ranges of about ``piece_bytes``, each ending after a ``\\n``.

    Returns ``(start, end, lines_before)``: ``lines_before`` is the number of lines (as
    :func:`line_count` counts them) before ``start``, so a range can number its records as
    reading the whole file would. A file without ``\\n`` is one range.
    """
    size = os.path.getsize(path)
    ranges: list[tuple[int, int, int]] = []
    start, lines = 0, 0
    block = 1 << 22
    with open(path, "rb") as handle:
        while start < size:
            end = size
            if size - start > piece_bytes + piece_bytes // 2:
                handle.seek(start + piece_bytes)
                offset = start + piece_bytes
                while True:
                    chunk = handle.read(1 << 16)
                    if not chunk:
                        break
                    newline = chunk.find(b"\n")
                    if newline >= 0:
                        end = offset + newline + 1
                        break
                    offset += len(chunk)
            ranges.append((start, end, lines))
            if end < size:  # count the range's lines, block by block, minding a split "\r\n"
                handle.seek(start)
                left, previous_cr = end - start, False
                while left:
                    chunk = handle.read(min(block, left))
                    left -= len(chunk)
                    lines += line_count(chunk)
                    if previous_cr and chunk[:1] == b"\n":
                        lines -= 1
                    previous_cr = chunk[-1:] == b"\r"
            start = end
    return ranges


def iter_lines(
    path: str | Path, start: int = 0, end: int | None = None, block: int = 1 << 22
) -> Iterator[str]:
    """The lines of bytes ``[start, end)`` of a UTF-8 text file, decoded, without line ends.

    Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (Python's universal newlines, as text
    files read with ``newline=""`` split them); a byte order mark at the start of the file is
    dropped; undecodable bytes are replaced. ``start`` must be 0 or just after a ``\\n``.
    """
    with open(path, "rb") as handle:
        handle.seek(start)
        left = (os.path.getsize(path) if end is None else end) - start
        pending = b""
        first = start == 0
        while left > 0 or pending:
            chunk = handle.read(min(block, left)) if left > 0 else b""
            left -= len(chunk)
            if not chunk:
                left = 0
            data = pending + chunk
            if first:
                if len(data) < 3 and left > 0:
                    pending = data
                    continue
                if data.startswith(codecs.BOM_UTF8):
                    data = data[3:]
                first = False
            cut = data.rfind(b"\n") + 1 if left > 0 else len(data)
            pending = data[cut:]
            if not cut:
                continue
            text = data[:cut].decode("utf-8", "replace")
            lines = text.split("\n")
            if text.endswith("\n"):
                lines.pop()
            if "\r" in text:
                lines = _split_cr(lines)
            yield from lines


def _split_cr(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if "\r" not in line:
            out.append(line)
            continue
        if line.endswith("\r"):  # the "\r" of "\r\n", or a lone one ending the file
            line = line[:-1]
        out.extend(line.split("\r"))
    return out


@dataclass(frozen=True)
class _Piece:
    """One unit of normalize work: a file, or a line-aligned byte range of a JSONL file."""

    index: int  # position in the day's reading order: the order in which copies compete
    source: str
    path: str
    label: str  # the path as stored in rejects
    file_format: str
    start: int = 0
    end: int | None = None
    lines_before: int = 0
    mapping: tuple[tuple[str, str], ...] = ()
    timestamp_format: str | None = None
    assume_timezone: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return _by_fields(self)


@dataclass(frozen=True)
class _Job:
    """What every piece shares."""

    day: str
    brand: BrandMatcher
    question_min_chars: int
    chunk_rows: int
    normalized_dir: str
    rejects_dir: str

    def __reduce__(self) -> tuple[Any, ...]:
        return _by_fields(self)


def _by_fields(value: Any) -> tuple[Any, ...]:
    """Pickle a frozen dataclass by calling it with its fields: the compiled classes
    (native.py) cannot be rebuilt by setting the attributes of a frozen instance."""
    return (type(value), tuple(getattr(value, f.name) for f in fields(value)))


class _PieceWriter:
    """Collects one piece's rows and writes them as Parquet parts of at most ``chunk_rows``."""

    def __init__(self, job: _Job, piece: _Piece) -> None:
        self.job, self.piece = job, piece
        self.rows: list[tuple[Any, ...]] = []
        self.digests: list[np.ndarray] = []
        self.parts: list[tuple[str, int]] = []
        self.reject_rows: list[tuple[int, str, str]] = []
        self.rejects: list[str] = []
        self.rejected = 0

    def reject(self, number: int, reason: str, raw: str) -> None:
        self.reject_rows.append((number, reason, raw[:MAX_RAW_CHARS].replace("\x00", "")))
        self.rejected += 1
        if len(self.reject_rows) >= self.job.chunk_rows:
            self.flush_rejects()

    def flush(self) -> None:
        rows = len(self.rows)
        if not rows:
            return
        columns = dict(zip(_ROW_FIELDS, zip(*self.rows, strict=True), strict=True))
        self.rows.clear()  # the same list: readers hold it
        digest = hashlib.blake2b
        self.digests.append(
            np.frombuffer(
                b"".join(
                    digest(f"{platform}\x1f{mention_id}".encode(), digest_size=8).digest()
                    for platform, mention_id in zip(
                        columns["platform"], columns["mention_id"], strict=True
                    )
                ),
                dtype=np.uint64,
            )
        )
        columns["day"] = (self.job.day,) * rows
        columns["source"] = (self.piece.source,) * rows
        table = pa.Table.from_arrays(
            [pa.array(columns[f.name], f.type) for f in NORMALIZED_SCHEMA],
            schema=NORMALIZED_SCHEMA,
        )
        del columns
        path = Path(self.job.normalized_dir) / (
            f"part-{self.piece.index:05d}-{len(self.parts):03d}.parquet"
        )
        write_staged_part(table, path)
        self.parts.append((str(path), rows))

    def flush_rejects(self) -> None:
        if not self.reject_rows:
            return
        count = len(self.reject_rows)
        numbers, reasons, raws = zip(*self.reject_rows, strict=True)
        columns = {
            "day": [self.job.day] * count,
            "source": [self.piece.source] * count,
            "file": [self.piece.label] * count,
            "record_no": list(numbers),
            "stage": ["normalize"] * count,
            "reason": list(reasons),
            "raw": list(raws),
        }
        table = pa.Table.from_arrays(
            [pa.array(columns[f.name], f.type) for f in REJECT_SCHEMA], schema=REJECT_SCHEMA
        )
        path = Path(self.job.rejects_dir) / (
            f"normalize-{self.piece.index:05d}-{len(self.rejects):03d}.parquet"
        )
        pq.write_table(table, path, compression="zstd")
        self.rejects.append(str(path))
        self.reject_rows = []


def _normalize_piece(job: _Job, piece: _Piece) -> dict[str, Any]:
    """Normalize one piece (runs in a worker process): parts, rejects, and a digest per row.

    Duplicates are not dropped here - a copy may sit in another piece - but every emitted row
    has its ``(platform, mention_id)`` digest, in row order, for the parent to decide.
    """
    normalizer = _Normalizer(
        job.brand, job.question_min_chars, piece.timestamp_format, piece.assume_timezone
    )
    out = _PieceWriter(job, piece)
    with without_cycle_collector():
        if piece.file_format == "jsonl":
            read, reposts = _read_jsonl(piece, normalizer, out)
        elif piece.file_format == "csv":
            read, reposts = _read_csv(piece, normalizer, out)
        else:
            raise ValueError(f"unknown file format {piece.file_format!r}")
        out.flush()
        out.flush_rejects()
    return {
        "index": piece.index,
        "source": piece.source,
        "read": read,
        "rejected": out.rejected,
        "reposts": reposts,
        "parts": out.parts,
        "rejects": out.rejects,
        "digests": (np.concatenate(out.digests) if out.digests else np.zeros(0, dtype=np.uint64)),
    }


def _read_jsonl(piece: _Piece, normalizer: _Normalizer, out: _PieceWriter) -> tuple[int, int]:
    reverse = {column: canonical for canonical, column in piece.mapping}
    decode = _EXPORT_DECODER.decode
    row, reject = normalizer.row, out.reject
    rows, limit, flush = out.rows, out.job.chunk_rows, out.flush
    read = reposts = 0
    number = piece.lines_before
    for line in iter_lines(piece.path, piece.start, piece.end):
        number += 1
        stripped = line.strip()
        if not stripped:
            continue
        read += 1
        values: tuple[Any, ...] | list[Any] | None = None
        if not reverse:
            try:
                record = decode(stripped)
            except (msgspec.MsgspecError, ValueError):
                pass  # not for the fast decoder (not an object, NaN, huge numbers, bad text)
            else:
                values = astuple(record)  # fields in _READ_FIELDS order
        if values is None:  # the standard library decides, and words the reason
            try:
                loaded = json.loads(stripped)
            except json.JSONDecodeError as error:
                reject(number, f"not valid JSON: {error.msg} at column {error.colno}", stripped)
                continue
            if not isinstance(loaded, dict):
                reject(number, "not a JSON object", stripped)
                continue
            loaded = _rename(loaded, reverse)
            values = [loaded.get(key) for key in _READ_FIELDS]
        if values[_REPOST] is not None and _clean(values[_REPOST]):
            reposts += 1
            continue
        try:
            if type(values) is list:  # only the standard library lets "\ud800" escapes through
                _no_lone_surrogates(values)
            rows.append(row(*values[:_REPOST]))
        except RecordError as problem:
            reject(number, str(problem), stripped)
            continue
        if len(rows) >= limit:
            flush()
    return read, reposts


def _no_lone_surrogates(values: list[Any]) -> None:
    """RecordError for a field holding a lone surrogate (JSON ``"\\ud800"``): not storable text."""
    for key, value in zip(_READ_FIELDS, values, strict=True):
        if isinstance(value, str):
            try:
                value.encode()
            except UnicodeEncodeError:
                raise RecordError(f"{key} is not valid Unicode (a lone surrogate)") from None


def _csv_columns(header: list[str], reverse: dict[str, str]) -> list[int | None]:
    """For each of ``_READ_FIELDS``, the column a row's value comes from (None: absent).

    Same outcome as building ``dict(zip(header, row))`` and renaming its keys: a repeated
    column name keeps its last value, and a later key wins a clash after renaming.
    """
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for index, name in enumerate(header):
        first.setdefault(name, index)
        last[name] = index
    chosen: dict[str, int] = {}
    for name in sorted(first, key=first.__getitem__):
        chosen[reverse.get(name, name)] = last[name]
    return [chosen.get(key) for key in _READ_FIELDS]


def _read_csv(piece: _Piece, normalizer: _Normalizer, out: _PieceWriter) -> tuple[int, int]:
    reverse = {column: canonical for canonical, column in piece.mapping}
    row_values, reject = normalizer.row, out.reject
    rows, limit, flush = out.rows, out.job.chunk_rows, out.flush
    read = reposts = 0
    with open(piece.path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            return 0, 0
        except csv.Error as error:
            reject(1, f"unreadable CSV header: {error}", "")
            return 1, 0
        columns = _csv_columns(header, reverse)
        width = len(header)
        number = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                number += 1
                read += 1
                reject(number, f"unreadable CSV row: {error}", "")
                continue
            number += 1
            if not row or all(not cell.strip() for cell in row):
                continue
            read += 1
            if len(row) != width:
                reason = f"CSV row has {len(row)} fields, the header has {width}"
                reject(number, reason, _csv_line(row))
                continue
            values = [(row[i] or None) if i is not None else None for i in columns]
            if values[_REPOST] is not None and _clean(values[_REPOST]):
                reposts += 1
                continue
            try:
                rows.append(row_values(*values[:_REPOST]))
            except RecordError as problem:
                reject(number, str(problem), _csv_line(row))
                continue
            if len(rows) >= limit:
                flush()
    return read, reposts


def drop_path(part: str | Path) -> Path:
    """Where the row numbers a normalized part's readers must skip (later copies) are kept."""
    return Path(part).with_suffix(".drop.npy")


def read_normalized(part: str | Path, columns: list[str] | None = None) -> pa.Table:
    """A normalized part as the day's mentions: without the later copies of a duplicate.

    Normalize writes parts in parallel, before it knows which copy of a duplicate comes first;
    it then records the rows to skip beside the part instead of writing the part again.
    """
    table = read_part(part, columns)
    drops = drop_path(part)
    if drops.exists():
        keep = np.ones(table.num_rows, dtype=bool)
        keep[np.load(drops)] = False
        table = table.filter(pa.array(keep))
    return table


def first_copies(digests: list[np.ndarray], bucket_rows: int = 1 << 20) -> list[np.ndarray]:
    """For each array of key digests (in reading order), a mask of the first copies of each key.

    The first occurrence over the concatenation of ``digests`` wins. Keys are split by their top
    bits into buckets of about ``bucket_rows`` so the sort's memory stays bounded whatever the
    size of the day (the digests themselves take 8 bytes a row).
    """
    total = sum(len(d) for d in digests)
    keep = [np.zeros(len(d), dtype=bool) for d in digests]
    if not total:
        return keep
    bits = max(0, math.ceil(math.log2(max(1, total / bucket_rows))))
    offsets = np.cumsum([0] + [len(d) for d in digests])
    for bucket in range(1 << bits):
        keys, positions = [], []
        for number, array in enumerate(digests):
            if bits:
                where = np.flatnonzero((array >> np.uint64(64 - bits)) == bucket)
                keys.append(array[where])
                positions.append(where + offsets[number])
            else:
                keys.append(array)
                positions.append(np.arange(offsets[number], offsets[number + 1]))
        merged = np.concatenate(keys)
        where_all = np.concatenate(positions)
        del keys, positions
        # return_index gives the first position of each distinct key (a stable sort).
        _, first = np.unique(merged, return_index=True)
        winners = where_all[first]
        del merged, where_all, first
        piece_of = np.searchsorted(offsets, winners, side="right") - 1
        for piece in np.unique(piece_of):  # numpy integers: not ``number`` (an int, compiled)
            keep[piece][winners[piece_of == piece] - offsets[piece]] = True
    return keep


def _plan(
    extracts: list[ExtractResult], order: dict[str, int], piece_bytes: int | None, chunk_rows: int
) -> list[_Piece]:
    """The day's pieces in reading order: sources in configuration order, their files in the
    order landed (sorted), JSONL files cut into line-aligned ranges of about one part each."""
    pieces: list[_Piece] = []
    for extract in sorted(extracts, key=lambda e: order.get(e.source, len(order))):
        common: dict[str, Any] = {
            "source": extract.source,
            "mapping": tuple(extract.mapping.items()),
            "timestamp_format": extract.timestamp_format,
            "assume_timezone": extract.assume_timezone,
        }
        for landed in extract.files:
            common["label"] = display_path(landed.path)
            if landed.format == "jsonl":
                size = piece_bytes or _bytes_for_rows(landed.path, chunk_rows)
                for start, end, before in split_lines(landed.path, size):
                    pieces.append(
                        _Piece(
                            len(pieces),
                            path=landed.path,
                            file_format="jsonl",
                            start=start,
                            end=end,
                            lines_before=before,
                            **common,
                        )
                    )
            else:  # CSV fields may hold line breaks: a CSV file is read whole, by one process
                pieces.append(
                    _Piece(len(pieces), path=landed.path, file_format=landed.format, **common)
                )
    return pieces


#: The smallest JSONL piece :func:`_plan` cuts when it sizes pieces by rows.
MIN_PIECE_BYTES = 1 << 20


def _bytes_for_rows(path: str, rows: int) -> int:
    """About ``rows`` lines of the file, in bytes, from the length of its first lines."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 18)
    per_line = len(head) / max(1, line_count(head))
    return max(MIN_PIECE_BYTES, int(rows * per_line * 0.95))


def _most_pieces(landed: list[tuple[str, int]], piece_bytes: int | None) -> int:
    """At most how many pieces :func:`_plan` cuts from the ``landed`` files (format, bytes),
    known before it reads them: one per CSV file, and for a JSONL file one per
    ``piece_bytes`` (or :data:`MIN_PIECE_BYTES`)."""
    step = piece_bytes or MIN_PIECE_BYTES
    return sum(1 + size // step if kind == "jsonl" else 1 for kind, size in landed)


def _piece_cost(piece: _Piece) -> int:
    end = piece.end if piece.end is not None else os.path.getsize(piece.path)
    return end - piece.start


def _warm_up() -> None:
    """Nothing: run once in each new worker, it makes the worker start and import this module
    while the parent still plans the pieces."""


def _run_pieces(
    job: _Job, pieces: list[_Piece], pool: concurrent.futures.Executor | None
) -> list[dict[str, Any]]:
    """Normalize every piece, in ``pool`` if there is one; results in piece order."""
    if pool is None or len(pieces) <= 1:
        return [_normalize_piece(job, piece) for piece in pieces]
    results: dict[int, dict[str, Any]] = {}
    # Largest first, so the last piece to finish is a small one.
    futures = [
        pool.submit(_normalize_piece, job, piece)
        for piece in sorted(pieces, key=_piece_cost, reverse=True)
    ]
    for future in concurrent.futures.as_completed(futures):
        found = future.result()
        results[found["index"]] = found
    return [results[piece.index] for piece in pieces]


def _started_pool(workers: int) -> concurrent.futures.Executor:
    """A spawn pool of ``workers`` processes, each already starting (:func:`_warm_up`).

    Started before the pieces are planned: a spawned worker takes about 0.35 s to start and
    import this module, and planning the 1M benchmark's night takes the parent 0.4-0.7 s
    (reading its JSONL files to count their lines), so the two now overlap instead of
    following each other. A pool spawns one process per task submitted while none is idle.
    """
    pool = spawn_pool(workers)
    for _ in range(workers):
        pool.submit(_warm_up)
    return pool


#: Below this many bytes of landed files, normalize runs in-process: starting worker
#: processes (each imports pyarrow) costs more than it saves.
POOL_MIN_BYTES = 16 << 20


def normalize_day(
    config: Config,
    day: str,
    extracts: list[ExtractResult],
    staging_dir: Path,
    *,
    workers: int | None = None,
    piece_bytes: int | None = None,
) -> NormalizeResult:
    """Normalize every record the sources landed for ``day`` into ``staging_dir``.

    ``staging_dir`` is emptied first, so a rerun starts clean. The landed files are cut into
    pieces (a CSV file, or a line-aligned byte range of a JSONL file) normalized by ``workers``
    processes (default: ``scoring.workers``, 0 = one per core). Which copy of a duplicate wins
    does not depend on that: the first in reading order - sources in the order of the
    configuration, files in sorted order, records in file order.
    """
    from sentiment_monitor.native import load

    compiled = load("normalize")
    if compiled is not None and compiled.__name__ != __name__:  # this module, compiled
        return compiled.normalize_day(  # type: ignore[no-any-return]
            config, day, extracts, staging_dir, workers=workers, piece_bytes=piece_bytes
        )
    normalized_dir, rejects_dir = staging_dir / "normalized", staging_dir / "rejects"
    for folder in (normalized_dir, rejects_dir):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    landed = [(f.format, os.path.getsize(f.path)) for extract in extracts for f in extract.files]
    if workers is None:
        from sentiment_monitor.processes import worker_count

        workers = worker_count(config.scoring.workers)
        if sum(size for _, size in landed) < POOL_MIN_BYTES:
            workers = 1
    # No more workers than pieces (one large CSV file is one piece, normalized in-process).
    workers = min(workers, _most_pieces(landed, piece_bytes))
    # The workers start while the pieces are planned (:func:`_started_pool`).
    pool = _started_pool(workers) if workers > 1 else None
    with pool if pool is not None else contextlib.nullcontext():
        chunk_rows = config.scoring.chunk_rows
        order = {options["name"]: index for index, options in enumerate(config.sources)}
        pieces = _plan(extracts, order, piece_bytes, chunk_rows)
        job = _Job(
            day=day,
            brand=BrandMatcher(config.brand.handles),
            question_min_chars=config.flags.question_min_chars,
            chunk_rows=chunk_rows,
            normalized_dir=str(normalized_dir),
            rejects_dir=str(rejects_dir),
        )
        done = _run_pieces(job, pieces, pool)

    result = NormalizeResult(day=day)
    for extract in sorted(extracts, key=lambda e: order.get(e.source, len(order))):
        result.per_source.setdefault(
            extract.source, {"read": 0, "emitted": 0, "rejected": 0, "duplicates": 0}
        )
    keeps = first_copies([piece["digests"] for piece in done])
    for piece, keep in zip(done, keeps, strict=True):
        counts = result.per_source[piece["source"]]
        kept_rows = int(keep.sum())
        dropped = len(keep) - kept_rows
        counts["read"] += piece["read"]
        counts["emitted"] += kept_rows
        counts["rejected"] += piece["rejected"]
        counts["duplicates"] += piece["reposts"] + dropped
        result.read += piece["read"]
        result.emitted += kept_rows
        result.rejected += piece["rejected"]
        result.duplicates += piece["reposts"] + dropped
        result.reposts += piece["reposts"]
        result.rejects += piece["rejects"]
        offset = 0
        for path, rows in piece["parts"]:
            part_keep = keep[offset : offset + rows]
            offset += rows
            kept = int(part_keep.sum())
            if not kept:
                Path(path).unlink()
                continue
            if kept < rows:
                np.save(drop_path(path), np.flatnonzero(~part_keep).astype(np.int64))
            result.parts.append(path)
            result.part_rows.append(kept)
    for name, counts in result.per_source.items():
        if counts["read"] != counts["emitted"] + counts["rejected"] + counts["duplicates"]:
            raise AssertionError(f"normalize lost records of {name}: {counts}")
    if result.read != result.emitted + result.rejected + result.duplicates:
        raise AssertionError(f"normalize lost records: {result}")
    return result


__all__ = [
    "EXPORT_FIELDS",
    "BrandMatcher",
    "NormalizeResult",
    "RecordError",
    "drop_path",
    "first_copies",
    "html_to_text",
    "iter_lines",
    "normalize_day",
    "parse_timestamp",
    "read_normalized",
    "split_lines",
]
