"""Marts: the reporting tables analysts read, rebuilt from ``sql/mart_*.sql`` for changed days.

Each mart is a pure function of the base tables for the days it covers, so rebuilding the days a
run touched (its own day, and the earlier days whose questions the brand answered that day)
keeps the marts right without ever rescanning the whole warehouse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sentiment_monitor.warehouse import render_sql

#: Mart files, in the order they are built.
MART_FILES: tuple[str, ...] = ("mart_daily_sentiment.sql",)


def build_marts(engine: Engine, days: Sequence[str]) -> dict[str, int]:
    """Rebuild every mart for ``days`` in one transaction; return rows per mart after the build."""
    if not days:
        return {}
    pg = engine.dialect.name == "postgresql"
    values = [dt.date.fromisoformat(d) if pg else d for d in sorted(set(days))]
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for name in MART_FILES:
            for statement in render_sql(name, engine.dialect.name):
                query = sa.text(statement)
                if ":days" in statement:
                    query = query.bindparams(sa.bindparam("days", expanding=True))
                conn.execute(query, {"days": values} if ":days" in statement else {})
            table = name.removeprefix("mart_").removesuffix(".sql")
            counts[table] = conn.execute(
                sa.text(f"SELECT COUNT(*) FROM {table} WHERE day IN :days").bindparams(
                    sa.bindparam("days", expanding=True)
                ),
                {"days": values},
            ).scalar_one()
    return counts
