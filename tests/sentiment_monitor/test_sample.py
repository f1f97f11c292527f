"""The sample generator: deterministic, truthful about what it wrote, and the committed sample is
exactly what the committed parameters generate."""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sentiment_monitor import sample
from sentiment_monitor.records import EXPORT_FIELDS, PLATFORMS
from sentiment_monitor.sample import (
    DEFAULT_BRAND,
    SAMPLE_DAYS,
    SAMPLE_DIR,
    SAMPLE_START,
    DayStats,
    generate_day,
    generate_sample,
)

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / SAMPLE_DIR
DAY = dt.date(2026, 11, 3)
TAG = re.compile(r"<[^>]+>")
BLUESKY_ID = re.compile(r"at://did:plc:[a-z2-7]{24}/app\.bsky\.feed\.(post|repost)/[2-7a-z]{13}")


def read_day(day_dir: Path) -> list[tuple[str, Any]]:
    """Every JSONL line and CSV data row of a day folder as ``(file, record)``; a record that
    cannot be read as a mapping of the export fields is the raw line or row."""
    out: list[tuple[str, Any]] = []
    for path in sorted(day_dir.iterdir()):
        if path.suffix == ".jsonl":
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        out.append((path.name, json.loads(line)))
                    except json.JSONDecodeError:
                        out.append((path.name, line))
        elif path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                reader = csv.reader(handle)
                header = next(reader)
                assert header == list(EXPORT_FIELDS)
                for row in reader:
                    if len(row) == len(header):
                        out.append(
                            (path.name, {k: v or None for k, v in zip(header, row, strict=True)})
                        )
                    else:
                        out.append((path.name, row))
    return out


def problem(record: Any) -> str | None:
    """Why ``record`` is not a valid export record, or None."""
    if not isinstance(record, dict):
        return "unreadable"
    for name in ("platform", "id", "author", "created_at", "text"):
        if not record.get(name):
            return f"missing {name}"
    if record["platform"] not in PLATFORMS:
        return "unknown platform"
    try:
        moment = dt.datetime.fromisoformat(record["created_at"])
    except ValueError:
        return "bad created_at"
    if moment.tzinfo is None:
        return "created_at without offset"
    followers = record.get("author_followers")
    if followers is not None and not (isinstance(followers, int) or str(followers).isdigit()):
        return "bad author_followers"
    return None


def canonical(record: dict[str, Any]) -> tuple[str, ...]:
    """A record's content, the same whether it was read from JSONL or CSV."""
    return tuple("" if record.get(k) is None else str(record[k]) for k in EXPORT_FIELDS)


def plain(text: str) -> str:
    return html.unescape(TAG.sub("", text)).strip()


def check_day(day_dir: Path, stats: DayStats) -> dict[str, Any]:
    """Recount a day from its files and compare with its DayStats; return what was seen."""
    rows = read_day(day_dir)
    good = [r for _, r in rows if problem(r) is None]
    assert len(rows) == stats.records_written
    assert len(rows) - len(good) == stats.malformed
    seen: dict[tuple[str, str], tuple[str, ...]] = {}
    duplicates = 0
    for record in good:
        key = (record["platform"], record["id"])
        if key in seen:
            assert seen[key] == canonical(record), f"{key} re-emitted with other content"
            duplicates += 1
        else:
            seen[key] = canonical(record)
    assert duplicates == stats.duplicates
    distinct = {(r["platform"], r["id"]): r for r in good}
    assert len(distinct) == stats.distinct
    start = dt.datetime(stats.day.year, stats.day.month, stats.day.day, tzinfo=dt.UTC)
    for record in distinct.values():
        moment = dt.datetime.fromisoformat(record["created_at"])
        assert start <= moment < start + dt.timedelta(days=1), record["created_at"]
    values = list(distinct.values())
    reposts = [r for r in values if r.get("repost_of_id")]
    assert len(reposts) == stats.reposts

    def is_brand(r: dict[str, Any]) -> bool:
        return r["author"] == DEFAULT_BRAND.handle(r["platform"])

    brand = [r for r in values if is_brand(r) and not r.get("repost_of_id")]
    assert len(brand) == stats.brand_posts
    assert sum(1 for r in brand if r.get("in_reply_to_id")) == stats.brand_replies
    questions = {
        (r["platform"], r["id"])
        for r in values
        if not is_brand(r) and not r.get("repost_of_id") and plain(r["text"]).endswith(("?", "？"))
    }
    assert len(questions) == stats.questions
    answered = {
        (r["platform"], r["in_reply_to_id"])
        for r in brand
        if (r["platform"], r.get("in_reply_to_id")) in questions
    }
    assert len(answered) == stats.questions_answered
    return {"rows": rows, "distinct": distinct}


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_fields_are_the_export_fields() -> None:
    assert sample.FIELDS == EXPORT_FIELDS


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    options = {"malformed": 7, "files": 2, "long_post_chars": 400, "incident": True}
    first = generate_day(DAY, 300, 7, out_dir=tmp_path / "a", **options)
    second = generate_day(DAY, 300, 7, out_dir=tmp_path / "b", **options)
    other = generate_day(DAY, 300, 8, out_dir=tmp_path / "c", **options)
    assert first == second
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")
    assert files_of(tmp_path / "a") != files_of(tmp_path / "c")
    assert other.distinct == 300


def test_counts_times_and_ids_match_the_stats(tmp_path: Path) -> None:
    stats = generate_day(
        DAY, 600, 3, out_dir=tmp_path, malformed=9, files=2, long_post_chars=1_000, incident=True
    )
    assert stats.files == ("export-01.jsonl", "export-01.csv", "export-02.jsonl", "export-02.csv")
    assert stats.records_written == stats.distinct + stats.duplicates + stats.malformed
    assert stats.malformed == 9 and stats.distinct == 600 and stats.duplicates > 0
    seen = check_day(tmp_path / DAY.isoformat(), stats)
    for (platform, post_id), record in seen["distinct"].items():
        if platform == "mastodon":
            assert post_id.isdigit() and len(post_id) == 18
        else:
            assert BLUESKY_ID.fullmatch(post_id), post_id
        assert record["text"].startswith("<p>") == (platform == "mastodon")
    longest = max(len(r["text"]) for r in seen["distinct"].values())
    assert longest == 1_000


def test_every_malformed_kind_is_written(tmp_path: Path) -> None:
    stats = generate_day(DAY, 50, 1, out_dir=tmp_path, malformed=len(sample.MALFORMED_KINDS))
    rows = read_day(tmp_path / DAY.isoformat())
    bad = [(name, r) for name, r in rows if problem(r) is not None]
    assert len(bad) == stats.malformed == 7
    reasons = Counter(problem(r) for _, r in bad)
    assert reasons == {
        "unreadable": 2,  # a cut-off JSON line and a CSV row with too few columns
        "missing text": 2,  # a record without text and one with text ""
        "bad created_at": 1,
        "unknown platform": 1,
        "bad author_followers": 1,
    }
    assert any(isinstance(r, str) and name.endswith(".jsonl") for name, r in bad)
    assert any(isinstance(r, list) and len(r) < len(EXPORT_FIELDS) for _, r in bad)
    assert any(isinstance(r, dict) and r.get("created_at") == "yesterday" for _, r in bad)
    assert any(isinstance(r, dict) and r.get("platform") == "myspace" for _, r in bad)
    assert any(isinstance(r, dict) and r.get("author_followers") == "lots" for _, r in bad)


def test_only_own_files_are_replaced(tmp_path: Path) -> None:
    day_dir = tmp_path / DAY.isoformat()
    generate_day(DAY, 20, 1, out_dir=tmp_path, files=3)
    (day_dir / "other-tool.jsonl").write_text("{}\n")
    generate_day(DAY, 20, 1, out_dir=tmp_path, files=1, formats=("jsonl",))
    assert sorted(p.name for p in day_dir.iterdir()) == ["export-01.jsonl", "other-tool.jsonl"]


def test_brand_from_configuration_handles() -> None:
    brand = sample.BrandSpec.from_handles(
        "Example", {"mastodon": "@example@fosstodon.org", "bluesky": "example.com"}
    )
    assert (brand.name, brand.mastodon, brand.instance) == ("Example", "example", "fosstodon.org")
    assert brand.handle("bluesky") == "example.com"


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="formats"):
        generate_day(DAY, 10, 1, out_dir=tmp_path, formats=("xml",))
    with pytest.raises(ValueError, match="files"):
        generate_day(DAY, 10, 1, out_dir=tmp_path, files=0)


def test_bench_mode_writes_exactly_n_mentions_per_day(tmp_path: Path, capsys: Any) -> None:
    argv = ["--out", str(tmp_path), "--mentions", "500", "--days", "2", "--files", "2"]
    assert sample.main([*argv, "--start", "2026-12-30", "--malformed", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    days = [json.loads(line) for line in lines[:-1]]
    assert [d["day"] for d in days] == ["2026-12-30", "2026-12-31"]
    assert all(d["distinct"] == 500 and d["malformed"] == 0 for d in days)
    assert json.loads(lines[-1])["total"]["distinct"] == 1_000
    assert len(list(tmp_path.glob("*/export-0[12].*"))) == 8


def test_committed_sample_is_what_the_committed_parameters_generate(tmp_path: Path) -> None:
    generate_sample(tmp_path)
    fresh, committed = files_of(tmp_path), files_of(COMMITTED)
    assert sorted(committed) == sorted(fresh)
    for name in fresh:
        assert committed[name] == fresh[name], f"{name} differs: run scripts/generate_sample.py"


def test_committed_sample_has_what_the_demo_needs(tmp_path: Path) -> None:
    stats = generate_sample(tmp_path)  # the truth about the committed files (checked above)
    assert len(stats) == SAMPLE_DAYS
    everything: list[dict[str, Any]] = []
    ids: dict[tuple[str, str], tuple[str, ...]] = {}
    for day in stats:
        assert day.day.isoformat() in {p.name for p in COMMITTED.iterdir()}
        assert day.malformed >= 2 and day.duplicates >= 1 and day.reposts >= 1
        assert 0 < day.questions_answered < day.questions
        seen = check_day(COMMITTED / day.day.isoformat(), day)
        assert {platform for platform, _ in seen["distinct"]} == set(PLATFORMS)
        for key, record in seen["distinct"].items():
            assert ids.setdefault(key, canonical(record)) == canonical(record), key
        everything += seen["distinct"].values()
    assert sum(s.records_written for s in stats) >= 2_000
    assert stats[0].day == SAMPLE_START
    langs = Counter(r.get("lang") for r in everything)
    assert {"de", "fr", "es", "ja", "en", None} <= set(langs)
    assert langs["en"] + langs[None] > 0.8 * len(everything)
    followers = sorted(int(r["author_followers"]) for r in everything if r.get("author_followers"))
    assert followers[len(followers) // 2] < 500 and followers[-1] > 50_000
    offsets = Counter(r["created_at"][19:].lstrip(".0123456789") for r in everything)
    assert offsets["+00:00"] > 0 and offsets["Z"] > 0 and len(offsets) > 4
    mastodon = " ".join(r["text"] for r in everything if r["platform"] == "mastodon")
    assert all(entity in mastodon for entity in ("&amp;", "&quot;", "&#39;", 'class="h-card"'))
    # Threads: replies to replies exist, and some reach depth 3 or more.
    parent = {r["id"]: r.get("in_reply_to_id") for r in everything}

    def depth(post_id: str) -> int:
        up = parent.get(post_id)
        return 0 if up is None or up not in parent else 1 + depth(up)

    assert max(depth(i) for i in parent) >= 3
    # Regulars: the same people complain about the same order on several days.
    order_days: dict[tuple[str, str], set[str]] = {}
    for r in everything:
        for order in re.findall(r"#LC-\d+", r["text"], flags=re.IGNORECASE):
            order_days.setdefault((r["author"], order), set()).add(r["created_at"][:10])
    assert max(len(days) for days in order_days.values()) >= 3
    assert sample.SAMPLE_LONG_POST is not None
    assert max(len(r["text"]) for r in everything) == sample.SAMPLE_LONG_POST[1]
