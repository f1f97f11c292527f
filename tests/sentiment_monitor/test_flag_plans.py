"""How much of ``flags`` the flag step reads, from PostgreSQL's own plans (auto_explain): the
night's probes must follow the night, whatever the planner makes of a table it has never
analyzed. Counted in rows, never timed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from sentiment_monitor.config import FlagRules
from sentiment_monitor.flags import flag_day
from sentiment_monitor.warehouse import ensure_schema, make_engine

DAY = "2026-11-10"


def _plans_of(engine: sa.Engine) -> list[dict[str, Any]]:
    """Collect the plan of every statement ``engine``'s connections run, with actual rows
    (auto_explain, sent to the client as notices)."""
    plans: list[dict[str, Any]] = []

    def on_notice(diagnostic: Any) -> None:
        message = diagnostic.message_primary or ""
        if "plan:" in message:
            plans.append(json.loads(message.split("plan:", 1)[1]))

    @sa.event.listens_for(engine, "connect")
    def explain_everything(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.add_notice_handler(on_notice)
        with dbapi_connection.cursor() as cursor:
            cursor.execute("LOAD 'auto_explain'")
            for setting, value in (
                ("auto_explain.log_min_duration", "0"),
                ("auto_explain.log_analyze", "on"),
                ("auto_explain.log_timing", "off"),
                ("auto_explain.log_nested_statements", "on"),
                ("auto_explain.log_format", "json"),
                ("auto_explain.log_level", "notice"),
            ):
                cursor.execute(f"SET {setting} = '{value}'")
        dbapi_connection.commit()

    return plans


def _rows_read(node: dict[str, Any], table: str) -> Iterator[int]:
    """Rows each scan of ``table`` in the plan tree read: returned or removed by a filter, in
    every loop."""
    if node.get("Relation Name") == table:
        per_loop = (
            node.get("Actual Rows", 0)
            + node.get("Rows Removed by Filter", 0)
            + node.get("Rows Removed by Index Recheck", 0)
        )
        yield int(per_loop * node.get("Actual Loops", 1))
    for child in node.get("Plans", []):
        yield from _rows_read(child, table)


@pytest.mark.parametrize("shards", [1, 2])
def test_a_first_night_reads_flags_in_proportion_to_its_flags(pg_url: str, shards: int) -> None:
    """A first night of 3,000 promoters (one platform, one kind: every flag shares the leading
    columns of ``flags_author``). The holders' UPDATE once probed ``flags_author`` on
    ``(platform, kind)`` alone, ``flags`` never analyzed: every group read every flag the
    night had inserted before it (4.5 million rows here; 5.5 s of the benchmark's 50,000-
    mention night)."""
    authors = 3000
    engine = make_engine(pg_url)
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                """
                INSERT INTO mentions (platform, mention_id, day, author, created_at, text,
                    is_brand, is_question, mentions_brand, compound, pos, neu, neg, label,
                    source)
                SELECT 'bluesky', 'at://did:plc:' || md5(g::text) || '/app.bsky.feed.post/' || g,
                       CAST(:day AS DATE), 'fan' || g,
                       CAST(:day AS TIMESTAMPTZ) + g * INTERVAL '1 second',
                       'I love this coffee', FALSE, FALSE, FALSE, 0.9, 0.6, 0.4, 0.0,
                       'positive', 'test'
                FROM generate_series(1, :authors) g
                """
            ),
            {"day": DAY, "authors": authors},
        )
        conn.exec_driver_sql("ANALYZE mentions")  # as the load leaves it
    engine.dispose()  # the flag step's connections are new, and explained
    plans = _plans_of(engine)
    result = flag_day(engine, DAY, FlagRules(), shards=shards)
    engine.dispose()
    assert result.raised["promoter"] == authors
    read = {" ".join(plan["Query Text"].split())[:120]: 0 for plan in plans}
    for plan in plans:
        read[" ".join(plan["Query Text"].split())[:120]] += sum(_rows_read(plan["Plan"], "flags"))
    assert len(read) > 20  # every statement of the step was explained
    # Each statement that looks flags up reads at most a few rows per flag of the night.
    assert max(read.values()) <= 4 * authors, read
