"""The analyst's schema on both databases: authors, threads, response metrics, concurrent days."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sentiment_monitor import pipeline
from sentiment_monitor.config import Config, load_config
from sentiment_monitor.pipeline import run_day
from sentiment_monitor.warehouse import make_engine, snapshot
from tests.conftest import DATA, write_config

DAY1, DAY2 = "2026-11-01", "2026-11-02"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path / "c.yaml", DATA / "exports", tmp_path / "st"))


def rows(url: str, sql: str) -> list[dict[str, Any]]:
    with make_engine(url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]


def test_authors_threads_and_late_answers(warehouse_url: str, config: Config) -> None:
    run_day(DAY1, config=config, url=warehouse_url)
    day1 = "SELECT * FROM response_metrics WHERE platform = 'mastodon' AND day = '2026-11-01'"
    before = rows(warehouse_url, day1)[0]
    # Day 1: carol (1004) and dave (1005) asked; the brand answered dave 30 minutes later.
    assert (before["questions"], before["questions_answered"]) == (2, 1)
    assert before["median_first_reply_seconds"] == 1800.0
    assert (before["detractor_posts"], before["detractors_answered"]) == (1, 0)  # bob's 1003

    steps = run_day(DAY2, config=config, url=warehouse_url)
    assert steps["flag"]["touched_days"] == [DAY1, DAY2]
    after = rows(warehouse_url, day1)[0]
    # Day 2's brand post 2001 answers carol 23.5 hours late: day 1's numbers change.
    assert (after["questions"], after["questions_answered"]) == (2, 2)
    assert after["questions_answered_share"] == 1.0
    assert after["median_first_reply_seconds"] == (1800.0 + 84600.0) / 2

    authors = {
        (r["platform"], r["author"]): r for r in rows(warehouse_url, "SELECT * FROM authors")
    }
    bob = authors[("mastodon", "bob")]
    assert (bob["mentions"], bob["negative_mentions"], bob["latest_followers"]) == (2, 2, 80000)
    assert str(bob["first_seen_at"]) < str(bob["last_seen_at"])
    assert bool(authors[("mastodon", "lumencoffee")]["is_brand"])
    assert authors[("mastodon", "lumencoffee")]["mentions"] == 3
    assert len(authors) == 11

    threads = {r["thread_root_id"]: r for r in rows(warehouse_url, "SELECT * FROM threads")}
    root = threads["1001"]  # the brand's post; 1002, 1011 and day 2's late reply 2003
    assert (root["replies"], root["participants"], root["root_is_brand"]) == (3, 4, 1)
    assert root["first_brand_reply_at"] is None
    carol = threads["1004"]
    assert carol["replies"] == 1 and carol["first_brand_reply_at"] is not None
    assert str(carol["first_brand_reply_at"]).startswith("2026-11-02")

    log = rows(warehouse_url, "SELECT * FROM run_log ORDER BY day")
    assert [bool(r["validation_success"]) for r in log] == [True, True]
    assert all(r["total_seconds"] >= 0 for r in log)


def test_rerun_recomputes_only_and_exactly_that_days_authors(
    warehouse_url: str, config: Config
) -> None:
    for day in (DAY1, DAY2):
        run_day(day, config=config, url=warehouse_url)
    before = snapshot(make_engine(warehouse_url))
    run_day(DAY1, config=config, url=warehouse_url)
    assert snapshot(make_engine(warehouse_url)) == before


def test_sqlite_and_postgresql_agree_on_counts_and_sums(
    tmp_path: Path, pg_url: str, config: Config
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'w.db'}"
    for url in (sqlite_url, pg_url):
        for day in (DAY1, DAY2):
            run_day(day, config=config, url=url)
    lite, pg = snapshot(make_engine(sqlite_url)), snapshot(make_engine(pg_url))
    assert lite == pg  # every table, every row
    sums = """
        SELECT (SELECT COUNT(*) FROM mentions), (SELECT SUM(compound) FROM mentions),
               (SELECT SUM(mean_compound) FROM daily_sentiment),
               (SELECT SUM(mean_compound) FROM author_sentiment),
               (SELECT SUM(mentions) FROM authors), (SELECT COUNT(*) FROM threads),
               (SELECT SUM(median_first_reply_seconds) FROM response_metrics)
    """
    results = []
    for url in (sqlite_url, pg_url):
        with make_engine(url).connect() as conn:
            results.append([float(v) for v in conn.execute(sa.text(sums)).one()])
    assert results[0] == pytest.approx(results[1], rel=1e-12)


def _prepare(config: Config, day: str) -> dict[str, Any]:
    """Extract, normalize, score and validate a day: everything before the warehouse."""
    extracts = [pipeline.extract(config, day, s["name"]) for s in config.sources]
    steps = {"normalize": pipeline.normalize(config, day, extracts)}
    steps["score"] = pipeline.score(config, day, steps["normalize"])
    steps["validate"] = pipeline.validate(config, day, steps["score"])
    return steps


def _warehouse_steps(config: Config, day: str, steps: dict[str, Any], url: str) -> None:
    loaded = pipeline.load(config, day, steps["normalize"], steps["validate"], url)
    flagged = pipeline.flag(config, day, url)
    pipeline.marts(config, day, flagged, url)
    assert loaded["records_read"] == loaded["loaded"] + loaded["rejected"] + loaded["duplicates"]


def test_two_days_loading_at_once_equal_one_after_the_other(
    warehouse_url: str, config: Config, more_warehouses: Callable[[], str]
) -> None:
    """Load, flag and marts of two days in two threads, released together by a barrier.

    The days share a re-exported mention (1003), a thread and authors. Loading day 2 before
    day 1 (a backfill) must give the same warehouse as day 1 then day 2, and so must the two
    at once, however their steps interleave.
    """
    prepared = {day: _prepare(config, day) for day in (DAY1, DAY2)}
    serial = []
    for order in ((DAY1, DAY2), (DAY2, DAY1)):
        url = more_warehouses()
        for day in order:
            _warehouse_steps(config, day, prepared[day], url)
        serial.append(snapshot(make_engine(url)))

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def one(day: str) -> None:
        try:
            barrier.wait()
            _warehouse_steps(config, day, prepared[day], warehouse_url)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=one, args=(day,)) for day in (DAY1, DAY2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert serial[0] == serial[1]  # a backfill in any order gives the same warehouse
    assert snapshot(make_engine(warehouse_url)) == serial[0]
    # Whatever the order, the late reply joined its thread and day 1 counts carol as answered.
    with make_engine(warehouse_url).connect() as conn:
        root = conn.execute(
            sa.text("SELECT thread_root_id FROM mentions WHERE mention_id = '2003'")
        ).scalar_one()
        answered = conn.execute(
            sa.text(
                "SELECT questions_answered FROM response_metrics"
                " WHERE platform = 'mastodon' AND day = '2026-11-01'"
            )
        ).scalar_one()
    assert (root, answered) == ("1001", 2)
