"""Marts: the reporting tables analysts read, rebuilt for the days a run changed.

The days' mentions are read once into a temporary ``mart_posts`` (``sql/mart_posts.sql``);
``daily_sentiment`` and ``author_sentiment`` are aggregates of it (``sql/mart_*.sql``);
``response_metrics`` sums its counts in SQL and takes its median time to the brand's first reply
in Python over the answered posts only, because it must come out the same on SQLite and
PostgreSQL, which share no median function or timestamp arithmetic. Each mart
is a pure function of the base tables for the days it covers, so rebuilding the days a run
touched (its own day, and the earlier days whose posts the brand answered that day) keeps the
marts right without ever rescanning the whole warehouse.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sentiment_monitor.config import FlagRules
from sentiment_monitor.records import PLATFORMS
from sentiment_monitor.warehouse import (
    analyze,
    day_param,
    lock_warehouse,
    parallel_connections,
    render_sql,
    side_by_side,
    temp_table,
    tune,
)

#: The detractor rule's default threshold (``flags.detractor_max_compound``).
DETRACTOR_MAX_COMPOUND: float = FlagRules.model_fields["detractor_max_compound"].default

#: The days' posts with their lookups, read by every mart (``mart_posts``, temporary).
MART_POSTS_FILE = "mart_posts.sql"
#: Mart files, in the order they are built.
MART_FILES: tuple[str, ...] = ("mart_daily_sentiment.sql", "mart_author_sentiment.sql")

#: Every mart, SQL or Python, in the order they are built.
MARTS: tuple[str, ...] = ("daily_sentiment", "author_sentiment", "response_metrics")


def _lists(statement: str) -> sa.TextClause:
    """``statement`` with ``:days`` and ``:platforms`` bound as expanding lists."""
    query = sa.text(statement)
    for name in ("days", "platforms"):
        if f":{name}" in statement:
            query = query.bindparams(sa.bindparam(name, expanding=True))
    return query


def _params(statement: str, **values: Any) -> dict[str, Any]:
    """The ``values`` the statement names (``:name``)."""
    return {name: value for name, value in values.items() if f":{name}" in statement}


def _timestamp(value: Any) -> dt.datetime:
    """A stored timestamp as an aware datetime (SQLite keeps ISO 8601 text)."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def stage_posts(
    conn: Connection,
    days: Sequence[Any],
    detractor_max_compound: float = DETRACTOR_MAX_COMPOUND,
    platforms: Sequence[str] = PLATFORMS,
) -> None:
    """Fill the temporary ``mart_posts`` with the days' mentions of ``platforms``
    (``sql/mart_posts.sql``)."""
    temp_table(
        conn,
        "mart_posts",
        "day {date_type}, platform VARCHAR(32), author VARCHAR(512), is_brand INTEGER,"
        " label VARCHAR(16), compound DOUBLE PRECISION, created_at {timestamp_type},"
        " asks_brand INTEGER, detractor INTEGER, first_brand_reply_at {timestamp_type}",
    )
    for statement in render_sql(MART_POSTS_FILE, conn.dialect.name):
        conn.execute(
            _lists(statement),
            {
                "days": list(days),
                "platforms": list(platforms),
                "detractor_max": detractor_max_compound,
            },
        )
    analyze(conn, "mart_posts")


def build_response_metrics(
    conn: Connection, days: Sequence[Any], platforms: Sequence[str] = PLATFORMS
) -> None:
    """Replace ``response_metrics`` for ``days`` (values in the dialect's day type) and
    ``platforms``.

    A question is a post asking something of the brand (as in daily_sentiment), a detractor post
    one at or below the detractor rule's compound; answered means the brand replied to that very
    post. The median wait is over every public post of the day the brand answered, from the post
    to the brand's first reply, computed in Python so both databases give the same number: only
    the answered posts travel, the counts are summed in SQL. Reads ``mart_posts`` (see
    :func:`stage_posts`).
    """
    counts = conn.execute(
        sa.text(
            """
            SELECT day, platform, COUNT(*),
                   SUM(asks_brand),
                   SUM(CASE WHEN asks_brand = 1 AND first_brand_reply_at IS NOT NULL
                            THEN 1 ELSE 0 END),
                   SUM(detractor),
                   SUM(CASE WHEN detractor = 1 AND first_brand_reply_at IS NOT NULL
                            THEN 1 ELSE 0 END)
            FROM mart_posts WHERE is_brand = 0
            GROUP BY day, platform
            """
        )
    ).all()
    waits: dict[tuple[Any, str], list[float]] = {}
    answered = conn.execute(
        sa.text(
            "SELECT day, platform, created_at, first_brand_reply_at FROM mart_posts"
            " WHERE is_brand = 0 AND first_brand_reply_at IS NOT NULL"
        )
    )
    for day, platform, created_at, replied_at in answered:
        seconds = (_timestamp(replied_at) - _timestamp(created_at)).total_seconds()
        # Clients set their own clocks (Bluesky's createdAt can lie): never a negative wait.
        waits.setdefault((day, platform), []).append(max(0.0, seconds))
    conn.execute(
        _lists("DELETE FROM response_metrics WHERE day IN :days AND platform IN :platforms"),
        {"days": list(days), "platforms": list(platforms)},
    )
    if not counts:
        return
    rows = []
    for day, platform, posts, questions, q_answered, detractors, d_answered in sorted(
        counts, key=lambda row: (str(row[0]), row[1])
    ):
        cell = waits.get((day, platform), [])
        questions, q_answered = int(questions or 0), int(q_answered or 0)
        detractors, d_answered = int(detractors or 0), int(d_answered or 0)
        rows.append(
            {
                "day": day,
                "platform": platform,
                "public_posts": int(posts),
                "answered_posts": len(cell),
                "questions": questions,
                "questions_answered": q_answered,
                "questions_share": q_answered / questions if questions else None,
                "detractors": detractors,
                "detractors_answered": d_answered,
                "detractors_share": d_answered / detractors if detractors else None,
                "median": statistics.median(cell) if cell else None,
            }
        )
    conn.execute(
        sa.text(
            """
            INSERT INTO response_metrics (day, platform, public_posts, answered_posts, questions,
                questions_answered, questions_answered_share, detractor_posts,
                detractors_answered, detractors_answered_share, median_first_reply_seconds)
            VALUES (:day, :platform, :public_posts, :answered_posts, :questions,
                :questions_answered, :questions_share, :detractors, :detractors_answered,
                :detractors_share, :median)
            """
        ),
        rows,
    )


def build_marts(
    engine: Engine,
    days: Sequence[str],
    detractor_max_compound: float = DETRACTOR_MAX_COMPOUND,
) -> dict[str, int]:
    """Rebuild every mart for ``days``; return rows per mart after the build.

    A detractor post is a public post scoring at most ``detractor_max_compound`` (the flag
    rule's threshold, ``flags.detractor_max_compound``), whether or not a flag holds it as its key.

    The days' mentions are read once, into ``mart_posts`` with each post's lookups (question
    to the brand, detractor flag, the brand's first reply) done by index probes; the three
    marts are aggregates of that table. Nothing outside the days' rows and their probes is read.

    Every mart row belongs to one platform, so on PostgreSQL the platforms are built side by
    side (``platform_groups``), each group on its own connection and in its own transaction,
    while this transaction holds the warehouse lock (no load or flag step runs meanwhile) and
    takes the queued stale days off only if every group succeeded. SQLite builds all in one.
    """
    if not days:
        return {}
    values = [day_param(engine, d) for d in sorted(set(days))]
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        # Two runs can touch the same earlier day (a rerun and a late answer): one at a time.
        lock_warehouse(conn)
        tune(conn)
        # Days a backfill changed behind their marts' back (see load_day) are rebuilt too.
        queued = [d for (d,) in conn.execute(sa.text("SELECT day FROM stale_mart_days"))]
        values = sorted(set(values) | set(queued))
        conn.execute(sa.text("DELETE FROM stale_mart_days"))
        groups = platform_groups(parallel_connections(engine))
        if len(groups) == 1:
            _build(conn, values, detractor_max_compound, groups[0])
        else:
            with side_by_side(
                engine,
                lambda group_conn, group: _build(group_conn, values, detractor_max_compound, group),
                groups,
            ) as futures:
                for future in futures:
                    future.result()
        for table in MARTS:
            counts[table] = conn.execute(
                _lists(f"SELECT COUNT(*) FROM {table} WHERE day IN :days"), {"days": values}
            ).scalar_one()
    return counts


def platform_groups(count: int) -> list[tuple[str, ...]]:
    """Every platform, dealt into at most ``count`` groups built side by side."""
    count = max(1, min(count, len(PLATFORMS)))
    return [PLATFORMS[index::count] for index in range(count)]


def _build(
    conn: Connection, days: Sequence[Any], detractor_max_compound: float, platforms: Sequence[str]
) -> None:
    """Every mart for ``days`` and ``platforms``, from a fresh ``mart_posts``."""
    stage_posts(conn, days, detractor_max_compound, platforms)
    for name in MART_FILES:
        for statement in render_sql(name, conn.dialect.name):
            conn.execute(
                _lists(statement), _params(statement, days=days, platforms=list(platforms))
            )
    build_response_metrics(conn, days, platforms)


def backfill_marts(
    engine: Engine, detractor_max_compound: float = DETRACTOR_MAX_COMPOUND
) -> dict[str, int]:
    """Rebuild every mart for every loaded day (after an upgrade adds a mart; one full scan)."""
    with engine.connect() as conn:
        days = [str(d) for (d,) in conn.execute(sa.text("SELECT day FROM load_audit"))]
    return build_marts(engine, days, detractor_max_compound)
