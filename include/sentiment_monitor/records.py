"""The shape of a mention at each stage: the export record, the normalized row, the scored row.

Everything that moves between steps is described here once, so a source, the normalizer, the
validator and the warehouse agree on names and types without importing each other.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

#: Platforms the product knows. Export records naming any other platform are rejected.
PLATFORMS: tuple[str, ...] = ("mastodon", "bluesky")

#: Keys an export record must carry (JSONL keys or CSV columns), from DESIGN.md.
REQUIRED_EXPORT_FIELDS: tuple[str, ...] = ("platform", "id", "author", "created_at", "text")

#: Optional keys of an export record. ``repost_of_id`` is this project's addition: a record that
#: re-shares another post (a Mastodon boost, a Bluesky repost) names the post it re-shares and is
#: counted as a duplicate, never as a new mention.
OPTIONAL_EXPORT_FIELDS: tuple[str, ...] = (
    "in_reply_to_id",
    "url",
    "author_followers",
    "lang",
    "repost_of_id",
)

EXPORT_FIELDS: tuple[str, ...] = REQUIRED_EXPORT_FIELDS + OPTIONAL_EXPORT_FIELDS

#: Sentiment labels, from VADER's conventional thresholds; ``unscored`` when VADER cannot read it.
LABELS: tuple[str, ...] = ("positive", "neutral", "negative", "unscored")

#: One normalized mention, as staged between normalize and score (Parquet).
NORMALIZED_SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("mention_id", pa.string()),
        ("day", pa.string()),  # UTC day of the run that collected it, YYYY-MM-DD
        ("author", pa.string()),
        ("author_followers", pa.int64()),
        ("created_at", pa.string()),  # UTC, ISO 8601 "YYYY-MM-DDTHH:MM:SS.ffffff+00:00"
        ("text", pa.string()),
        ("lang", pa.string()),
        ("url", pa.string()),
        ("in_reply_to_id", pa.string()),
        ("is_brand", pa.bool_()),
        ("is_question", pa.bool_()),
        ("mentions_brand", pa.bool_()),  # the text names one of the brand's handles
        ("source", pa.string()),
    ]
)

#: Columns the score step adds.
SCORE_FIELDS: list[tuple[str, pa.DataType]] = [
    ("compound", pa.float64()),
    ("pos", pa.float64()),
    ("neu", pa.float64()),
    ("neg", pa.float64()),
    ("label", pa.string()),
    ("score_note", pa.string()),
]

SCORED_SCHEMA = pa.schema(list(NORMALIZED_SCHEMA) + [pa.field(n, t) for n, t in SCORE_FIELDS])

#: Columns of a quarantined record, as staged and as stored in the ``rejects`` table.
REJECT_SCHEMA = pa.schema(
    [
        ("day", pa.string()),
        ("source", pa.string()),
        ("file", pa.string()),
        ("record_no", pa.int64()),  # 1-based line (JSONL) or data row (CSV) in its file
        ("stage", pa.string()),  # normalize | validate
        ("reason", pa.string()),
        ("raw", pa.string()),
    ]
)

MENTION_COLUMNS: list[str] = [f.name for f in SCORED_SCHEMA]
REJECT_COLUMNS: list[str] = [f.name for f in REJECT_SCHEMA]

#: The columns of a staged part with few distinct values: the only ones dictionary-encoded.
STAGED_DICTIONARY_COLUMNS: tuple[str, ...] = (
    "platform",
    "day",
    "lang",
    "source",
    "label",
    "score_note",
)


def read_part(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """One staged Parquet part (``columns`` only, if given) as an Arrow table.

    Read through ``pyarrow.parquet.ParquetFile``, not ``read_table``: the latter goes through
    ``pyarrow.dataset``, whose first use imports it and pandas (0.26 CPU-seconds, 0.7 s on a
    cold start) in a process that otherwise needs neither - the load, before its first COPY, and
    every scoring worker. The table read is the same.
    """
    with pq.ParquetFile(path) as parquet:
        return parquet.read(columns=columns)


def write_staged_part(table: pa.Table, path: str | Path) -> None:
    """Write a part the next steps read (normalize's and score's parts, one to three reads each).

    lz4, which writes and reads in half the CPU of zstd. Dictionaries only for the columns of
    :data:`STAGED_DICTIONARY_COLUMNS`, and no column statistics: by default pyarrow tries a
    dictionary on every column (the texts, ids and URLs overflow it and fall back to plain
    pages) and keeps a minimum and maximum per page and column, which no reader of these parts
    asks for. On the 1M benchmark's parts, three runs each: writing the normalized parts took
    0.64-0.68 CPU-seconds against 0.83-0.91, the scored parts 0.75-0.79 against 0.95-0.99; the
    load's batched reads 0.34 against 0.45-0.50 and 0.41-0.45 against 0.52-0.58; the parts are
    8-13% larger.
    """
    pq.write_table(
        table,
        path,
        compression="lz4",
        use_dictionary=[c for c in STAGED_DICTIONARY_COLUMNS if c in table.column_names],
        write_statistics=False,
    )


def label_for(compound: float | None, positive: float, negative: float) -> str:
    """Label a compound score: ``>= positive`` positive, ``<= negative`` negative, else neutral."""
    if compound is None:
        return "unscored"
    if compound >= positive:
        return "positive"
    if compound <= negative:
        return "negative"
    return "neutral"


def format_timestamp(value: dt.datetime) -> str:
    """The one text form of a UTC timestamp used in staging and in SQLite."""
    value = value.astimezone(dt.UTC)
    if value.year < 1000:  # strftime does not pad the year; keep its exact form there
        return value.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
    # isoformat is done in C and writes the same text, several times faster than strftime.
    return value.isoformat(sep=" ", timespec="microseconds")
