"""Normalize: text, timestamps, dedupe, reposts, brand marks, mapping, and no record lost."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sentiment_monitor.config import parse_config
from sentiment_monitor.normalize import (
    BrandMatcher,
    RecordError,
    html_to_text,
    normalize_day,
    parse_timestamp,
    read_normalized,
)
from sentiment_monitor.sources import build_source


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
