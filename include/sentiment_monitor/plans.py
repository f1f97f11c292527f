"""What each statement of a night reads, from PostgreSQL's own plans (``make plans``).

``python -m sentiment_monitor.plans --mentions 30000`` generates a few days of the sample
exports (:mod:`sentiment_monitor.sample`), runs the nights a warehouse meets - a first night,
the next, a rerun, the one after, and a backfill of the first - into a fresh PostgreSQL
database, and prints for each night the statements that read the most rows of the warehouse's
tables, counted in the plans' actual rows (auto_explain), never timed. A statement that reads a
table many times over, against the night's rows and the table's, is a plan gone quadratic: three
lookups of the flag step were fixed after this reading (``docs/benchmark.md``), and
``tests/sentiment_monitor/test_flag_plans.py`` keeps them out with :class:`PlanRecorder`.

Loading auto_explain into a session takes a superuser (or the library in
``session_preload_libraries``); every plan is sent to the client as a notice, and nothing goes
to the server's log.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

#: The warehouse's tables (the temporary tables of the steps are theirs to read).
WAREHOUSE_TABLES: tuple[str, ...] = (
    "mentions",
    "flags",
    "authors",
    "rejects",
    "load_audit",
    "daily_sentiment",
    "author_sentiment",
    "spike_alerts",
    "flag_history",
)

_SETTINGS: tuple[tuple[str, str], ...] = (
    ("log_min_duration", "0"),
    ("log_analyze", "on"),
    ("log_timing", "off"),
    ("log_nested_statements", "on"),
    ("log_format", "json"),
    ("log_level", "notice"),
)


class PlanRecorder:
    """Records the plan, with actual rows, of every statement run on connections that
    ``target`` (an Engine, or the Engine class for every engine) opens while it is active.

    Connections already in a pool are not explained: dispose of the engine first.
    """

    def __init__(self, target: sa.Engine | type[sa.Engine]) -> None:
        self.target = target
        self.plans: list[dict[str, Any]] = []

    def __enter__(self) -> PlanRecorder:
        sa.event.listen(self.target, "connect", self._explain)
        return self

    def __exit__(self, *_exc: object) -> None:
        sa.event.remove(self.target, "connect", self._explain)

    def _on_notice(self, diagnostic: Any) -> None:
        message = diagnostic.message_primary or ""
        if "plan:" in message:
            self.plans.append(json.loads(message.split("plan:", 1)[1]))

    def _explain(self, dbapi_connection: Any, _record: Any) -> None:
        if not hasattr(dbapi_connection, "add_notice_handler"):  # not psycopg: not explained
            return
        dbapi_connection.add_notice_handler(self._on_notice)
        with dbapi_connection.cursor() as cursor:
            cursor.execute("LOAD 'auto_explain'")
            for setting, value in _SETTINGS:
                cursor.execute(f"SET auto_explain.{setting} = '{value}'")
        dbapi_connection.commit()

    def rows_read(self, tables: Sequence[str] = WAREHOUSE_TABLES) -> dict[str, dict[str, int]]:
        """Per statement (its first 120 characters, whitespace folded), the rows it read of
        each of ``tables``, summed over the statement's runs."""
        read: dict[str, dict[str, int]] = {}
        for plan in self.plans:
            text = " ".join(plan["Query Text"].split())[:120]
            counts = read.setdefault(text, {})
            for table, rows in rows_read(plan["Plan"], tables):
                counts[table] = counts.get(table, 0) + rows
        return read


def rows_read(node: dict[str, Any], tables: Sequence[str]) -> Iterator[tuple[str, int]]:
    """``(table, rows)`` for each scan of one of ``tables`` in the plan tree: the rows it
    returned or removed by a filter, in every loop (EXPLAIN gives both per loop)."""
    table = node.get("Relation Name")
    if table in tables:
        per_loop = (
            node.get("Actual Rows", 0)
            + node.get("Rows Removed by Filter", 0)
            + node.get("Rows Removed by Index Recheck", 0)
        )
        yield table, int(per_loop * node.get("Actual Loops", 1))
    for child in node.get("Plans", []):
        yield from rows_read(child, tables)


def heaviest(read: dict[str, dict[str, int]], top: int) -> list[tuple[int, str, str]]:
    """The ``top`` largest ``(rows, table, statement)`` of :meth:`PlanRecorder.rows_read`."""
    ranked = [
        (rows, table, text) for text, tables in read.items() for table, rows in tables.items()
    ]
    return sorted(ranked, key=lambda item: item[0], reverse=True)[:top]


#: The nights run, in order: (label, day index among the generated days).
NIGHTS: tuple[tuple[str, int], ...] = (
    ("first night", 0),
    ("second night", 1),
    ("rerun of the second night", 1),
    ("third night", 2),
    ("backfill: the first night again", 0),
)


def main(argv: list[str] | None = None) -> int:
    from sentiment_monitor import bench, pipeline
    from sentiment_monitor.config import load_config
    from sentiment_monitor.warehouse import make_engine

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=30_000, help="mentions a day")
    parser.add_argument("--top", type=int, default=5, help="statements shown a night")
    parser.add_argument("--pg", default=bench.DEFAULT_PG, help="PostgreSQL server URL")
    parser.add_argument("--workdir", type=Path, help="keep the exports here (default: temp)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sentiment-plans-"))
    exports = workdir / "exports"
    start = "2026-11-08"
    if not exports.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sentiment_monitor.sample",
                *("--out", str(exports), "--mentions", str(args.mentions)),
                *("--days", "3", "--files", "2", "--start", start),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    days = sorted(p.name for p in exports.iterdir() if p.is_dir())
    config = load_config(bench.write_config(workdir / "plans.yaml", exports, workdir / "staging"))
    name = f"sentiment_plans_{os.getpid()}"
    url = bench.create_database(args.pg, name)
    engine = make_engine(url)  # for the warehouse's size after each night
    try:
        for label, index in NIGHTS:
            with PlanRecorder(sa.Engine) as recorder:
                pipeline.run_day(days[index], config=config, url=url)
            with engine.connect() as conn:
                sizes = {
                    table: conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                    for table in ("mentions", "flags")
                }
            print(
                f"== {label} ({days[index]}): {len(recorder.plans)} statements;"
                f" the warehouse after it: {sizes['mentions']:,} mentions,"
                f" {sizes['flags']:,} flags"
            )
            for rows, table, text in heaviest(recorder.rows_read(), args.top):
                print(f"  {rows:>12,} {table:<9} {text}")
    finally:
        engine.dispose()
        bench.drop_database(args.pg, name)
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
