"""The load split into platform shares written side by side: the same warehouse as one
connection, all or nothing, and the platforms a night no longer has still replaced."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from sentiment_monitor import warehouse
from sentiment_monitor.records import SCORED_SCHEMA
from sentiment_monitor.warehouse import (
    PartsReaderStopped,
    Share,
    SharedParts,
    load_day,
    make_engine,
    snapshot,
    split_shares,
)
from tests.conftest import fresh_database


def test_platforms_are_dealt_largest_first_to_the_lightest_share() -> None:
    counts = {"bluesky": 60, "mastodon": 40, "forum": 30}
    assert split_shares(counts, 2) == [
        Share(("bluesky",), ("forum", "mastodon"), owns_listed=False),
        Share(("forum", "mastodon"), ("bluesky",), owns_listed=True),
    ]
    assert len(split_shares(counts, 4)) == 3  # never more shares than platforms
    assert split_shares(counts, 1) == [Share(None)]
    assert split_shares({"mastodon": 5}, 4) == [Share(None)]
    assert split_shares({}, 2) == [Share(None)]
    # The first share owns every platform the others do not list (those the night lacks).
    first, second = split_shares(counts, 2)
    assert first.condition("m.platform") == (
        " AND m.platform NOT IN :share_platforms",
        {"share_platforms": ("forum", "mastodon")},
    )
    assert second.condition("m.platform") == (
        " AND m.platform IN :share_platforms",
        {"share_platforms": ("forum", "mastodon")},
    )
    assert Share(None).condition("m.platform") == ("", {})


def _row(platform: str, mention_id: str, author: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {field.name: None for field in SCORED_SCHEMA}
    row.update(
        platform=platform,
        mention_id=mention_id,
        author=author,
        created_at="2026-11-01T12:00:00.000000+00:00",
        text=f"post {mention_id}",
        is_brand=author == "brand",
        is_question=False,
        mentions_brand=True,
        source="exports",
        compound=0.5,
        pos=0.4,
        neu=0.6,
        neg=0.0,
        label="positive",
    )
    row.update(values)
    return row


def _night(folder: Path, day: str, rows: list[dict[str, Any]]) -> list[str]:
    """The night's scored rows as two Parquet parts (platforms mixed in both)."""
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        row["day"] = day
    parts = []
    for index, half in enumerate((rows[::2], rows[1::2])):
        path = folder / f"part-{index}.parquet"
        pq.write_table(pa.Table.from_pylist(half, schema=SCORED_SCHEMA), path)
        parts.append(str(path))
    return parts


def _load(url: str, day: str, parts: list[str], rows: int, connections: int) -> dict[str, Any]:
    return load_day(
        make_engine(url),
        day,
        parts,
        [],
        records_read=rows,
        duplicates=0,
        reposts=0,
        validation={},
        per_source={},
        connections=connections,
    ).to_dict()


def _nights(tmp_path: Path) -> list[tuple[str, list[str], int]]:
    nights = {
        # A later day first: the backfill of the day before then takes m1 over.
        "a": (
            "2026-11-02",
            [
                _row("mastodon", "m1", "ann"),
                _row("mastodon", "m2", "bob", in_reply_to_id="m1"),
                _row("mastodon", "m3", "brand", in_reply_to_id="m2"),
                _row("mastodon", "m4", "ann", author_followers=10),
                _row("bluesky", "b1", "cy"),
                _row("bluesky", "b2", "brand", in_reply_to_id="b1"),
                _row("forum", "f1", "dee"),
                _row("forum", "f2", "dee", in_reply_to_id="f1"),
            ],
        ),
        "b": (
            "2026-11-01",
            [
                _row("mastodon", "m0", "ann", author_followers=7),
                _row("mastodon", "m1", "ann"),
                _row("bluesky", "b0", "cy"),
                _row("forum", "f0", "eve"),
            ],
        ),
        # The later day again, corrected: forum is gone from it, and so is b1.
        "c": (
            "2026-11-02",
            [
                _row("mastodon", "m2", "bob", in_reply_to_id="m1", text="edited"),
                _row("mastodon", "m3", "brand", in_reply_to_id="m2"),
                _row("mastodon", "m4", "ann", author_followers=12),
                _row("mastodon", "m5", "bob", in_reply_to_id="m3"),
                _row("bluesky", "b2", "brand", in_reply_to_id="b1"),
                _row("bluesky", "b3", "cy", in_reply_to_id="b2"),
            ],
        ),
    }
    made = []
    for name in ("a", "b", "c", "c"):
        day, rows = nights[name]
        made.append((day, _night(tmp_path / name, day, [dict(r) for r in rows]), len(rows)))
    return made


@pytest.fixture
def second_pg(pg_url: str) -> Iterator[str]:
    with fresh_database(pg_url) as url:
        yield url


def test_shares_write_the_warehouse_one_connection_writes(
    pg_url: str, second_pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = warehouse._load_share
    seen: list[tuple[tuple[str, ...] | None, int]] = []

    def recorded(conn: sa.Connection, *args: Any, **kwargs: Any) -> Any:
        seen.append((args[2].platforms, conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()))
        return real(conn, *args, **kwargs)

    monkeypatch.setattr(warehouse, "_load_share", recorded)
    for index, (day, parts, rows) in enumerate(_nights(tmp_path)):
        seen.clear()
        alone = _load(pg_url, day, parts, rows, connections=1)
        assert [platforms for platforms, _ in seen] == [None]
        seen.clear()
        shared = _load(second_pg, day, parts, rows, connections=3)
        # Each platform of the night on a connection of its own.
        expected = (
            [("mastodon",), ("bluesky",), ("forum",)]
            if index < 2
            else [("mastodon",), ("bluesky",)]
        )
        assert sorted(p for p, _ in seen) == sorted(expected)
        assert len({pid for _, pid in seen}) == len(expected)
        assert shared == alone
        assert snapshot(make_engine(second_pg)) == snapshot(make_engine(pg_url))
    with make_engine(second_pg).connect() as conn:
        stored = dict(
            conn.execute(sa.text("SELECT mention_id, CAST(day AS VARCHAR(10)) FROM mentions")).all()
        )
    # The forum rows and b1 of the corrected day are gone, m1 kept the earlier day.
    assert sorted(stored) == ["b0", "b2", "b3", "f0", "m0", "m1", "m2", "m3", "m4", "m5"]
    assert stored["m1"] == "2026-11-01"
    assert alone["removed_stale"] == 0  # the last night was the same night again


def test_a_failing_share_commits_nothing(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nights = _nights(tmp_path)
    day, parts, rows = nights[0]
    _load(pg_url, day, parts, rows, connections=3)
    engine = make_engine(pg_url)
    before = snapshot(engine)
    real = warehouse.link_threads

    def failing(conn: sa.Connection, day_value: Any) -> int:
        staged = conn.execute(sa.text("SELECT DISTINCT platform FROM stage_mentions")).all()
        if ("bluesky",) in staged:
            raise RuntimeError("bluesky share failed")
        return real(conn, day_value)

    monkeypatch.setattr(warehouse, "link_threads", failing)
    day, parts, rows = nights[2]
    with pytest.raises(RuntimeError, match="bluesky share failed"):
        _load(pg_url, day, parts, rows, connections=2)
    assert snapshot(engine) == before
    monkeypatch.setattr(warehouse, "link_threads", real)
    # The audit refuses after every share has written: nothing is committed either.
    with pytest.raises(AssertionError, match="nothing was committed"):
        _load(pg_url, day, parts, rows + 1, connections=2)
    assert snapshot(engine) == before
    assert _load(pg_url, day, parts, rows, connections=2)["loaded"] == rows


def _rows_of(batches: Iterator[pa.RecordBatch]) -> list[str]:
    return [row for batch in batches for row in batch.column("mention_id").to_pylist()]


def test_the_shares_parts_are_read_once_and_dealt_by_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, parts, _ = _nights(tmp_path)[0]
    opened: list[str] = []
    real = pq.ParquetFile

    def counted(path: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pq, "ParquetFile", counted)
    monkeypatch.setattr(warehouse, "COPY_BATCH", 1)  # a batch per row: more than a queue holds
    shares = [Share(("mastodon",)), Share(("bluesky", "forum"), ("mastodon",), True)]
    read = SharedParts(parts, ["platform", "mention_id"], shares, depth=1)
    # Both shares read side by side, as the load's do (each COPY on its own connection).
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda index: _rows_of(read.batches(index)), (0, 1))
    read.close()
    assert opened == parts  # each part read once, for both shares
    # Each share has exactly its platforms' rows, in the parts' order.
    every = [
        (row["platform"], row["mention_id"])
        for part in parts
        for row in pq.read_table(part, columns=["platform", "mention_id"]).to_pylist()
    ]
    assert first == [m for p, m in every if p == "mastodon"]
    assert second == [m for p, m in every if p in ("bluesky", "forum")]


def test_a_stopped_reader_leaves_no_share_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, parts, _ = _nights(tmp_path)[0]
    monkeypatch.setattr(warehouse, "COPY_BATCH", 1)
    shares = [Share(("mastodon",)), Share(("bluesky", "forum"), ("mastodon",), True)]
    read = SharedParts(parts, ["platform", "mention_id"], shares, depth=1)
    stream = read.batches(0)
    assert next(stream).num_rows == 1
    read.close()  # what a failing share does; the reader waited on the full queues
    with pytest.raises(PartsReaderStopped):
        _rows_of(stream)
    # A reader that fails hands its error to every share that reads on.
    broken = SharedParts(
        [*parts, str(tmp_path / "missing.parquet")], ["platform", "mention_id"], shares
    )
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        reading = [pool.submit(_rows_of, broken.batches(index)) for index in (0, 1)]
        errors = [type(future.exception()) for future in reading]
    broken.close()
    assert errors == [FileNotFoundError, FileNotFoundError]


def test_a_share_failing_before_it_reads_its_rows_fails_the_load_with_its_error(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other share, whose rows the reader can no longer deal (it waits on the failed
    share's full queue), stops too; the load raises the failed share's error, nothing else,
    and commits nothing."""
    day, parts, rows = _nights(tmp_path)[0]
    engine = make_engine(pg_url)
    warehouse.ensure_schema(engine)
    before = snapshot(engine)
    monkeypatch.setattr(warehouse, "COPY_BATCH", 1)
    monkeypatch.setattr(warehouse, "SHARED_DEPTH", 1)
    real = warehouse._create_stage
    calls = iter(range(100))

    def failing(conn: sa.Connection, name: str, like: str) -> None:
        if name == "stage_mentions" and next(calls) == 0:
            raise RuntimeError("the first share to stage failed")
        real(conn, name, like)

    monkeypatch.setattr(warehouse, "_create_stage", failing)
    with pytest.raises(RuntimeError, match="the first share to stage failed"):
        _load(pg_url, day, parts, rows, connections=2)
    assert snapshot(engine) == before
