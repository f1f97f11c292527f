"""Schema versions: migrations apply once each, in order, and upgrade a warehouse in place."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from sentiment_monitor.config import load_config
from sentiment_monitor.flags import set_status
from sentiment_monitor.marts import backfill_marts
from sentiment_monitor.pipeline import run_day
from sentiment_monitor.warehouse import (
    day_param,
    ensure_schema,
    latest_version,
    make_engine,
    migrations,
    render_sql,
    snapshot,
    timestamp_param,
)
from tests.conftest import DATA, write_config

#: The tables of release 0001 and the columns run_log had then.
V1_TABLES = ("mentions", "flags", "rejects", "load_audit", "daily_sentiment")
#: The columns of flags in release 0001, in order (later migrations add columns after them).
V1_FLAG_COLUMNS = (
    "platform",
    "mention_id",
    "kind",
    "day",
    "author",
    "created_at",
    "compound",
    "priority",
    "reason",
    "status",
    "assignee",
    "note",
    "status_changed_at",
)
V1_RUN_LOG = (
    "run_id",
    "day",
    "finished_at",
    "records_read",
    "loaded",
    "rejected",
    "duplicates",
    "durations",
)
#: The one view of release 0001, as it was.
V1_VIEW = """
CREATE VIEW open_flags AS
SELECT f.priority, f.kind, f.status, f.assignee, f.platform, f.author, m.author_followers,
       f.created_at, m.text, m.url, f.reason, f.note, f.mention_id, f.day
FROM flags f
JOIN mentions m ON m.platform = f.platform AND m.mention_id = f.mention_id
WHERE f.status IN ('open', 'in_progress')
"""


def versions(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT version FROM schema_version ORDER BY version"))
        return [r[0] for r in rows]


def test_migration_files_are_numbered_from_one() -> None:
    numbers = [v for v, _ in migrations()]
    assert numbers == list(range(1, len(numbers) + 1))
    assert migrations()[0][1] == "0001_initial.sql"


def test_each_migration_is_applied_once_and_recorded(warehouse_url: str) -> None:
    engine = make_engine(warehouse_url)
    assert ensure_schema(engine) == list(range(1, latest_version() + 1))
    assert ensure_schema(engine) == []
    assert versions(engine) == list(range(0, latest_version() + 1))  # 0: the views
    names = set(sa.inspect(engine).get_table_names())
    assert {"authors", "author_sentiment", "response_metrics", "schema_version"} <= names
    assert {"open_flags", "threads"} <= set(sa.inspect(engine).get_view_names())


def test_a_warehouse_from_before_schema_versions_is_adopted(warehouse_url: str) -> None:
    """Release 0001 made its tables without recording a version; 0001 must not fail on them."""
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:
        for statement in render_sql("migrations/0001_initial.sql", engine.dialect.name):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(V1_VIEW)
        conn.exec_driver_sql("DROP TABLE spike_alerts")  # the release before spike alerts
    assert ensure_schema(engine) == list(range(1, latest_version() + 1))
    assert "open_flags" in sa.inspect(engine).get_view_names()
    assert sa.inspect(engine).has_table("spike_alerts")


def _copy(source: sa.Engine, target: sa.Engine, table: str, columns: tuple[str, ...] | None) -> int:
    meta = sa.MetaData()
    reflected = sa.Table(table, meta, autoload_with=target)
    with source.connect() as conn:
        select = (
            f"SELECT {', '.join(columns)} FROM {table}" if columns else f"SELECT * FROM {table}"
        )
        rows = [dict(r) for r in conn.execute(sa.text(select)).mappings()]
    if rows:
        with target.begin() as conn:
            conn.execute(reflected.insert(), rows)
    return len(rows)


def test_upgrade_from_0001_keeps_every_row_and_status(
    warehouse_url: str, tmp_path: Path, more_warehouses: Callable[[], str]
) -> None:
    """A warehouse of release 0001 with two days and people's statuses, upgraded in place."""
    config = load_config(write_config(tmp_path / "c.yaml", DATA / "exports", tmp_path / "st"))
    # The rows a 0001 warehouse holds: loaded by this release into a scratch warehouse of the
    # same dialect, then copied into a warehouse built with migration 0001 only.
    scratch_url = warehouse_url
    old_url = more_warehouses()
    for day in ("2026-11-01", "2026-11-02"):
        run_day(day, config=config, url=scratch_url)
    scratch = make_engine(scratch_url)
    assert set_status(scratch, "mastodon", "1003", "detractor", status="resolved", note="refund")
    assert set_status(
        scratch, "mastodon", "2002", "detractor", status="in_progress", assignee="sam"
    )
    assert set_status(scratch, "mastodon", "1002", "promoter", status="dismissed")

    old = make_engine(old_url)
    assert ensure_schema(old, upto=1) == [1]
    with old.begin() as conn:
        conn.exec_driver_sql(V1_VIEW)
    assert not sa.inspect(old).has_table("authors")
    for table in V1_TABLES:
        assert _copy(scratch, old, table, V1_FLAG_COLUMNS if table == "flags" else None) > 0
    assert _copy(scratch, old, "run_log", V1_RUN_LOG) == 2
    before = snapshot(old, V1_TABLES)
    with old.connect() as conn:
        run_log_before = conn.execute(sa.text("SELECT * FROM run_log ORDER BY day")).all()

    assert ensure_schema(old) == list(range(2, latest_version() + 1))

    after = snapshot(old, V1_TABLES)
    # 0003 adds columns to flags: the 0001 columns of every row are unchanged.
    after["flags"] = [row[: len(V1_FLAG_COLUMNS)] for row in after["flags"]]
    assert after == before  # every row, every status, unchanged
    with old.connect() as conn:
        grouped = conn.execute(
            sa.text("SELECT COUNT(*) FROM flags WHERE posts = 1 AND latest_mention_id = mention_id")
        ).scalar_one()
    assert grouped == len(before["flags"])  # each 0001 flag holds its one post
    with old.connect() as conn:
        run_log_after = conn.execute(
            sa.text(f"SELECT {', '.join(V1_RUN_LOG)} FROM run_log ORDER BY day")
        ).all()
        statuses = dict(
            conn.execute(
                sa.text("SELECT mention_id, status FROM flags WHERE status <> 'open'")
            ).all()
        )
        view_statuses = dict(
            conn.execute(sa.text("SELECT mention_id, status FROM open_flags")).all()
        )
    assert [tuple(r) for r in run_log_after] == [tuple(r) for r in run_log_before]
    assert statuses == {"1003": "resolved", "2002": "in_progress", "1002": "dismissed"}
    assert view_statuses["2002"] == "in_progress" and "1003" not in view_statuses
    # The new tables are filled from the old rows: the same as this release loading the days.
    backfill_marts(old)
    new_tables = ("authors", "author_sentiment", "response_metrics")
    assert snapshot(old, new_tables) == snapshot(scratch, new_tables)
    assert snapshot(old)["authors"]
    # And the upgraded warehouse goes on: a rerun keeps the statuses.
    run_day("2026-11-02", config=config, url=old_url)
    with old.connect() as conn:
        kept = dict(
            conn.execute(
                sa.text("SELECT mention_id, status FROM flags WHERE status <> 'open'")
            ).all()
        )
    assert kept == statuses


def test_0007_gives_closed_flags_past_the_week_the_recency_they_now_age_to(
    warehouse_url: str,
) -> None:
    """Closed flags were frozen before 0007; every flag ages since. Those whose latest post is
    a week or more before the newest flag's get recency 0, as the nightly ageing would give
    them; open flags and the last week's are left to the next night."""
    engine = make_engine(warehouse_url)
    assert ensure_schema(engine, upto=6) == [1, 2, 3, 4, 5, 6]
    flags = [  # mention_id, status, latest day, recency
        ("old-closed", "resolved", "2026-11-01", 0.5),
        ("old-open", "open", "2026-11-01", 0.5),
        ("week-closed", "dismissed", "2026-11-05", 0.5),
        ("newest", "open", "2026-11-10", 1.0),
    ]
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO flags (platform, mention_id, kind, day, author, created_at,"
                " priority, reason, status, latest_day, recency)"
                " VALUES ('mastodon', :id, 'detractor', :day, 'a', :at, 50, 'r', :status,"
                " :day, :recency)"
            ),
            [
                {
                    "id": id_,
                    "status": status,
                    "day": day_param(conn, day),
                    "at": timestamp_param(conn),
                    "recency": recency,
                }
                for id_, status, day, recency in flags
            ],
        )
    assert ensure_schema(engine) == list(range(7, latest_version() + 1))
    with engine.connect() as conn:
        found = dict(conn.execute(sa.text("SELECT mention_id, recency FROM flags")).all())
        priorities = set(conn.execute(sa.text("SELECT priority FROM flags")).scalars())
    assert found == {"old-closed": 0, "old-open": 0.5, "week-closed": 0.5, "newest": 1.0}
    assert priorities == {50}


def test_0008_leaves_the_free_text_out_of_the_planner_statistics(pg_url: str) -> None:
    """ANALYZE, the nightly one and autovacuum's, samples the keys, days and scores, not the
    posts' texts, URLs and notes (nothing plans on them; sorting them cost every night)."""
    engine = make_engine(pg_url)
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO mentions (platform, mention_id, day, author, created_at, text,"
                " url, is_brand, is_question, mentions_brand, compound, label, source)"
                " SELECT 'mastodon', CAST(g AS VARCHAR), DATE '2026-11-10', 'a' || (g % 7),"
                " now(), repeat('word ', g % 40), 'https://e.x/' || g, false, false, true,"
                " 0.5, 'positive', 'test' FROM generate_series(1, 500) g"
            )
        )
        conn.exec_driver_sql("ANALYZE mentions")
        sampled = set(
            conn.execute(
                sa.text("SELECT attname FROM pg_stats WHERE tablename = 'mentions'")
            ).scalars()
        )
    assert {"platform", "mention_id", "day", "author", "compound", "label"} <= sampled
    assert not {"text", "url", "score_note"} & sampled
