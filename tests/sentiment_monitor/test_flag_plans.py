"""How much of ``flags`` the flag step reads, from PostgreSQL's own plans (auto_explain, through
``plans.PlanRecorder``): the night's probes must follow the night, whatever the planner makes of
statistics that do not know the night yet. Counted in rows, never timed. Also ``make plans``,
the report built on the same recorder."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sentiment_monitor.config import FlagRules
from sentiment_monitor.flags import flag_day
from sentiment_monitor.plans import NIGHTS, PlanRecorder, heaviest, main, rows_read
from sentiment_monitor.warehouse import ensure_schema, make_engine

AUTHORS = 3000


def _promoters(
    engine: sa.Engine, day: str, authors: int, prefix: str = "", author: str | None = None
) -> None:
    """One promoter post per Bluesky author (long ``at://`` ids, as the benchmark's) on ``day``,
    for ``fan1`` to ``fan<authors>`` (or ``authors`` posts, each its own thread, by ``author``);
    the mentions analyzed, as the load leaves them."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                """
                INSERT INTO mentions (platform, mention_id, day, author, created_at, text,
                    is_brand, is_question, mentions_brand, compound, pos, neu, neg, label,
                    source)
                SELECT 'bluesky',
                       'at://did:plc:' || md5(:prefix || g) || '/app.bsky.feed.post/' || g,
                       CAST(:day AS DATE), COALESCE(:author, 'fan' || g),
                       CAST(:day AS TIMESTAMPTZ) + g * INTERVAL '1 second',
                       'I love this coffee', FALSE, FALSE, FALSE, 0.9, 0.6, 0.4, 0.0,
                       'positive', 'test'
                FROM generate_series(1, :authors) g
                """
            ),
            {"day": day, "authors": authors, "prefix": prefix + day, "author": author},
        )
        conn.exec_driver_sql("ANALYZE mentions")


def _flag_and_count(url: str, day: str, shards: int) -> tuple[int, dict[str, int]]:
    """Run the flag step for ``day`` on new, explained connections; return the promoters it
    raised and the rows of ``flags`` each statement read."""
    engine = make_engine(url)
    with PlanRecorder(engine) as recorder:
        result = flag_day(engine, day, FlagRules(), shards=shards)
    engine.dispose()
    read = {text: tables.get("flags", 0) for text, tables in recorder.rows_read().items()}
    assert len(read) > 20  # every statement of the step was explained
    return result.raised["promoter"], read


@pytest.mark.parametrize("shards", [1, 2])
def test_a_first_night_reads_flags_in_proportion_to_its_flags(pg_url: str, shards: int) -> None:
    """A first night of 3,000 promoters (one platform, one kind). The holders' UPDATE once
    probed the author index of then, ``(platform, author, kind)``, on ``(platform, kind)``
    alone, ``flags`` never analyzed: every group read every flag the night had inserted before
    it (9 million rows here; 5.5 s of the benchmark's 50,000-mention night)."""
    engine = make_engine(pg_url)
    ensure_schema(engine)
    _promoters(engine, "2026-11-10", AUTHORS)
    engine.dispose()
    raised, read = _flag_and_count(pg_url, "2026-11-10", shards)
    assert raised == AUTHORS
    # Each statement that looks flags up reads at most a few rows per flag of the night.
    assert max(read.values()) <= 4 * AUTHORS, read


def test_flags_past_the_statistics_do_not_drive_the_authors_probes(pg_url: str) -> None:
    """Flags whose ``latest_day`` is past every day the statistics of ``flags`` know: a later
    night's, when a day is backfilled, or tonight's from the shard that committed first (the
    shards commit one by one). The probe for each author's other open flags read the range of
    ``flags_latest`` from tonight on for every author, filtering by author: every such flag
    each time (9 million rows here; 11.4 million on the third night of a 30,000-mention day)."""
    engine = make_engine(pg_url)
    ensure_schema(engine)
    _promoters(engine, "2026-11-08", 10, prefix="earlier")
    engine.dispose()
    assert _flag_and_count(pg_url, "2026-11-08", 1)[0] == 10  # flags analyzed after
    engine = make_engine(pg_url)
    with engine.begin() as conn:  # the next day's flags, of other authors
        conn.execute(
            sa.text(
                """
                INSERT INTO flags (platform, mention_id, kind, day, author, created_at,
                    compound, priority, reason, status, thread_root_id, posts,
                    latest_mention_id, latest_at, latest_day, repeats, recency)
                SELECT 'bluesky', 'later' || g, 'promoter', CAST(:day AS DATE), 'later' || g,
                       CAST(:day AS TIMESTAMPTZ), 0.9, 50, 'promoter', 'open', 'later' || g,
                       1, 'later' || g, CAST(:day AS TIMESTAMPTZ), CAST(:day AS DATE), 1, 1.0
                FROM generate_series(1, :authors) g
                """
            ),
            {"day": "2026-11-11", "authors": AUTHORS},
        )
    _promoters(engine, "2026-11-10", AUTHORS)
    engine.dispose()
    raised, read = _flag_and_count(pg_url, "2026-11-10", 1)
    assert raised == AUTHORS
    assert max(read.values()) <= 4 * AUTHORS, read


def _superfan_flagged(pg_url: str, shards: int) -> sa.Engine:
    """3,000 authors with one promoter flag each and ``superfan`` with 1,000, one a thread,
    raised on 2026-11-09 in ``shards`` shards; a new engine on the warehouse."""
    engine = make_engine(pg_url)
    ensure_schema(engine)
    _promoters(engine, "2026-11-09", AUTHORS)
    _promoters(engine, "2026-11-09", 1000, prefix="before", author="superfan")
    engine.dispose()
    assert _flag_and_count(pg_url, "2026-11-09", shards)[0] == AUTHORS + 1000
    return make_engine(pg_url)


def test_an_authors_last_closed_flag_is_one_entry_however_many_flags_they_have(
    pg_url: str,
) -> None:
    """An author with 1,000 flags, half closed by people, among 3,000 authors with one each
    posts in 1,000 new threads; each new group follows the author's last closed flag of its
    kind. That lookup went through ``(platform, author, kind)`` and read all of the author's
    flags for each group (a million rows here, more every night the author is active); the
    closed flags' own index (migration 0009) gives it in one entry each."""
    engine = _superfan_flagged(pg_url, shards=2)
    with engine.begin() as conn:  # people closed the first half
        conn.exec_driver_sql(
            "UPDATE flags SET status = 'resolved'"
            " WHERE author = 'superfan' AND latest_at < '2026-11-09 00:08:20+00'"
        )
    _promoters(engine, "2026-11-10", 1000, prefix="tonight", author="superfan")
    engine.dispose()
    raised, read = _flag_and_count(pg_url, "2026-11-10", 2)
    assert raised == 1000
    (previous,) = [rows for text, rows in read.items() if "SET previous_id" in text]
    assert previous <= 2 * 1000, read
    with engine.connect() as conn:  # each new flag follows the last closed one
        follows = conn.execute(
            sa.text(
                "SELECT COUNT(DISTINCT previous_mention_id), COUNT(*) FROM flags"
                " WHERE day = '2026-11-10'"
            )
        ).one()
    engine.dispose()
    assert follows == (1, 1000)


def test_a_prolific_authors_threads_are_looked_up_one_group_at_a_time(pg_url: str) -> None:
    """An author with a flag in each of 1,000 threads (people closed half, took on a quarter,
    left a quarter untouched) posts again in every one of them. For each thread the night
    looks up the open flag that holds the posts, the untouched flags to recompute and the
    closed flags whose posts are frozen. Through ``(platform, author, kind)`` each lookup read
    every flag of the author: a million rows a statement here, more every night the author is
    active. With the thread in the author's index (migration 0010) each reads its group."""
    engine = _superfan_flagged(pg_url, shards=1)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE flags SET status = CASE WHEN latest_at < '2026-11-09 00:08:21+00'"
            " THEN 'resolved' ELSE 'in_progress' END, assignee = 'sam'"
            " WHERE author = 'superfan' AND latest_at < '2026-11-09 00:12:31+00'"
        )
        conn.execute(  # tonight: one more promoter post by the author in each thread
            sa.text(
                """
                INSERT INTO mentions (platform, mention_id, day, author, created_at, text,
                    in_reply_to_id, thread_root_id, is_brand, is_question, mentions_brand,
                    compound, pos, neu, neg, label, source)
                SELECT 'bluesky', root || '/again', CAST(:day AS DATE), 'superfan',
                       CAST(:day AS TIMESTAMPTZ) + g * INTERVAL '1 second',
                       'Still love this coffee', root, root, FALSE, FALSE, FALSE, 0.9, 0.6,
                       0.4, 0.0, 'positive', 'test'
                FROM (SELECT g, 'at://did:plc:' || md5('before2026-11-09' || g)
                                || '/app.bsky.feed.post/' || g AS root
                      FROM generate_series(1, 1000) g) r
                """
            ),
            {"day": "2026-11-10"},
        )
        conn.exec_driver_sql("ANALYZE mentions")
        counts = conn.execute(
            sa.text(
                "SELECT status, COUNT(*) FROM flags WHERE author = 'superfan'"
                " GROUP BY status ORDER BY status"
            )
        ).all()
    engine.dispose()
    assert counts == [("in_progress", 250), ("open", 250), ("resolved", 500)]
    read = _flag_and_count(pg_url, "2026-11-10", 1)[1]
    with engine.connect() as conn:
        after = conn.execute(
            sa.text(
                "SELECT status, posts, COUNT(*) FROM flags WHERE author = 'superfan'"
                " GROUP BY status, posts ORDER BY status, posts"
            )
        ).all()
    engine.dispose()
    # The open flags hold their thread's new post; after a resolved one, it starts a new flag.
    assert after == [
        ("in_progress", 2, 250),
        ("open", 1, 500),
        ("open", 2, 250),
        ("resolved", 1, 500),
    ]
    lookups = {
        "holder": "SET holder_id",
        "untouched": "INSERT INTO fl_drop",
        "frozen": "DELETE FROM fl_posts",
    }
    for name, marker in lookups.items():
        (rows,) = [rows for text, rows in read.items() if marker in text]
        # A few rows a group, or (the planner's choice on a table this small) all of it once.
        assert rows <= AUTHORS + 2 * 1000, (name, rows)


def test_rows_read_counts_every_loop_and_every_filtered_row() -> None:
    """A probe run 3,000 times that returns nothing but filters 1,500 rows each time read 4.5
    million rows; tables not asked for are not counted."""
    plan = {
        "Node Type": "Nested Loop",
        "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "fl_groups", "Actual Rows": 3000},
            {
                "Node Type": "Index Scan",
                "Relation Name": "flags",
                "Actual Rows": 0,
                "Rows Removed by Filter": 1500,
                "Actual Loops": 3000,
            },
            {
                "Node Type": "Bitmap Heap Scan",
                "Relation Name": "mentions",
                "Actual Rows": 10,
                "Rows Removed by Index Recheck": 5,
                "Actual Loops": 2,
            },
        ],
    }
    assert list(rows_read(plan, ("flags", "mentions"))) == [("flags", 4_500_000), ("mentions", 30)]
    read = {"UPDATE flags": {"flags": 4_500_000}, "INSERT INTO x": {"mentions": 30, "flags": 7}}
    assert heaviest(read, 2) == [
        (4_500_000, "flags", "UPDATE flags"),
        (30, "mentions", "INSERT INTO x"),
    ]


def test_make_plans_reports_the_heaviest_statements_of_five_nights(
    pg_url: str, tmp_path, capsys
) -> None:
    """``make plans`` on a small day: five nights, each with its statements that read the most
    of the warehouse, and its database dropped afterwards."""
    server = pg_url.rsplit("/", 1)[0].replace("+psycopg", "")
    assert (
        main(["--mentions", "1500", "--top", "2", "--pg", server, "--workdir", str(tmp_path)]) == 0
    )
    out = capsys.readouterr().out
    nights = [line for line in out.splitlines() if line.startswith("== ")]
    assert [line.split(" (")[0] for line in nights] == [f"== {label}" for label, _ in NIGHTS]
    assert "the warehouse after it: " in nights[-1]
    heaviest_lines = [line for line in out.splitlines() if line.startswith("  ")]
    assert len(heaviest_lines) == 2 * len(NIGHTS)
    assert all(int(line.split()[0].replace(",", "")) > 0 for line in heaviest_lines)
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        left = conn.execute(
            sa.text("SELECT COUNT(*) FROM pg_database WHERE datname LIKE 'sentiment_plans_%'")
        ).scalar_one()
    engine.dispose()
    assert left == 0
