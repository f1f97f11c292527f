"""The warehouse on SQLite and PostgreSQL: URLs, schema, idempotent loads, threads, late data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from sentiment_monitor.config import Config, load_config
from sentiment_monitor.pipeline import run_day
from sentiment_monitor.warehouse import (
    ensure_schema,
    make_engine,
    normalize_url,
    snapshot,
    split_statements,
    url_from_connection,
    url_from_env,
)
from tests.conftest import DATA, write_config


def test_urls_from_connections() -> None:
    assert (
        url_from_connection("postgres", "db.example", "analyst", "p@ss/word", "wh", 5433)
        == "postgresql+psycopg://analyst:p%40ss%2Fword@db.example:5433/wh"
    )
    assert url_from_connection("sqlite", "/tmp/w.db") == "sqlite:////tmp/w.db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(ValueError, match="not supported"):
        url_from_connection("mysql", "h")


def test_url_from_environment() -> None:
    assert url_from_env({}).endswith("data/warehouse.db")
    uri = "postgresql://u:pw@127.0.0.1:5432/wh"
    assert url_from_env({"AIRFLOW_CONN_SENTIMENT_WAREHOUSE": uri}) == normalize_url(uri)
    as_json = json.dumps({"conn_type": "postgres", "host": "h", "login": "u", "schema": "wh"})
    assert url_from_env({"AIRFLOW_CONN_SENTIMENT_WAREHOUSE": as_json}) == (
        "postgresql+psycopg://u@h/wh"
    )


def test_split_statements_drops_comments() -> None:
    text = (
        "-- days in :days;\nCREATE TABLE a (x INT);\n-- only a comment\n"
        "DROP VIEW IF EXISTS v;\n-- trailing\n"
    )
    assert split_statements(text) == ["CREATE TABLE a (x INT)", "DROP VIEW IF EXISTS v"]


def test_schema_is_idempotent(warehouse_url: str) -> None:
    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    ensure_schema(engine)
    names = set(sa.inspect(engine).get_table_names())
    assert {"mentions", "flags", "rejects", "load_audit", "run_log", "daily_sentiment"} <= names
    assert "open_flags" in sa.inspect(engine).get_view_names()


@pytest.fixture
def two_days(tmp_path: Path):
    return load_config(write_config(tmp_path / "c.yaml", DATA / "exports", tmp_path / "staging"))


def test_load_is_idempotent_and_earliest_day_wins(warehouse_url: str, two_days) -> None:
    engine = make_engine(warehouse_url)
    run_day("2026-11-01", config=two_days, url=warehouse_url)
    run_day("2026-11-02", config=two_days, url=warehouse_url)
    before = snapshot(engine)
    steps = run_day("2026-11-02", config=two_days, url=warehouse_url)
    assert steps["load"]["known_from_earlier"] == 1  # 1003 re-exported on day 2
    assert snapshot(engine) == before
    with engine.connect() as conn:
        day = conn.execute(
            sa.text("SELECT day FROM mentions WHERE mention_id = '1003'")
        ).scalar_one()
        roots = dict(
            conn.execute(
                sa.text(
                    "SELECT mention_id, thread_root_id FROM mentions"
                    " WHERE in_reply_to_id IS NOT NULL"
                )
            ).all()
        )
    assert str(day) == "2026-11-01"
    assert roots["1011"] == "1001"  # reply to a reply joins the root
    assert roots["2003"] == "1001"  # a late reply joins the earlier thread
    assert (
        roots["at://did:plc:jo/app.bsky.feed.post/j1"] == "at://did:plc:brand/app.bsky.feed.post/b1"
    )


def test_rerun_on_corrected_exports_replaces_the_day(warehouse_url: str, tmp_path: Path) -> None:
    exports = tmp_path / "exports" / "2026-11-01"
    exports.mkdir(parents=True)
    records = [
        {
            "platform": "mastodon",
            "id": str(i),
            "author": f"u{i}",
            "text": f"post {i}\x00!",
            "created_at": "2026-11-01T12:00:00Z",
        }
        for i in range(3)
    ]
    (exports / "a.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    config = load_config(write_config(tmp_path / "c.yaml", tmp_path / "exports", tmp_path / "st"))
    run_day("2026-11-01", config=config, url=warehouse_url)
    (exports / "a.jsonl").write_text("\n".join(json.dumps(r) for r in records[:2]) + "\n")
    steps = run_day("2026-11-01", config=config, url=warehouse_url)
    assert steps["load"]["removed_stale"] == 1
    with make_engine(warehouse_url).connect() as conn:
        texts = [
            r[0] for r in conn.execute(sa.text("SELECT text FROM mentions ORDER BY mention_id"))
        ]
    assert texts == ["post 0!", "post 1!"]  # NUL bytes cleaned, not a crash on PostgreSQL


def test_sqlite_and_postgresql_hold_the_same_rows(tmp_path: Path, pg_url: str, two_days) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'w.db'}"
    for url in (sqlite_url, pg_url):
        for day in ("2026-11-01", "2026-11-02"):
            run_day(day, config=two_days, url=url)
    lite, pg = snapshot(make_engine(sqlite_url)), snapshot(make_engine(pg_url))
    assert {t: len(r) for t, r in lite.items()} == {t: len(r) for t, r in pg.items()}
    assert lite["mentions"] == pg["mentions"]
    assert lite["flags"] == pg["flags"]
    assert lite["daily_sentiment"] == pg["daily_sentiment"]
    assert lite["rejects"] == pg["rejects"]


def test_new_sqlite_file_opened_by_two_loads_at_once(tmp_path: Path) -> None:
    """Two days starting on a brand-new warehouse file race to switch it to WAL; neither fails.

    Before the retry in make_engine, about one try in 25 failed with "database is locked".
    """
    import threading

    failures: list[str] = []
    for attempt in range(60):
        url = f"sqlite:///{tmp_path / f'w{attempt}.db'}"
        barrier = threading.Barrier(3)

        def load(url: str = url, barrier: threading.Barrier = barrier) -> None:
            try:
                barrier.wait()
                with make_engine(url).begin() as conn:
                    conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
                    conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            except Exception as error:  # collected for the assertion below
                failures.append(repr(error))

        threads = [threading.Thread(target=load) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


def _export(folder: Path, day: str, records: list[dict]) -> None:
    (folder / day).mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"platform": "mastodon", "created_at": f"{day}T12:00:0{i % 10}Z", **r})
        for i, r in enumerate(records)
    ]
    (folder / day / "a.jsonl").write_text("\n".join(lines) + "\n")


def _two_days_of_threads(url: str, tmp_path: Path, first: list[dict], second: list[dict]) -> Config:
    """Export ``first`` on 2026-11-01 and ``second`` on 2026-11-02 (Mastodon), run both nights
    into ``url``; return the configuration, for reruns."""
    exports = tmp_path / "exports"
    _export(exports, "2026-11-01", first)
    _export(exports, "2026-11-02", second)
    config = load_config(write_config(tmp_path / "c.yaml", exports, tmp_path / "st"))
    for day in ("2026-11-01", "2026-11-02"):
        run_day(day, config=config, url=url)
    return config


def test_threads_of_any_depth_orphans_and_late_replies(warehouse_url: str, tmp_path: Path) -> None:
    """Roots are computed on the stage before the insert: chains of any depth, replies to a
    parent stored nowhere, to an earlier day's reply, and a cycle (left without a root)."""
    config = _two_days_of_threads(
        warehouse_url,
        tmp_path,
        [
            {"id": "t", "author": "a", "text": "top"},
            {"id": "r1", "author": "b", "text": "re", "in_reply_to_id": "t"},
        ],
        [
            {"id": "r4", "author": "c", "text": "deep", "in_reply_to_id": "r3"},
            {"id": "r3", "author": "c", "text": "deeper", "in_reply_to_id": "r2"},
            {"id": "r2", "author": "d", "text": "late", "in_reply_to_id": "r1"},
            {"id": "o2", "author": "e", "text": "orphan child", "in_reply_to_id": "o1"},
            {"id": "o1", "author": "e", "text": "orphan", "in_reply_to_id": "gone"},
            {"id": "x", "author": "f", "text": "loop", "in_reply_to_id": "y"},
            {"id": "y", "author": "f", "text": "loop", "in_reply_to_id": "x"},
        ],
    )
    engine = make_engine(warehouse_url)
    before = snapshot(engine)
    run_day("2026-11-02", config=config, url=warehouse_url)
    assert snapshot(engine) == before
    with engine.connect() as conn:
        roots = dict(conn.execute(sa.text("SELECT mention_id, thread_root_id FROM mentions")).all())
    assert roots == {
        "t": None,
        "r1": "t",
        "r2": "t",
        "r3": "t",
        "r4": "t",
        "o1": "gone",
        "o2": "gone",
        "x": None,
        "y": None,
    }


#: "The replies to x" as docs/warehouse.md asks it: the posts of x's thread that reply to x.
REPLIES_TO = """
    SELECT r.mention_id FROM mentions x
    JOIN mentions r
      ON r.platform = x.platform AND r.in_reply_to_id = x.mention_id
     AND r.thread_root_id IN (x.mention_id, x.thread_root_id)
    WHERE x.platform = :platform AND x.mention_id = :id
"""


def test_the_replies_to_a_post_are_the_replies_of_its_thread(
    warehouse_url: str, tmp_path: Path
) -> None:
    """No index holds every reply by its parent (migration 0011): the replies to a post are
    found in its thread, whose index the planner uses. That finds each reply, also one stored
    before its parent arrived (which keeps the parent as its root) and one to a post that
    starts a thread."""
    _two_days_of_threads(
        warehouse_url,
        tmp_path,
        [
            {"id": "t", "author": "a", "text": "top"},
            {"id": "r1", "author": "b", "text": "re", "in_reply_to_id": "t"},
            {"id": "r1b", "author": "c", "text": "me too", "in_reply_to_id": "t"},
            {"id": "c1", "author": "c", "text": "early", "in_reply_to_id": "p"},
        ],
        [
            {"id": "p", "author": "d", "text": "late parent", "in_reply_to_id": "r1"},
            {"id": "c2", "author": "e", "text": "on time", "in_reply_to_id": "p"},
            {"id": "c3", "author": "b", "text": "deeper", "in_reply_to_id": "c2"},
        ],
    )
    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT mention_id, in_reply_to_id FROM mentions")).all()
        found = {
            post: sorted(
                conn.execute(sa.text(REPLIES_TO), {"platform": "mastodon", "id": post}).scalars()
            )
            for post, _ in stored
        }
    expected = {post: sorted(r for r, parent in stored if parent == post) for post, _ in stored}
    assert found == expected
    assert found["p"] == ["c1", "c2"]  # c1 keeps p as its root, c2 is in t's thread
    assert found["t"] == ["r1", "r1b"]
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        # A warehouse large enough that reading all of mentions would cost the planner more.
        conn.execute(
            sa.text(
                "INSERT INTO mentions (platform, mention_id, day, author, created_at, text,"
                " in_reply_to_id, thread_root_id, is_brand, is_question, mentions_brand,"
                " compound, label, source)"
                " SELECT 'mastodon', 'f' || g, DATE '2026-10-01', 'a' || (g % 97), now(), 'x',"
                " 'f' || (g / 3), 'f' || (g / 30), false, false, false, 0, 'neutral', 'test'"
                " FROM generate_series(1, 20000) g"
            )
        )
        conn.exec_driver_sql("ANALYZE mentions")
        plan = json.dumps(
            conn.execute(
                sa.text("EXPLAIN (FORMAT JSON) " + REPLIES_TO), {"platform": "mastodon", "id": "p"}
            ).scalar_one()
        )
    assert "mentions_thread" in plan
    assert "Seq Scan" not in plan


def _authors_from_scratch(engine: sa.Engine) -> list[tuple]:
    """``authors`` recomputed from every mention (what the load keeps it equal to); the table
    is left as it was."""
    with engine.connect() as conn:
        conn.execute(sa.text("DELETE FROM authors"))
        conn.execute(
            sa.text(
                """
                INSERT INTO authors (platform, author, is_brand, first_seen_at, last_seen_at,
                    latest_followers, mentions, positive_mentions, negative_mentions)
                SELECT m.platform, m.author, MAX(CASE WHEN m.is_brand THEN 1 ELSE 0 END) = 1,
                       MIN(m.created_at), MAX(m.created_at),
                       (SELECT f.author_followers FROM mentions f
                        WHERE f.platform = m.platform AND f.author = m.author
                          AND f.author_followers IS NOT NULL
                        ORDER BY f.created_at DESC, f.mention_id DESC LIMIT 1),
                       COUNT(*), SUM(CASE WHEN m.label = 'positive' THEN 1 ELSE 0 END),
                       SUM(CASE WHEN m.label = 'negative' THEN 1 ELSE 0 END)
                FROM mentions m GROUP BY m.platform, m.author
                """
            )
        )
        rows = [tuple(r) for r in conn.execute(sa.text("SELECT * FROM authors")).all()]
        conn.rollback()
    return sorted(rows, key=repr)


def _kept_authors(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text("SELECT * FROM authors")).all()]
    return sorted(rows, key=repr)


def test_authors_kept_by_the_load_equal_a_full_recompute(warehouse_url: str, two_days) -> None:
    """Tonight's new posts are merged into authors; the result is the from-scratch one."""
    engine = make_engine(warehouse_url)
    for day in ("2026-11-02", "2026-11-01", "2026-11-02"):
        run_day(day, config=two_days, url=warehouse_url)
    assert _kept_authors(engine) == _authors_from_scratch(engine)


def test_a_corrected_rerun_recomputes_the_authors_whose_posts_changed(
    warehouse_url: str, tmp_path: Path
) -> None:
    """A rerun on corrected exports: a post's follower count, text (and so its label), time
    and author change. Those posts' authors are recomputed and equal the from-scratch rows;
    the author whose posts did not change is not recomputed (before, a rerun read the whole
    history of every author of the day)."""
    exports = tmp_path / "exports" / "2026-11-01"
    exports.mkdir(parents=True)

    def post(i: int, author: str, text: str, at: str, followers: int) -> dict:
        return {
            "platform": "mastodon",
            "id": str(i),
            "author": author,
            "text": text,
            "created_at": f"2026-11-01T{at}Z",
            "author_followers": followers,
        }

    unchanged = post(5, "eve", "Fine coffee", "13:00:00", 50)
    config = load_config(write_config(tmp_path / "c.yaml", tmp_path / "exports", tmp_path / "st"))
    engine = make_engine(warehouse_url)

    def run(*posts: dict) -> None:
        (exports / "a.jsonl").write_text("\n".join(json.dumps(p) for p in posts) + "\n")
        run_day("2026-11-01", config=config, url=warehouse_url)

    run(
        post(0, "ann", "I love this coffee", "08:00:00", 10),
        post(1, "ann", "I love this coffee", "09:00:00", 11),
        post(2, "bob", "Good coffee", "10:00:00", 20),
        post(3, "cat", "Nice cup", "11:00:00", 30),
        post(4, "dan", "Great beans", "12:00:00", 40),
        unchanged,
    )
    assert _kept_authors(engine) == _authors_from_scratch(engine)
    with engine.begin() as conn:  # a mark a recompute of eve would undo
        conn.execute(sa.text("UPDATE authors SET mentions = 7 WHERE author = 'eve'"))
    run(
        post(0, "ann", "I love this coffee", "08:00:00", 10),
        post(1, "ann", "I love this coffee", "09:00:00", 99),  # followers
        post(2, "bob", "I hate this awful coffee", "10:00:00", 20),  # label
        post(3, "cat", "Nice cup", "07:00:00", 30),  # time
        post(4, "ann", "Great beans", "12:00:00", 40),  # author: dan has no post left
        unchanged,
    )
    kept = {row[1]: row for row in _kept_authors(engine)}
    assert kept.pop("eve")[6] == 7
    assert list(kept.values()) == [r for r in _authors_from_scratch(engine) if r[1] != "eve"]
    assert sorted(kept) == ["ann", "bob", "cat"]
    assert kept["ann"][5:7] == (40, 3)  # latest followers (of its latest post), mentions
    assert kept["bob"][7:9] == (0, 1)  # positive, negative


def test_the_night_leaves_its_day_in_the_planner_statistics(pg_url: str, two_days) -> None:
    """The flag and mart steps read the day's mentions right after the load, and a rerun reads
    the day's flags: the planner must know their size (unanalyzed, a new day looks like a
    handful of rows, and large nights get row-by-row plans). Autovacuum does not analyze after
    one night of a warehouse of weeks."""
    engine = make_engine(pg_url)
    for day in ("2026-11-01", "2026-11-02"):
        run_day(day, config=two_days, url=pg_url)
        for table in ("mentions", "flags"):
            with engine.connect() as conn:
                actual = conn.execute(
                    sa.text(f"SELECT COUNT(*) FROM {table} WHERE day = :day"), {"day": day}
                ).scalar_one()
                plan = conn.execute(
                    sa.text(f"EXPLAIN (FORMAT JSON) SELECT * FROM {table} WHERE day = '{day}'")
                ).scalar_one()
            assert actual > 0, table
            assert plan[0]["Plan"]["Plan Rows"] == actual, table


def _mentions_of_day(
    conn: sa.Connection, first: int, last: int, day: str, author: str = "a", authors: int = 200
) -> None:
    """Mentions ``<author>first``..``<author>last`` on ``day``, by ``authors`` authors."""
    conn.execute(
        sa.text(
            "INSERT INTO mentions (platform, mention_id, day, author, created_at, text,"
            " is_brand, is_question, mentions_brand, compound, label, source)"
            " SELECT 'mastodon', :author || g, CAST(:day AS DATE), :author || (g % :authors),"
            " CAST(:day AS DATE) + make_interval(secs => g % 86400), 'post', false, false,"
            " true, 0.5, 'positive', 'test'"
            " FROM generate_series(CAST(:first AS INTEGER), CAST(:last AS INTEGER)) g"
        ),
        {"first": first, "last": last, "day": day, "author": author, "authors": authors},
    )


def _estimated_rows(conn: sa.Connection, day: str) -> float:
    plan = conn.execute(
        sa.text(f"EXPLAIN (FORMAT JSON) SELECT * FROM mentions WHERE day = '{day}'")
    ).scalar_one()
    return plan[0]["Plan"]["Plan Rows"]


def test_a_small_night_on_a_large_warehouse_refreshes_only_the_statistics_it_moves(
    pg_url: str,
) -> None:
    """A night that adds a few percent to a table samples only the columns a new day lies
    outside of, on a small sample: the planner then knows the night's size, and the other
    columns keep the statistics they had. A first night, or one that changes more than a tenth
    of the table, samples every column."""
    from sentiment_monitor.warehouse import refresh_statistics

    engine = make_engine(pg_url)
    ensure_schema(engine)
    author_stats = "SELECT n_distinct, most_common_vals::text FROM pg_stats WHERE tablename ="
    author_stats += " 'mentions' AND attname = 'author'"
    with engine.begin() as conn:
        _mentions_of_day(conn, 1, 30_000, "2026-11-01")
        assert refresh_statistics(conn, "mentions", 30_000) == "all"  # never analyzed
        authors_before = conn.execute(sa.text(author_stats)).one()
    with engine.begin() as conn:
        # 1,500 posts of a new day, 300 new authors: 5% of the table.
        _mentions_of_day(conn, 1, 1_500, "2026-11-02", author="new", authors=300)
        assert _estimated_rows(conn, "2026-11-02") < 150  # the day is unknown: a handful
        assert refresh_statistics(conn, "mentions", 1_500) == "night"
        assert 750 <= _estimated_rows(conn, "2026-11-02") <= 3_000
        assert conn.execute(sa.text(author_stats)).one() == authors_before
        assert conn.execute(sa.text("SHOW default_statistics_target")).scalar_one() == "100"
        # More than a tenth of the table: every column.
        _mentions_of_day(conn, 30_001, 36_000, "2026-11-03")
        assert refresh_statistics(conn, "mentions", 6_000) == "all"
        assert conn.execute(sa.text(author_stats)).one() != authors_before


def test_temporary_tables_take_a_smaller_sample_than_the_warehouses_tables(pg_url: str) -> None:
    """A step's temporary tables are analyzed on ``TEMP_STATISTICS_TARGET`` (a histogram of at
    most that many buckets); a warehouse table whose statistics the night refreshes in full
    keeps the server's default target, and the setting is back as it was after either."""
    from sentiment_monitor.warehouse import (
        TEMP_STATISTICS_TARGET,
        analyze,
        refresh_statistics,
        temp_table,
    )

    engine = make_engine(pg_url)
    ensure_schema(engine)
    buckets = (
        "SELECT array_length(CAST(CAST(histogram_bounds AS TEXT) AS TEXT[]), 1) - 1"
        " FROM pg_stats WHERE tablename = :table AND attname = :column"
    )
    with engine.begin() as conn:
        temp_table(conn, "t_keys", "k VARCHAR(32)")
        conn.exec_driver_sql("INSERT INTO t_keys SELECT 'k' || g FROM generate_series(1, 30000) g")
        analyze(conn, "t_keys")
        temp = conn.execute(sa.text(buckets), {"table": "t_keys", "column": "k"}).scalar_one()
        assert TEMP_STATISTICS_TARGET < 100
        assert temp == TEMP_STATISTICS_TARGET
        assert conn.execute(sa.text("SHOW default_statistics_target")).scalar_one() == "100"
        _mentions_of_day(conn, 1, 30_000, "2026-11-01")
        assert refresh_statistics(conn, "mentions", 30_000) == "all"
        full = conn.execute(
            sa.text(buckets), {"table": "mentions", "column": "mention_id"}
        ).scalar_one()
        assert full == 100
        assert conn.execute(sa.text("SHOW default_statistics_target")).scalar_one() == "100"


def test_staging_stores_every_value_as_it_was_scored(warehouse_url: str, tmp_path: Path) -> None:
    """The bulk path (binary COPY on PostgreSQL, rows on SQLite) keeps NULL apart from an empty
    string, text with the characters CSV and COPY give meaning to, the exact doubles, the
    microseconds and the day."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from sentiment_monitor.records import MENTION_COLUMNS, SCORED_SCHEMA
    from sentiment_monitor.warehouse import _create_stage, _stage_parts

    texts = ['quote " comma , tab \t', "line\nbreak\r\n\\N \\. back\\slash", "émoji 😤 ü", ""]
    rows = []
    for i, text in enumerate(texts):
        rows.append(
            {
                "platform": "bluesky" if i % 2 else "mastodon",
                "mention_id": f"at://did:plc:x/app.bsky.feed.post/{i}"
                if i % 2
                else str(10**17 + i),
                "day": "2026-11-10",
                "author": f"author{i}",
                "author_followers": [None, 0, 2**62, 7][i],
                "created_at": f"2026-11-0{i + 1} 23:59:5{i}.{123456 + i:06d}+00:00",
                "text": text,
                "lang": [None, "", "en", "pt-br"][i],
                "url": [None, "", "https://e.x/a?b=1,c", None][i],
                "in_reply_to_id": [None, "1", None, ""][i],
                "is_brand": i == 1,
                "is_question": i == 2,
                "mentions_brand": i != 3,
                "source": "bench",
                "compound": [0.1 + 0.2, -0.9999, None, 1e-17][i],
                "pos": [0.3, 0.0, None, 1.0][i],
                "neu": [0.7, 1.0, None, 0.0][i],
                "neg": [0.0, 0.0, None, 0.0][i],
                "label": ["positive", "negative", "unscored", "neutral"][i],
                "score_note": [None, "", "lang 'xx': VADER reads English only", None][i],
            }
        )
    part = tmp_path / "part.parquet"
    pq.write_table(pa.Table.from_pylist(rows, SCORED_SCHEMA), part)
    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    with engine.begin() as conn:
        _create_stage(conn, "staged", "mentions")  # as the load stages: like mentions
        _stage_parts(conn, "staged", MENTION_COLUMNS, [str(part)])
        stored = conn.execute(
            sa.text(f"SELECT {', '.join(MENTION_COLUMNS)} FROM staged ORDER BY author")
        ).all()
    assert len(stored) == len(rows)
    for got, want in zip(stored, rows, strict=True):
        got = dict(zip(MENTION_COLUMNS, got, strict=True))
        if isinstance(got["day"], dt.date):  # PostgreSQL's own types, back in the staged form
            got["day"] = got["day"].isoformat()
            got["created_at"] = got["created_at"].astimezone(dt.UTC).isoformat(" ")
        for flag in ("is_brand", "is_question", "mentions_brand"):
            got[flag] = bool(got[flag])
        assert got == want
