"""Marts: the reporting tables analysts read, rebuilt for the days a run changed.

``daily_sentiment`` and ``author_sentiment`` come from ``sql/mart_*.sql``; ``response_metrics``
is built here in Python because its median time to the brand's first reply must come out the
same on SQLite and PostgreSQL, which share no median function or timestamp arithmetic. Each mart
is a pure function of the base tables for the days it covers, so rebuilding the days a run
touched (its own day, and the earlier days whose posts the brand answered that day) keeps the
marts right without ever rescanning the whole warehouse.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sentiment_monitor.warehouse import day_param, lock_warehouse, render_sql

#: Mart files, in the order they are built.
MART_FILES: tuple[str, ...] = ("mart_daily_sentiment.sql", "mart_author_sentiment.sql")

#: Every mart, SQL or Python, in the order they are built.
MARTS: tuple[str, ...] = ("daily_sentiment", "author_sentiment", "response_metrics")


def _days(statement: str) -> sa.TextClause:
    query = sa.text(statement)
    if ":days" in statement:
        query = query.bindparams(sa.bindparam("days", expanding=True))
    return query


def _timestamp(value: Any) -> dt.datetime:
    """A stored timestamp as an aware datetime (SQLite keeps ISO 8601 text)."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


@dataclass
class _Day:
    public_posts: int = 0
    questions: int = 0
    questions_answered: int = 0
    detractors: int = 0
    detractors_answered: int = 0
    waits: list[float] = field(default_factory=list)


def build_response_metrics(conn: Connection, days: Sequence[Any]) -> None:
    """Replace ``response_metrics`` for ``days`` (values in the dialect's day type).

    A question is a post asking something of the brand (as in daily_sentiment), a detractor post
    one with a detractor flag; answered means the brand replied to that very post. The median
    wait is over every public post of the day the brand answered, from the post to the brand's
    first reply, computed in Python so both databases give the same number.
    """
    rows = conn.execute(
        _days(
            """
            SELECT m.day, m.platform, m.created_at,
                   CASE WHEN m.is_question AND (m.mentions_brand OR EXISTS (
                            SELECT 1 FROM mentions p
                            WHERE p.platform = m.platform AND p.mention_id = m.in_reply_to_id
                              AND p.is_brand))
                        THEN 1 ELSE 0 END AS asks_brand,
                   CASE WHEN EXISTS (
                            SELECT 1 FROM flags f
                            WHERE f.platform = m.platform AND f.mention_id = m.mention_id
                              AND f.kind = 'detractor')
                        THEN 1 ELSE 0 END AS detractor,
                   (SELECT MIN(r.created_at) FROM mentions r
                    WHERE r.platform = m.platform AND r.in_reply_to_id = m.mention_id
                      AND r.is_brand) AS first_brand_reply_at
            FROM mentions m
            WHERE m.day IN :days AND NOT m.is_brand
            """
        ),
        {"days": list(days)},
    )
    per_day: dict[tuple[Any, str], _Day] = {}
    for day, platform, created_at, asks_brand, detractor, replied_at in rows:
        cell = per_day.setdefault((day, platform), _Day())
        answered = replied_at is not None
        cell.public_posts += 1
        cell.questions += int(asks_brand)
        cell.questions_answered += int(asks_brand and answered)
        cell.detractors += int(detractor)
        cell.detractors_answered += int(detractor and answered)
        if answered:
            seconds = (_timestamp(replied_at) - _timestamp(created_at)).total_seconds()
            # Clients set their own clocks (Bluesky's createdAt can lie): never a negative wait.
            cell.waits.append(max(0.0, seconds))
    conn.execute(_days("DELETE FROM response_metrics WHERE day IN :days"), {"days": list(days)})
    if not per_day:
        return
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
        [
            {
                "day": day,
                "platform": platform,
                "public_posts": c.public_posts,
                "answered_posts": len(c.waits),
                "questions": c.questions,
                "questions_answered": c.questions_answered,
                "questions_share": c.questions_answered / c.questions if c.questions else None,
                "detractors": c.detractors,
                "detractors_answered": c.detractors_answered,
                "detractors_share": (
                    c.detractors_answered / c.detractors if c.detractors else None
                ),
                "median": statistics.median(c.waits) if c.waits else None,
            }
            for (day, platform), c in sorted(per_day.items(), key=lambda item: str(item[0]))
        ],
    )


def build_marts(engine: Engine, days: Sequence[str]) -> dict[str, int]:
    """Rebuild every mart for ``days`` in one transaction; return rows per mart after the build."""
    if not days:
        return {}
    values = [day_param(engine, d) for d in sorted(set(days))]
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        # Two runs can touch the same earlier day (a rerun and a late answer): one at a time.
        lock_warehouse(conn)
        # Days a backfill changed behind their marts' back (see load_day) are rebuilt too.
        queued = [d for (d,) in conn.execute(sa.text("SELECT day FROM stale_mart_days"))]
        values = sorted(set(values) | set(queued))
        conn.execute(sa.text("DELETE FROM stale_mart_days"))
        for name in MART_FILES:
            for statement in render_sql(name, engine.dialect.name):
                conn.execute(_days(statement), {"days": values} if ":days" in statement else {})
        build_response_metrics(conn, values)
        for table in MARTS:
            counts[table] = conn.execute(
                _days(f"SELECT COUNT(*) FROM {table} WHERE day IN :days"), {"days": values}
            ).scalar_one()
    return counts


def backfill_marts(engine: Engine) -> dict[str, int]:
    """Rebuild every mart for every loaded day (after an upgrade adds a mart; one full scan)."""
    with engine.connect() as conn:
        days = [str(d) for (d,) in conn.execute(sa.text("SELECT day FROM load_audit"))]
    return build_marts(engine, days)
