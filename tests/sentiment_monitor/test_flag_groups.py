"""Flags that group by author and thread, rank with recency, remember people's changes, link a
relapse to the closed flag before it, and come out the same from reruns and backfills."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from sentiment_monitor import flags, pipeline
from sentiment_monitor.config import load_config
from sentiment_monitor.flags import history, priority, set_status
from sentiment_monitor.pipeline import run_day
from sentiment_monitor.warehouse import lock_warehouse, make_engine, snapshot
from tests.conftest import write_config
from tests.sentiment_monitor.test_flags import write_day

ANGRY = "@lumencoffee terrible, awful service. I hate it"
HAPPY = "@lumencoffee wonderful, amazing coffee, love it!"


def rec(i: int, author: str, text: str, day: int, hour: int = 10, **extra: object) -> dict:
    return {
        "platform": "mastodon",
        "id": str(i),
        "author": author,
        "text": text,
        "created_at": f"2026-11-{day:02d}T{hour:02d}:{i % 60:02d}:00Z",
        "author_followers": 300,
        **extra,
    }


@pytest.fixture
def setup(tmp_path: Path, warehouse_url: str):
    exports = tmp_path / "exports"
    config = load_config(write_config(tmp_path / "c.yaml", exports, tmp_path / "st"))
    return exports, config, warehouse_url


def flags_of(url: str) -> dict[tuple[str, str], dict]:
    with make_engine(url).connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM flags")).mappings().all()
    return {(r["mention_id"], r["kind"]): dict(r) for r in rows}


# Day 1: the brand posts; grumpy complains twice under it (one reply to the other) and once in
# a thread of their own; nora complains once under the brand's post.
DAY1 = [
    rec(100, "lumencoffee", "New autumn blend is out today!", 1, 8),
    rec(101, "grumpy", ANGRY, 1, 9, in_reply_to_id="100"),
    rec(102, "grumpy", ANGRY + " so much", 1, 10, in_reply_to_id="101"),
    rec(103, "grumpy", ANGRY + " again", 1, 11),
    rec(104, "nora", ANGRY, 1, 12, in_reply_to_id="100"),
]


def test_one_flag_per_author_and_thread_keyed_by_the_first_post(setup) -> None:
    exports, config, url = setup
    write_day(exports, "2026-11-01", DAY1)
    run_day("2026-11-01", config=config, url=url)
    found = flags_of(url)
    assert set(found) == {("101", "detractor"), ("103", "detractor"), ("104", "detractor")}
    thread = found[("101", "detractor")]
    assert thread["posts"] == 2 and thread["thread_root_id"] == "100"
    assert thread["latest_mention_id"] == "102"
    assert "2 negative posts in this thread" in thread["reason"]
    assert found[("103", "detractor")]["posts"] == 1
    assert found[("103", "detractor")]["thread_root_id"] == "103"  # its own thread
    assert found[("104", "detractor")]["author"] == "nora"
    # grumpy made three complaints that week: both of their flags count them.
    assert found[("101", "detractor")]["repeats"] == 3 == found[("103", "detractor")]["repeats"]
    assert found[("103", "detractor")]["priority"] > found[("104", "detractor")]["priority"]


def test_a_later_post_joins_the_open_flag_and_reranks_it(setup) -> None:
    exports, config, url = setup
    write_day(exports, "2026-11-01", DAY1)
    write_day(
        exports, "2026-11-02", [rec(201, "nora", ANGRY + " still", 2, 9, in_reply_to_id="104")]
    )
    run_day("2026-11-01", config=config, url=url)
    before = flags_of(url)[("104", "detractor")]
    assert set_status(make_engine(url), "mastodon", "104", "detractor", status="in_progress")
    run_day("2026-11-02", config=config, url=url)
    after = flags_of(url)
    assert ("201", "detractor") not in after  # joined, not a new flag
    nora = after[("104", "detractor")]
    assert (nora["posts"], nora["latest_mention_id"], str(nora["latest_day"])) == (
        2,
        "201",
        "2026-11-02",
    )
    assert nora["status"] == "in_progress"  # people's status kept
    assert nora["repeats"] == 2 and nora["priority"] > before["priority"]
    assert "2nd complaint in 7 days" in nora["reason"]


def test_recency_sinks_older_flags_and_sql_agrees_with_the_formula(setup) -> None:
    exports, config, url = setup
    write_day(exports, "2026-11-01", [rec(1, "ann", ANGRY, 1)])
    write_day(exports, "2026-11-04", [rec(2, "ben", ANGRY, 4)])
    run_day("2026-11-01", config=config, url=url)
    fresh = flags_of(url)[("1", "detractor")]
    assert fresh["recency"] == 1.0
    run_day("2026-11-04", config=config, url=url)
    found = flags_of(url)
    old, new = found[("1", "detractor")], found[("2", "detractor")]
    assert old["compound"] == new["compound"]  # same text, same reach
    assert old["recency"] == pytest.approx(1 - 3 / 7) and new["recency"] == 1.0
    assert old["priority"] < fresh["priority"] and old["priority"] < new["priority"]
    for flag, age in ((old, 3), (new, 0)):
        assert flag["priority"] == priority(
            flag["compound"], flag["author_followers"], flag["repeats"], config.flags, age
        )


def test_every_flag_ages_so_a_reopened_flag_ranks_as_if_never_closed(setup) -> None:
    exports, config, url = setup
    write_day(exports, "2026-11-01", [rec(1, "ann", ANGRY, 1), rec(2, "dan", ANGRY, 1)])
    write_day(exports, "2026-11-04", [rec(3, "ben", ANGRY, 4)])
    write_day(exports, "2026-11-09", [rec(4, "cy", ANGRY, 9)])
    run_day("2026-11-01", config=config, url=url)
    engine = make_engine(url)
    assert set_status(engine, "mastodon", "1", "detractor", status="resolved", changed_by="cm")
    for day, age in (("2026-11-04", 3), ("2026-11-09", 8)):
        run_day(day, config=config, url=url)
        found = flags_of(url)
        closed, kept = found[("1", "detractor")], found[("2", "detractor")]
        assert closed["status"] == "resolved" and kept["status"] == "open"
        assert closed["recency"] == kept["recency"] == pytest.approx(flags.recency(age))
        assert (
            closed["priority"]
            == kept["priority"]
            == priority(
                kept["compound"], kept["author_followers"], kept["repeats"], config.flags, age
            )
        )
    assert set_status(engine, "mastodon", "1", "detractor", status="open", changed_by="cm")
    found = flags_of(url)
    assert found[("1", "detractor")]["priority"] == found[("2", "detractor")]["priority"]
    assert found[("1", "detractor")]["priority"] < found[("4", "detractor")]["priority"]


def test_the_nightly_ageing_rewrites_no_index_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    """Ageing writes only recency and priority, which no index holds, into pages that keep room:
    PostgreSQL updates each flag in place (heap-only), without a new entry in every index."""
    exports = tmp_path / "exports"
    config = load_config(write_config(tmp_path / "c.yaml", exports, tmp_path / "st"))
    write_day(exports, "2026-11-01", [rec(i, f"user{i}", ANGRY, 1) for i in range(1, 201)])
    run_day("2026-11-01", config=config, url=pg_url)
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        params = {
            "ref": dt.date(2026, 11, 3),
            "fresh_after": flags._fresh_after(conn, "2026-11-03"),
            "high_reach": float(config.flags.high_reach_followers),
        }
        aged = flags._age_flags(conn, params)
        again = flags._age_flags(conn, params)  # a rerun: already ranked, not written
        updated, heap_only = conn.execute(
            sa.text(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables"
                " WHERE relname = 'flags'"
            )
        ).one()
        ranks = conn.execute(sa.text("SELECT DISTINCT recency, priority FROM flags")).all()
    assert aged == updated == heap_only == 200 and again == 0
    assert [r[0] for r in ranks] == [pytest.approx(flags.recency(2))]


def test_a_closed_flag_stays_closed_and_a_relapse_links_to_it(setup) -> None:
    exports, config, url = setup
    write_day(exports, "2026-11-01", DAY1)
    write_day(
        exports,
        "2026-11-02",
        [
            rec(201, "grumpy", ANGRY + " nobody answers", 2, 9, in_reply_to_id="102"),
            rec(202, "grumpy", ANGRY + " new topic", 2, 10),
        ],
    )
    run_day("2026-11-01", config=config, url=url)
    engine = make_engine(url)
    assert set_status(engine, "mastodon", "101", "detractor", status="resolved", changed_by="cm")
    run_day("2026-11-02", config=config, url=url)
    found = flags_of(url)
    closed = found[("101", "detractor")]
    assert (closed["status"], closed["posts"], closed["latest_mention_id"]) == (
        "resolved",
        2,
        "102",
    )
    again = found[("201", "detractor")]  # same thread, after the resolved flag: a new flag
    assert again["previous_mention_id"] == "101" and again["posts"] == 1
    assert "again after an earlier flag was closed" in again["reason"]
    # Another thread: the author's last closed flag is the one it follows.
    assert found[("202", "detractor")]["previous_mention_id"] == "101"
    # The still-open flag of day 1 (their own thread) links to nothing.
    assert found[("103", "detractor")]["previous_mention_id"] is None


def test_a_touched_flag_whose_post_moved_to_another_thread_stays_and_raises_nothing(
    setup,
) -> None:
    # A corrected export makes grumpy's own-thread post 103 a reply to the brand's post, posted
    # before 101: 103 now starts grumpy's thread under it. The in-progress flag keyed by 103 is
    # people's: it stays as they left it, and the night does not fail on its key.
    exports, config, url = setup
    write_day(exports, "2026-11-01", DAY1)
    run_day("2026-11-01", config=config, url=url)
    assert set_status(make_engine(url), "mastodon", "103", "detractor", status="in_progress")
    before = flags_of(url)
    corrected = [
        dict(r, in_reply_to_id="100", created_at="2026-11-01T08:30:00Z") if r["id"] == "103" else r
        for r in DAY1
    ]
    write_day(exports, "2026-11-01", corrected)
    run_day("2026-11-01", config=config, url=url)
    after = flags_of(url)  # the night ran: no second flag under 103's key
    kept = after[("103", "detractor")]
    assert (kept["status"], kept["thread_root_id"], kept["posts"]) == ("in_progress", "103", 1)
    assert kept["priority"] == before[("103", "detractor")]["priority"]
    # That thread's group is keyed by 103 now, a key the in-progress flag holds: it is not
    # raised, and the untouched flag 101 that held the thread before gave way to it.
    assert sorted(after) == [("103", "detractor"), ("104", "detractor")]


def test_set_status_records_who_changed_what_and_when(setup) -> None:
    exports, config, url = setup
    write_day(exports, "2026-11-01", DAY1)
    run_day("2026-11-01", config=config, url=url)
    engine = make_engine(url)
    key = ("mastodon", "103", "detractor")
    assert set_status(engine, *key, status="in_progress", assignee="sam", changed_by="alice")
    assert set_status(engine, *key, assignee="sam", changed_by="bob")  # no change: no row
    assert set_status(engine, *key, status="resolved", note="refund sent", changed_by="bob")
    assert set_status(engine, *key, assignee="", changed_by="carol")  # cleared
    rows = history(engine, *key)
    assert [(r["changed_by"], r["field"], r["old_value"], r["new_value"]) for r in rows] == [
        ("alice", "status", "open", "in_progress"),
        ("alice", "assignee", None, "sam"),
        ("bob", "status", "in_progress", "resolved"),
        ("bob", "note", None, "refund sent"),
        ("carol", "assignee", "sam", None),
    ]
    assert all(r["changed_at"] is not None for r in rows)
    flag = flags_of(url)[("103", "detractor")]
    assert flag["status_changed_by"] == "bob" and flag["status_changed_at"] is not None
    # A flag someone touched and set back to open is still theirs: a rerun keeps it.
    assert set_status(engine, "mastodon", "104", "detractor", assignee="x", changed_by="dee")
    assert set_status(engine, "mastodon", "104", "detractor", assignee="", changed_by="dee")
    write_day(exports, "2026-11-01", [r for r in DAY1 if r["id"] != "104"])
    run_day("2026-11-01", config=config, url=url)
    found = flags_of(url)
    assert ("104", "detractor") in found  # no longer qualifies, but has a history
    assert found[("103", "detractor")]["status"] == "resolved"
    assert len(history(engine, *key)) == 5


WEEK = {
    "2026-11-01": DAY1,
    "2026-11-02": [
        rec(201, "grumpy", ANGRY + " nobody answers", 2, 9, in_reply_to_id="102"),
        rec(202, "fan", HAPPY, 2, 10),
        rec(203, "nora", "@lumencoffee do you ship to Canada?", 2, 11),
    ],
    "2026-11-03": [
        rec(301, "lumencoffee", "@nora yes we do!", 3, 8, in_reply_to_id="203"),
        rec(302, "fan", HAPPY + " again", 3, 9, in_reply_to_id="202"),
        rec(303, "grumpy", ANGRY + " third day", 3, 10),
    ],
}


@pytest.fixture
def week(setup):
    """``setup`` with the three days of ``WEEK`` written as exports."""
    exports, config, url = setup
    for day, records in WEEK.items():
        write_day(exports, day, records)
    return config, url


def test_reruns_and_out_of_order_backfills_give_the_same_flags(
    week, more_warehouses: Callable[[], str]
) -> None:
    config, url = week
    for day in WEEK:
        run_day(day, config=config, url=url)
    in_order = snapshot(make_engine(url), ("flags",))
    assert in_order["flags"]
    found = flags_of(url)
    assert ("203", "question") not in found  # answered on day 3: withdrawn
    assert found[("202", "promoter")]["posts"] == 2
    assert found[("101", "detractor")]["posts"] == 3
    run_day("2026-11-02", config=config, url=url)  # a rerun
    assert snapshot(make_engine(url), ("flags",)) == in_order
    other = more_warehouses()
    for day in ("2026-11-03", "2026-11-01", "2026-11-02", "2026-11-01"):
        run_day(day, config=config, url=other)
    assert snapshot(make_engine(other), ("flags",)) == in_order


# Only PostgreSQL runs the flag step in more than one shard.
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_shards_side_by_side_give_the_flags_of_one_transaction(
    week, more_warehouses: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, url = week
    found = {}
    for shards, target in ((1, url), (3, more_warehouses())):
        monkeypatch.setattr(flags, "shard_count", lambda engine, n=shards: n)
        run_day("2026-11-01", config=config, url=target)
        run_day("2026-11-02", config=config, url=target)
        set_status(make_engine(target), "mastodon", "103", "detractor", status="resolved")
        run_day("2026-11-03", config=config, url=target)
        run_day("2026-11-02", config=config, url=target)  # a rerun
        found[shards] = {
            key: {k: v for k, v in row.items() if k != "status_changed_at"}
            for key, row in flags_of(target).items()
        }
        with make_engine(target).connect() as conn:
            split = conn.execute(
                sa.text("SELECT COUNT(DISTINCT (hashtext(author) & 1048575) % 3) FROM flags")
            ).scalar_one()
    assert split == 3  # grumpy, nora and fan each had a shard of their own
    assert found[3][("303", "detractor")]["previous_mention_id"] == "103"  # the relapse link
    assert found[3] == found[1]


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_earlier_flags_age_beside_the_load_and_the_flag_step_finds_them_ranked(
    week, more_warehouses: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``flags.age_flags`` (which the load task runs beside its transaction) ranks the earlier
    nights' flags to the day while a load holds the warehouse lock (it never waits for it), and
    the nights end with the flags of nights whose flag step aged them itself."""
    config, url = week
    expected = more_warehouses()
    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "age_flags", lambda engine, day, rules: 0)
        for day in WEEK:
            run_day(day, config=config, url=expected)
    aged = [run_day(day, config=config, url=url)["load"]["aged"] for day in WEEK]
    assert aged[0] == 0 and aged[1] > 0 and aged[2] > 0
    assert snapshot(make_engine(url), ("flags",)) == snapshot(make_engine(expected), ("flags",))
    engine = make_engine(url)
    with engine.begin() as loading:  # a load of the next day, holding the warehouse lock
        lock_warehouse(loading)
        beside = threading.Thread(
            target=lambda: aged.append(flags.age_flags(engine, "2026-11-04", config.flags))
        )
        beside.start()
        beside.join(60)
        assert not beside.is_alive()
    assert aged[-1] > 0  # the flags of the three days, a day older


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_the_ageing_runs_once_and_the_shards_do_not_depend_on_when_it_commits(
    week, more_warehouses: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Left to the flag step (nothing aged beside the load, as when ``flag_day`` runs on its
    own), the ageing runs once on its own connection, beside the shards' reads. Held back until
    every shard has read what the night reaches (the latest it can commit), it gives the flags
    one transaction gives, and no shard or ageing waits for the other's rows."""
    config, url = week
    expected = more_warehouses()
    monkeypatch.setattr(flags, "shard_count", lambda engine: 1)
    for day in (*WEEK, "2026-11-02"):
        run_day(day, config=config, url=expected)
    monkeypatch.setattr(flags, "shard_count", lambda engine: 3)
    reads_done = threading.Barrier(4, timeout=60)  # three shards and the ageing
    fill_groups, age_committed = flags._fill_groups, flags._age_committed
    ageings: list[int] = []

    def groups_then_wait(conn: sa.Connection) -> None:
        fill_groups(conn)
        reads_done.wait()

    def age_last(engine: sa.Engine, params: dict) -> int:
        reads_done.wait()
        ageings.append(age_committed(engine, params))
        return ageings[-1]

    monkeypatch.setattr(flags, "_fill_groups", groups_then_wait)
    monkeypatch.setattr(flags, "_age_committed", age_last)
    monkeypatch.setattr(pipeline, "age_flags", lambda engine, day, rules: 0)  # not beforehand
    for day in (*WEEK, "2026-11-02"):  # the last: a rerun, with nothing left to age
        run_day(day, config=config, url=url)
    assert len(ageings) == 4 and ageings[1] > 0 and ageings[-1] == 0
    assert snapshot(make_engine(url), ("flags",)) == snapshot(make_engine(expected), ("flags",))


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_a_failed_shard_fails_the_step_and_its_rerun_gives_the_whole_table(
    week, more_warehouses: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, url = week
    expected = more_warehouses()
    for day in WEEK:
        run_day(day, config=config, url=expected)
    monkeypatch.setattr(flags, "shard_count", lambda engine: 3)
    for day in ("2026-11-01", "2026-11-02"):
        run_day(day, config=config, url=url)
    run_shard = flags._flag_shard

    def failing(conn, params, shard, **kwargs):
        if shard == (1, 3):
            raise RuntimeError("connection lost")
        return run_shard(conn, params, shard, **kwargs)

    monkeypatch.setattr(flags, "_flag_shard", failing)
    with pytest.raises(RuntimeError, match="connection lost"):
        run_day("2026-11-03", config=config, url=url)
    half = snapshot(make_engine(url), ("flags",))
    monkeypatch.setattr(flags, "_flag_shard", run_shard)
    run_day("2026-11-03", config=config, url=url)  # the retry
    whole = snapshot(make_engine(url), ("flags",))
    assert half != whole  # the failed shard's authors were left as they were
    assert whole == snapshot(make_engine(expected), ("flags",))


def test_reruns_keep_what_people_wrote(week) -> None:
    config, url = week
    for day in WEEK:
        run_day(day, config=config, url=url)
    engine = make_engine(url)
    key = ("mastodon", "101", "detractor")
    assert set_status(engine, *key, status="in_progress", assignee="sam", note="DM", changed_by="a")
    people = {k: flags_of(url)[("101", "detractor")][k] for k in ("status", "assignee", "note")}
    logged = history(engine, *key)
    for day in ("2026-11-01", "2026-11-03", "2026-11-02"):
        run_day(day, config=config, url=url)
    flag = flags_of(url)[("101", "detractor")]
    assert {k: flag[k] for k in people} == people and history(engine, *key) == logged
    assert flag["posts"] == 3


def test_author_views_list_top_promoters_and_repeat_detractors(week) -> None:
    config, url = week
    run_day("2026-11-01", config=config, url=url)
    run_day("2026-11-02", config=config, url=url)
    set_status(make_engine(url), "mastodon", "103", "detractor", status="resolved")
    run_day("2026-11-03", config=config, url=url)
    with make_engine(url).connect() as conn:
        promoters = conn.execute(
            sa.text("SELECT author, promoter_posts, promoter_rank FROM top_promoters")
        ).all()
        detractors = {
            r.author: r
            for r in conn.execute(sa.text("SELECT * FROM repeat_detractors")).mappings().all()
        }
    assert [tuple(r) for r in promoters] == [("fan", 2, 1)]
    assert set(detractors) == {"grumpy"}  # nora complained once
    grumpy = detractors["grumpy"]
    assert grumpy["detractor_posts"] == 5 and grumpy["detractor_flags"] == 3
    assert grumpy["closed_flags"] == 1 and grumpy["open_flags"] == 2
    assert grumpy["relapses"] == 1  # 303 came after the resolved 103


def test_response_metrics_count_every_post_a_detractor_flag_groups(setup) -> None:
    exports, config, url = setup
    answer = rec(105, "lumencoffee", "@grumpy so sorry, we are on it", 1, 13, in_reply_to_id="102")
    write_day(exports, "2026-11-01", [*DAY1, answer])
    run_day("2026-11-01", config=config, url=url)
    # Three flags hold four negative posts (grumpy's two in one thread are one flag); the brand
    # answered one of them, the second post of the grouped flag.
    assert len([k for k in flags_of(url) if k[1] == "detractor"]) == 3
    with make_engine(url).connect() as conn:
        posts, answered = conn.execute(
            sa.text("SELECT SUM(detractor_posts), SUM(detractors_answered) FROM response_metrics")
        ).one()
    assert (posts, answered) == (4, 1)
