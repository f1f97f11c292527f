"""Whole nightly runs through Airflow (``dag.test()``) into real warehouses.

The committed fixture (tests/data/exports) holds two days with every kind of record: brand
posts, threads, answered and unanswered questions, promoters, a repeat detractor, a non-English
post, a boost, duplicates, a late reply and six malformed records. The counts below were worked
out by hand from that file, not read back from the code.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import DATA, write_config

pytestmark = pytest.mark.e2e

DAY1, DAY2 = "2026-11-01", "2026-11-02"


def run_nightly(dag, day: str, config: Path, warehouse: str, monkeypatch) -> str:
    """Run the DAG for UTC ``day``; return the run's final state."""
    from sentiment_monitor.cli import logical_date_for

    monkeypatch.setenv("SENTIMENT_CONFIG", str(config))
    monkeypatch.setenv("AIRFLOW_CONN_SENTIMENT_WAREHOUSE", warehouse)
    run = dag.test(logical_date=dt.datetime.fromisoformat(logical_date_for(day)))
    return str(run.state)


def counts(url: str) -> dict[str, int]:
    from sentiment_monitor.warehouse import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        return {
            table: conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in ("mentions", "flags", "rejects", "daily_sentiment", "load_audit")
        }


def test_two_days_exact_counts_and_rerun_identical(
    nightly, tmp_path: Path, warehouse_url: str, monkeypatch
) -> None:
    from sentiment_monitor.flags import set_status
    from sentiment_monitor.warehouse import make_engine, snapshot

    # Three mapped score tasks, each over a group of the 4-row parts.
    config = write_config(
        tmp_path / "config.yaml",
        DATA / "exports",
        tmp_path / "staging",
        scoring={"chunk_rows": 4, "task_groups": 3},
    )
    assert run_nightly(nightly, DAY1, config, warehouse_url, monkeypatch) == "success"
    # Day 1: 19 records = 11 mentions + 6 rejects + 2 duplicates (a boost, a repeated id).
    assert counts(warehouse_url) == {
        "mentions": 11,
        "flags": 4,  # promoters 1002 and j1, detractor 1003, carol's unanswered question 1004
        "rejects": 6,
        "daily_sentiment": 2,
        "load_audit": 1,
    }
    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        audit = conn.execute(
            sa.text("SELECT records_read, loaded, rejected, duplicates FROM load_audit")
        ).one()
        kinds = dict(conn.execute(sa.text("SELECT kind, COUNT(*) FROM flags GROUP BY kind")).all())
        reasons = {r[0] for r in conn.execute(sa.text("SELECT reason FROM rejects"))}
    assert tuple(audit) == (19, 11, 6, 2)
    assert kinds == {"promoter": 2, "detractor": 1, "question": 1}
    assert any("not valid JSON" in r for r in reasons)
    assert any("created_at is not a valid timestamp" in r for r in reasons)
    assert any("unknown platform 'myspace'" in r for r in reasons)

    # A community manager works the detractor; then day 2 arrives with the brand's answer to
    # carol, bob's second complaint, a late reply to day 1's thread and a re-export of 1003.
    assert set_status(engine, "mastodon", "1003", "detractor", status="resolved", note="refunded")
    assert run_nightly(nightly, DAY2, config, warehouse_url, monkeypatch) == "success"
    with engine.connect() as conn:
        flags = {
            (r.mention_id, r.kind): r.status
            for r in conn.execute(sa.text("SELECT mention_id, kind, status FROM flags"))
        }
        late = conn.execute(
            sa.text("SELECT thread_root_id FROM mentions WHERE mention_id = '2003'")
        ).scalar_one()
        answered = conn.execute(
            sa.text(
                "SELECT questions, questions_answered FROM daily_sentiment "
                "WHERE platform = 'mastodon' AND mentions > 0 ORDER BY day"
            )
        ).all()
    assert ("1004", "question") not in flags  # answered on day 2: withdrawn
    assert flags[("1003", "detractor")] == "resolved"
    assert flags[("2002", "detractor")] == "open"
    assert late == "1001"  # the late reply joined day 1's thread
    assert [tuple(r) for r in answered] == [(2, 2), (0, 0)]
    before = snapshot(engine)

    # Reruns of both days, in reverse order: nothing changes, the resolved flag stays resolved.
    assert run_nightly(nightly, DAY1, config, warehouse_url, monkeypatch) == "success"
    assert run_nightly(nightly, DAY2, config, warehouse_url, monkeypatch) == "success"
    assert snapshot(engine) == before
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT COUNT(*) FROM run_log")).scalar_one()
    assert runs == 4


def test_long_post_and_malformed_file(
    nightly, tmp_path: Path, sqlite_url: str, monkeypatch
) -> None:
    """A 200,000-character post and a file of malformed lines: the night succeeds."""
    import json

    day_dir = tmp_path / "exports" / DAY1
    day_dir.mkdir(parents=True)
    long_text = ("I love this coffee, but the queue was terrible. " * 4200)[:200_000]
    good = [
        {
            "platform": "mastodon",
            "id": "1",
            "author": "a",
            "text": "great coffee, thanks!",
            "created_at": "2026-11-01T10:00:00Z",
        },
        {
            "platform": "bluesky",
            "id": "at://x/app.bsky.feed.post/2",
            "author": "b.bsky.social",
            "text": long_text,
            "created_at": "2026-11-01T11:00:00+01:00",
        },
    ]
    (day_dir / "good.jsonl").write_text("\n".join(json.dumps(r) for r in good) + "\n")
    (day_dir / "broken.jsonl").write_text(
        '{"platform": "mastodon", "id": "3"\n'  # truncated JSON
        "\x00\x01garbage\n"
        '["a", "list"]\n'
        '{"platform": "mastodon", "id": "4", "author": "c", "created_at": "2026-11-01T25:00:00Z",'
        ' "text": "hour 25"}\n'
        '{"platform": "mastodon", "id": "5", "author": "d", "created_at": "2026-11-01T10:00:00",'
        ' "text": "no offset"}\n'
    )
    config = write_config(tmp_path / "config.yaml", tmp_path / "exports", tmp_path / "staging")
    assert run_nightly(nightly, DAY1, config, sqlite_url, monkeypatch) == "success"
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        mentions = conn.execute(
            sa.text("SELECT mention_id, length(text), label, score_note FROM mentions")
        ).all()
        rejects = conn.execute(sa.text("SELECT record_no, reason FROM rejects")).all()
    assert {m[0] for m in mentions} == {"1", "at://x/app.bsky.feed.post/2"}
    long_row = next(m for m in mentions if m[0].startswith("at://"))
    assert long_row[1] == 200_000 and long_row[2] != "unscored"
    assert len(rejects) == 5
    reasons = " | ".join(r[1] for r in rejects)
    assert "not valid JSON" in reasons and "not a JSON object" in reasons
    assert "no UTC offset" in reasons and "not a valid timestamp" in reasons


def test_bad_configuration_stops_the_run_naming_the_key(
    nightly, tmp_path: Path, sqlite_url: str, monkeypatch
) -> None:
    config = write_config(
        tmp_path / "config.yaml",
        DATA / "exports",
        tmp_path / "staging",
        flags={"detractor_max_compound": 0.3},
    )
    assert run_nightly(nightly, DAY1, config, sqlite_url, monkeypatch) == "failed"
    assert (
        not Path(sqlite_url.removeprefix("sqlite:///")).exists()
        or counts(sqlite_url)["mentions"] == 0
    )


def test_make_run_cli_reruns_leave_the_warehouse_unchanged(
    tmp_path: Path, airflow_db: None
) -> None:
    """``make run DATE=...`` is ``python -m sentiment_monitor.cli run-dag``: rerun it."""
    from sentiment_monitor.flags import set_status
    from sentiment_monitor.warehouse import make_engine, snapshot

    config = write_config(tmp_path / "config.yaml", DATA / "exports", tmp_path / "staging")
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    env = dict(os.environ, SENTIMENT_CONFIG=str(config), AIRFLOW_CONN_SENTIMENT_WAREHOUSE=url)
    command = [sys.executable, "-m", "sentiment_monitor.cli", "run-dag", DAY1]
    first = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    engine = make_engine(url)
    set_status(engine, "mastodon", "1002", "promoter", status="in_progress", assignee="sam")
    before = snapshot(engine)
    again = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert snapshot(engine) == before
    report = subprocess.run(
        [sys.executable, "-m", "sentiment_monitor.cli", "report", "--day", DAY1],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "19 read = 11 loaded + 6 rejected + 2 duplicates  [balanced]" in report
