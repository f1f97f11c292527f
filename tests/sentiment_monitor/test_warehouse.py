"""The warehouse on SQLite and PostgreSQL: URLs, schema, idempotent loads, threads, late data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from sentiment_monitor.config import load_config
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
