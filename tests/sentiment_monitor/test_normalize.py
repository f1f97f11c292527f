"""Normalize: text, timestamps, dedupe, reposts, brand marks, mapping, and no record lost."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment_monitor.config import parse_config
from sentiment_monitor.normalize import (
    BrandMatcher,
    RecordError,
    _started_pool,
    first_copies,
    html_to_text,
    iter_lines,
    line_count,
    normalize_day,
    parse_timestamp,
    read_normalized,
    split_lines,
)
from sentiment_monitor.records import NORMALIZED_SCHEMA, write_staged_part
from sentiment_monitor.sources import build_source
from tests.sentiment_monitor.fresh import assert_runs_fresh
from tests.sentiment_monitor.staged import staged_layout


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (
            '<p>Hi <span class="h-card"><a href="https://x/@lumencoffee" class="u-url mention">'
            "@<span>lumencoffee</span></a></span> love it &amp; more</p>",
            "Hi @lumencoffee love it & more",
        ),
        ("<p>one</p><p>two<br>three</p>", "one\ntwo\nthree"),
        ("I <3 this &quot;roast&quot; &#39;so much&#39;", "I <3 this \"roast\" 'so much'"),
        ("a < b and c > d", "a < b and c > d"),
        ("nul\x00byte   spaced", "nulbyte spaced"),
        ("  \n ", ""),
    ],
)
def test_html_to_text(raw: str, text: str) -> None:
    assert html_to_text(raw) == text


def test_timestamps_become_utc() -> None:
    assert parse_timestamp("2026-11-01T10:30:00+02:00") == dt.datetime(
        2026, 11, 1, 8, 30, tzinfo=dt.UTC
    )
    assert parse_timestamp("2026-11-01T00:09:28.495Z").tzinfo == dt.UTC
    with pytest.raises(RecordError, match="no UTC offset"):
        parse_timestamp("2026-11-01T10:00:00")
    assert parse_timestamp("2026-11-01T10:00:00", assume_timezone="Europe/Berlin").hour == 9
    assert parse_timestamp("01/11/2026 10:00", "%d/%m/%Y %H:%M", "UTC").day == 1
    for bad in ("yesterday", "", None, 12345, "2026-11-01T25:00:00Z"):
        with pytest.raises(RecordError):
            parse_timestamp(bad)


def test_brand_matching() -> None:
    brand = BrandMatcher({"mastodon": "lumencoffee", "bluesky": "lumencoffee.bsky.social"})
    assert brand.is_brand("mastodon", "lumencoffee")
    assert brand.is_brand("mastodon", "lumencoffee@mastodon.social")
    assert not brand.is_brand("mastodon", "notlumencoffee")
    assert not brand.is_brand("bluesky", "lumencoffee")
    assert brand.mentions_brand("mastodon", "hey @LumenCoffee!")
    assert not brand.mentions_brand("mastodon", "hey @lumencoffeefan")
    assert brand.mentions_brand("bluesky", "@lumencoffee.bsky.social why?")


def run(config, day: str, tmp_path: Path):
    source = build_source(config.sources[0], config.brand, tmp_path / "landing")
    return normalize_day(config, day, [source.extract(dt.date.fromisoformat(day))], tmp_path / "st")


def test_fixture_day_accounts_for_every_record(config, tmp_path: Path) -> None:
    result = run(config, "2026-11-01", tmp_path)
    assert (result.read, result.emitted, result.rejected, result.duplicates) == (19, 11, 6, 2)
    assert result.reposts == 1
    listed = [r for p in result.parts for r in read_normalized(p).to_pylist()]
    rows = {r["mention_id"]: r for r in listed}
    assert len(rows) == len(listed) == sum(result.part_rows) == 11
    # The first copy of a duplicated id wins; HTML became text; times are UTC.
    assert rows["1002"]["text"].startswith(
        "Best espresso I have had all year, thank you @lumencoffee!"
    )
    assert "&amp;" not in rows["1002"]["text"] and "& amazing" in rows["1002"]["text"]
    assert rows["1004"]["created_at"] == "2026-11-01 08:30:00.000000+00:00"
    assert rows["1001"]["is_brand"] and not rows["1002"]["is_brand"]
    assert rows["1004"]["is_question"] and rows["1004"]["mentions_brand"]
    assert rows["1007"]["lang"] == "de"
    assert rows["1002"]["author"] == "alice@social.example"
    rejects = [r for p in result.rejects for r in pq.read_table(p).to_pylist()]
    reasons = sorted(r["reason"] for r in rejects)
    assert len(reasons) == 6
    assert any("author_followers is not a whole number: 'lots'" in r for r in reasons)
    assert any("CSV row has 5 fields, the header has 9" in r for r in reasons)
    assert any(r == "text is empty" for r in reasons)
    assert all(r["raw"] for r in rejects if "CSV row" not in r["reason"]) and all(
        r["record_no"] >= 1 for r in rejects
    )


def test_rerun_starts_clean(config, tmp_path: Path) -> None:
    first = run(config, "2026-11-01", tmp_path)
    second = run(config, "2026-11-01", tmp_path)
    assert first.parts == second.parts and first.to_dict() == second.to_dict()


def test_a_missing_day_is_an_empty_day(config, tmp_path: Path) -> None:
    result = run(config, "2026-10-01", tmp_path)
    assert (result.read, result.parts, result.rejects) == (0, [], [])


def test_vendor_csv_through_a_mapping(tmp_path: Path) -> None:
    """Another tool's export (other column names, day-first dates, a BOM) loads unedited."""
    day = tmp_path / "vendor" / "2026-11-01"
    day.mkdir(parents=True)
    (day / "export.csv").write_bytes(
        "\ufeffNetwork,Post ID,Handle,Posted,Message,Parent,Link,Reach,Language\r\n"
        "mastodon,77,zoe,01/11/2026 09:15,Love the new roast!,,https://x/77,1200,en\r\n"
        "bluesky,at://z/app.bsky.feed.post/1,yan.bsky.social,01/11/2026 23:59,"
        '"So slow, again?",,,,\r\n'
        "mastodon,78,zed,not a date,hm,,,,\r\n".encode()
    )
    config = parse_config(
        {
            "brand": {"name": "X", "handles": {"mastodon": "brand"}},
            "sources": [
                {
                    "type": "file",
                    "name": "vendor",
                    "path": str(tmp_path / "vendor"),
                    "timestamp_format": "%d/%m/%Y %H:%M",
                    "assume_timezone": "UTC",
                    "mapping": {
                        "platform": "Network",
                        "id": "Post ID",
                        "author": "Handle",
                        "created_at": "Posted",
                        "text": "Message",
                        "in_reply_to_id": "Parent",
                        "url": "Link",
                        "author_followers": "Reach",
                        "lang": "Language",
                    },
                }
            ],
        }
    )
    result = run(config, "2026-11-01", tmp_path)
    assert (result.read, result.emitted, result.rejected) == (3, 2, 1)
    rows = [r for p in result.parts for r in read_normalized(p).to_pylist()]
    assert rows[0]["author_followers"] == 1200 and rows[0]["created_at"].startswith(
        "2026-11-01 09:15"
    )
    assert rows[1]["text"] == "So slow, again?" and rows[1]["is_question"]


def test_landed_jsonl_from_an_api_source_reads_the_same(tmp_path: Path, config) -> None:
    from sentiment_monitor.sources.base import ExtractResult, LandedFile

    path = tmp_path / "records.jsonl"
    record = {
        "platform": "bluesky",
        "id": "at://a/app.bsky.feed.post/1",
        "author": "a.bsky.social",
        "created_at": "2026-11-01T01:00:00Z",
        "text": "hello",
        "in_reply_to_id": None,
    }
    path.write_text(json.dumps(record) + "\n")
    extract = ExtractResult("bluesky", "2026-11-01", [LandedFile(str(path), "jsonl")])
    result = normalize_day(config, "2026-11-01", [extract], tmp_path / "st")
    assert result.emitted == 1


# --- Parallel normalize: byte ranges, pieces across processes, the first copy winning ---------

_NASTY = [
    b"",
    b"one line without newline",
    b"\xef\xbb\xbfa\nb\n",  # byte order mark
    b"\xef\xbb\xbf",
    b"a\r\nb\r\n\r\nc",  # CRLF, a blank line, no newline at the end
    b"a\rb\r\nc\r",  # lone CRs end lines too (universal newlines), one at the very end
    b"\n\n\nx\n",
    "caf\u00e9 \u2603\n\U0001f600 ok\n\u00e9".encode(),  # multi-byte characters
    b"bad \xff\xfe bytes\ncut \xe2\x82\nend",  # undecodable bytes are replaced
    b"x" * 50 + b"\n" + b"y" * 3 + b"\r\n" + b"z\r\r\n",
]


def _reference_lines(path: Path) -> list[tuple[int, str]]:
    """How a text file opened with newline="" numbers and splits its lines."""
    out = []
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            for end in ("\r\n", "\n", "\r"):
                if line.endswith(end):
                    line = line[: -len(end)]
                    break
            out.append((number, line))
    return out


@pytest.mark.parametrize("data", _NASTY, ids=range(len(_NASTY)))
def test_byte_ranges_never_lose_or_double_a_line(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    expected = _reference_lines(path)
    for piece_bytes in range(1, len(data) + 2):
        for block in (1, 2, 3, 5, 1 << 16):
            got = []
            ranges = split_lines(path, piece_bytes)
            assert [r[0] for r in ranges[1:]] == [r[1] for r in ranges[:-1]]  # contiguous
            for start, end, before in ranges:
                if start:
                    assert data[start - 1 : start] == b"\n"
                lines = list(iter_lines(path, start, end, block=block))
                got += [(before + i, line) for i, line in enumerate(lines, start=1)]
            assert got == expected, (piece_bytes, block)


@pytest.mark.parametrize("data", _NASTY, ids=range(len(_NASTY)))
def test_line_count_counts_every_kind_of_line_break(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    text = data.decode("utf-8-sig", errors="replace")
    unterminated = 1 if text and not text.endswith(("\n", "\r")) else 0
    assert line_count(data) == len(_reference_lines(path)) - unterminated


def test_the_pool_starts_its_workers_before_any_piece_is_planned() -> None:
    def workers() -> set[int | None]:
        return {child.pid for child in multiprocessing.active_children()}

    before = workers()
    with _started_pool(2) as pool:
        started = workers() - before
        assert len(started) == 2  # spawned by the call itself, not at the first piece
        assert pool.submit(line_count, b"a\nb\n").result() == 2


def test_staged_parts_are_read_without_importing_pandas(tmp_path: Path) -> None:
    """In a fresh interpreter, as a scoring worker or the load starts: reading a part's rows
    and counting its platforms imports neither pandas nor ``pyarrow.dataset``."""
    part = tmp_path / "part-00000-000.parquet"
    rows = [{"platform": p, "mention_id": str(i), "text": "t"} for i, p in enumerate("mmb")]
    write_staged_part(pa.Table.from_pylist(rows, schema=NORMALIZED_SCHEMA), part)
    script = f"""
import sys
from sentiment_monitor.normalize import read_normalized
from sentiment_monitor.warehouse import night_platforms
part = {str(part)!r}
assert read_normalized(part, ["mention_id"]).column("mention_id").to_pylist() == ["0", "1", "2"]
assert night_platforms([part]) == {{"m": 2, "b": 1}}
loaded = [m for m in ("pandas", "pyarrow.dataset") if m in sys.modules]
assert not loaded, loaded
print("ok")
"""
    assert_runs_fresh(script)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())


def _record(mention_id: str, text: str, **extra: object) -> str:
    record = {
        "platform": "mastodon",
        "id": mention_id,
        "author": "someone",
        "created_at": "2026-11-01T10:00:00+01:00",
        "text": text,
        **extra,
    }
    return json.dumps(record)


@pytest.fixture
def two_sources(tmp_path: Path):
    """Two file sources (``second`` is listed first), duplicates everywhere, bad records."""
    day = "2026-11-01"
    first, second = tmp_path / "first" / day, tmp_path / "second" / day
    lines = [_record(f"a{i}", f"first source, file a, record {i}") for i in range(40)]
    lines[5] = "not json at all"
    lines[9] = _record("a3", "a later copy in the same file")
    lines[30] = _record("a7", "a copy in another byte range")
    lines[31] = _record("x1", "reposted", repost_of_id="a1")
    lines[33] = '{"platform": "mastodon", "id": "a33"}'  # missing fields
    _write(first / "a.jsonl", "\ufeff" + "\r\n".join(lines) + "\r\n\r\n")
    _write(
        first / "b.jsonl",
        "\n".join(
            [
                _record("a2", "copy in a later file of the same source"),
                _record("b1", "file b only"),
                _record("s1", "the second source has this one first"),
            ]
        ),
    )
    _write(
        second / "c.csv",
        "platform,id,author,created_at,text\n"
        'mastodon,s1,other,2026-11-01T09:00:00Z,"winner, from the source listed first"\n'
        'mastodon,s2,other,2026-11-01T09:00:00Z,"a post\nover two lines"\n'
        "mastodon,s3,other,not a time,bad timestamp\n"
        "mastodon,a4,other,2026-11-01T09:00:00Z,the second source is read first\n",
    )
    config = parse_config(
        {
            "brand": {"name": "X", "handles": {"mastodon": "brand"}},
            "sources": [
                {"type": "file", "name": "second", "path": str(tmp_path / "second")},
                {"type": "file", "name": "first", "path": str(tmp_path / "first")},
            ],
            "scoring": {"chunk_rows": 3},
        }
    )
    extracts = [
        build_source(options, config.brand, tmp_path / "landing").extract(
            dt.date.fromisoformat(day)
        )
        for options in reversed(config.sources)  # handed over in any order
    ]
    return config, day, extracts


def _outcome(result) -> tuple:
    rows = [r for p in result.parts for r in read_normalized(p).to_pylist()]
    rejects = sorted(
        (r["file"].rsplit("/", 1)[-1], r["record_no"], r["reason"], r["raw"])
        for p in result.rejects
        for r in pq.read_table(p).to_pylist()
    )
    counts = (result.read, result.emitted, result.rejected, result.duplicates, result.reposts)
    return rows, rejects, counts, result.per_source


@pytest.mark.parametrize("workers", [1, 2])
def test_pieces_and_processes_keep_the_first_copy_and_every_count(
    two_sources, tmp_path: Path, workers: int
) -> None:
    config, day, extracts = two_sources
    whole = normalize_day(config, day, extracts, tmp_path / "whole", workers=1, piece_bytes=1 << 30)
    split = normalize_day(
        config, day, extracts, tmp_path / "split", workers=workers, piece_bytes=200
    )
    assert len(split.parts) > len(whole.parts)  # the JSONL file was really cut
    assert _outcome(split) == _outcome(whole)
    rows, rejects, counts, per_source = _outcome(split)
    texts = {r["mention_id"]: r["text"] for r in rows}
    assert len(texts) == len(rows)
    assert texts["s1"] == "winner, from the source listed first"
    assert texts["a4"] == "the second source is read first"
    assert texts["a3"] == "first source, file a, record 3"
    assert texts["a7"] == "first source, file a, record 7"
    assert texts["a2"] == "first source, file a, record 2"
    assert texts["s2"] == "a post\nover two lines"
    assert [(f, n) for f, n, _, _ in rejects] == [("a.jsonl", 6), ("a.jsonl", 34), ("c.csv", 3)]
    assert rejects[0][3] == "not json at all"
    # 47 records read (40 + 3 + 4) = 38 emitted + 3 rejected + 6 duplicates: the later copies of
    # a3, a7, a2, s1 and a4, and the repost.
    read, emitted, rejected, duplicates, reposts = counts
    assert read == emitted + rejected + duplicates and reposts == 1
    assert (read, emitted, rejected, duplicates) == (47, 38, 3, 6)
    for name, source in per_source.items():
        assert source["read"] == source["emitted"] + source["rejected"] + source["duplicates"], name
    assert per_source["second"] == {"read": 4, "emitted": 3, "rejected": 1, "duplicates": 0}


def test_first_copies_in_buckets_equal_a_plain_scan() -> None:
    rng = np.random.default_rng(7)
    pool = rng.integers(0, 2**64, size=300, dtype=np.uint64)
    arrays = [rng.choice(pool, size=n) for n in (0, 50, 400, 1, 120)]
    seen: set[int] = set()
    expected = []
    for array in arrays:
        mask = []
        for value in array.tolist():
            mask.append(value not in seen)
            seen.add(value)
        expected.append(mask)
    for bucket_rows in (1, 16, 1 << 30):
        got = first_copies(arrays, bucket_rows=bucket_rows)
        assert [m.tolist() for m in got] == expected


def test_the_timestamp_shortcut_agrees_with_the_full_parse() -> None:
    from sentiment_monitor.normalize import _Normalizer
    from sentiment_monitor.records import format_timestamp

    fast = _Normalizer(BrandMatcher({"mastodon": "x"}), 8)

    def outcome(parse, value):
        try:
            return parse(value)
        except RecordError:
            return "rejected"

    for date in (
        "2026-11-01",
        "2024-02-29",
        "2026-02-29",
        "0001-01-01",
        "9999-12-31",
        "0999-06-01",
    ):
        for time in ("00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:30:60", "07:05:09"):
            for fraction in ("", ".5", ".123", ".123456", ".1234567", "."):
                for offset in ("Z", "+00:00", "-00:00", "+01:00", "-05:30", "+05:45", "+24:00"):
                    value = f"{date}T{time}{fraction}{offset}"
                    full = outcome(lambda v: format_timestamp(parse_timestamp(v)), value)
                    assert outcome(fast.timestamp, value) == full, value


def _html_to_text_before(text: str) -> str:
    """html_to_text as it was before its shortcuts (the reference for the test below)."""
    import html
    import re

    if re.search(
        r"</?(?:p|br|span|a|div|b|i|em|strong|ul|ol|li|blockquote|code|pre)\b", text, re.I
    ):
        text = re.sub(r"<br\s*/?>|</p>\s*<p[^>]*>|</(?:div|li|blockquote)>", "\n", text, flags=re.I)
        text = re.sub(r"<[^>]*>", "", text)
    text = html.unescape(text).replace("\x00", "")
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def test_html_to_text_shortcuts_change_nothing() -> None:
    import random

    pieces = [
        "a", "B", " ", "  ", "\t", "\r", "\n", "\x0b", "\x0c", "\x00", "\xa0", "\u2028", "<",
        ">", "&", "&amp;", "&#10;", "&lt;p&gt;", "<p>", "</p>", "<br/>", "<BR >", "<span x=1>",
        "</div>", "<3", "?", "@brand", "é", "😀",
    ]  # fmt: skip
    rng = random.Random(5)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert html_to_text(text) == _html_to_text_before(text), repr(text)


def test_a_lone_surrogate_escape_is_a_reject_not_a_crash(tmp_path: Path, config) -> None:
    from sentiment_monitor.sources.base import ExtractResult, LandedFile

    path = tmp_path / "records.jsonl"
    good = _record("ok", "fine")
    bad = _record("bad", "broken \\ud83d half an emoji").replace("\\\\ud83d", "\\ud83d")
    path.write_text(bad + "\n" + good + "\n")
    assert "\\ud83d" in path.read_text()
    extract = ExtractResult("bluesky", "2026-11-01", [LandedFile(str(path), "jsonl")])
    result = normalize_day(config, "2026-11-01", [extract], tmp_path / "st")
    assert (result.read, result.emitted, result.rejected) == (2, 1, 1)
    (reject,) = pq.read_table(result.rejects[0]).to_pylist()
    assert reject["record_no"] == 1 and "text is not valid Unicode" in reject["reason"]


def test_parts_are_staged_with_dictionaries_for_few_values_and_no_statistics(
    config, tmp_path: Path
) -> None:
    result = run(config, "2026-11-01", tmp_path)
    assert result.parts
    for part in result.parts:
        dictionary, statistics = staged_layout(part)
        assert dictionary == {"platform", "day", "lang", "source"}
        assert statistics == set()
