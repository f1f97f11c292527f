"""Flags: the rules, the ranking, and statuses that belong to people."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from sentiment_monitor.config import FlagRules, load_config
from sentiment_monitor.flags import priority, set_status
from sentiment_monitor.pipeline import run_day
from sentiment_monitor.warehouse import make_engine
from tests.conftest import write_config

RULES = FlagRules()


def test_priority_weighs_severity_reach_and_repetition() -> None:
    single = priority(-0.7, 500, 1, RULES)
    third = priority(-0.7, 500, 3, RULES)
    assert third > single
    assert priority(-0.9, 500, 1, RULES) > priority(-0.6, 500, 1, RULES)
    assert priority(-0.7, 50_000, 1, RULES) > priority(-0.7, 50, 1, RULES)
    assert priority(-1.0, 10**9, 99, RULES) == 100
    assert priority(0.0, None, 1, RULES, age_days=7) == 0
    # Recency: the same complaint ranks lower as its latest post ages, down to 0 after a week.
    ages = [priority(-0.7, 500, 1, RULES, age_days=a) for a in range(9)]
    assert ages == sorted(ages, reverse=True) and ages[0] - ages[7] == 15 and ages[7] == ages[8]


def post(i: int, author: str, text: str, **extra: object) -> dict:
    return {
        "platform": "mastodon",
        "id": str(i),
        "author": author,
        "text": text,
        "created_at": f"2026-11-0{extra.pop('d', 1)}T1{i % 10}:00:00Z",
        "author_followers": 300,
        **extra,
    }


def write_day(root: Path, day: str, records: list[dict]) -> None:
    folder = root / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "x.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")


@pytest.fixture
def setup(tmp_path: Path, warehouse_url: str):
    config = load_config(write_config(tmp_path / "c.yaml", tmp_path / "exports", tmp_path / "st"))
    return tmp_path / "exports", config, warehouse_url


def flags(url: str) -> dict[tuple[str, str], dict]:
    with make_engine(url).connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM flags")).mappings().all()
    return {(r["mention_id"], r["kind"]): dict(r) for r in rows}


def test_third_complaint_outranks_a_single_one(setup) -> None:
    exports, config, url = setup
    write_day(
        exports, "2026-11-01", [post(1, "repeat", "@lumencoffee terrible, awful service", d=1)]
    )
    write_day(
        exports, "2026-11-02", [post(2, "repeat", "@lumencoffee still terrible and awful", d=2)]
    )
    write_day(
        exports,
        "2026-11-03",
        [
            post(3, "repeat", "@lumencoffee awful, terrible service again", d=3),
            post(4, "oneoff", "@lumencoffee awful, terrible service again", d=3),
        ],
    )
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        run_day(day, config=config, url=url)
    found = flags(url)
    assert found[("3", "detractor")]["priority"] > found[("4", "detractor")]["priority"]
    assert "3rd complaint in 7 days" in found[("3", "detractor")]["reason"]


def test_statuses_survive_reruns_and_answered_questions_drop_off(setup) -> None:
    exports, config, url = setup
    write_day(
        exports,
        "2026-11-01",
        [
            post(1, "q1", "@lumencoffee do you have oat milk?"),
            post(2, "q2", "@lumencoffee are you open on Sunday?"),
            post(3, "q3", "@lumencoffee is there wifi in the cafe?"),
            post(4, "fan", "@lumencoffee I love you, wonderful, amazing coffee!"),
            post(5, "lumencoffee", "@q3 yes, free wifi!", in_reply_to_id="3"),
            post(6, "nobody", "is it raining?"),  # a question, but not to the brand
            post(9, "hans", "@lumencoffee habt ihr Hafermilch?", lang="de"),  # unscored question
        ],
    )
    run_day("2026-11-01", config=config, url=url)
    found = flags(url)
    assert set(found) == {
        ("1", "question"),
        ("2", "question"),
        ("4", "promoter"),
        ("9", "question"),
    }
    assert found[("9", "question")]["compound"] is None
    engine = make_engine(url)
    assert set_status(engine, "mastodon", "2", "question", status="in_progress", assignee="sam")
    assert set_status(engine, "mastodon", "4", "promoter", status="resolved", note="thanked")
    assert not set_status(engine, "mastodon", "999", "promoter", status="resolved")
    with pytest.raises(ValueError, match="status must be one of"):
        set_status(engine, "mastodon", "4", "promoter", status="done")
    # The brand answers both questions the next day.
    write_day(
        exports,
        "2026-11-02",
        [
            post(7, "lumencoffee", "@q1 yes!", in_reply_to_id="1", d=2),
            post(8, "lumencoffee", "@q2 10 to 4", in_reply_to_id="2", d=2),
        ],
    )
    result = run_day("2026-11-02", config=config, url=url)
    assert result["flag"]["touched_days"] == ["2026-11-01", "2026-11-02"]
    run_day("2026-11-01", config=config, url=url)
    found = flags(url)
    assert ("1", "question") not in found  # untouched and answered: withdrawn
    assert found[("2", "question")]["status"] == "in_progress"  # a person holds it: kept
    assert found[("2", "question")]["assignee"] == "sam"
    assert found[("4", "promoter")]["status"] == "resolved"
    assert found[("4", "promoter")]["note"] == "thanked"
    assert found[("4", "promoter")]["status_changed_at"] is not None


def test_rank_sql_computes_what_python_does(warehouse_url: str) -> None:
    """The SQL of recency and priority gives, on both databases, exactly the doubles and ranks
    of :func:`recency` and :func:`priority`: the ageing, the shards and SQLite rank alike."""
    from sentiment_monitor.flags import (
        QUESTION_SEVERITY,
        RECENCY_DAYS,
        _params,
        _priority_sql,
        _recency_sql,
        recency,
    )
    from sentiment_monitor.warehouse import ensure_schema

    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    grid = [
        (kind, compound, followers, repeats, age)
        for kind in ("promoter", "question")
        for compound in (0.05, 0.5, 0.6125, 0.7003, 0.8475, 0.9999)
        for followers in (None, 0, 7, 1_234, 99_999)
        for repeats in (1, 2, 3, 5)
        for age in range(-1, RECENCY_DAYS + 2)
    ]
    with engine.begin() as conn:
        params = _params(conn, "2026-11-10", RULES)
        ref = dt.date.fromisoformat("2026-11-10")
        conn.exec_driver_sql(
            "CREATE TEMP TABLE a (kind VARCHAR(16), compound DOUBLE PRECISION,"
            " author_followers BIGINT, repeats INTEGER, latest_day DATE, n INTEGER)"
        )
        conn.execute(
            sa.text("INSERT INTO a VALUES (:kind, :compound, :followers, :repeats, :day, :n)"),
            [
                {
                    "kind": kind,
                    "compound": compound,
                    "followers": followers,
                    "repeats": repeats,
                    "day": (ref - dt.timedelta(days=age)).isoformat(),
                    "n": n,
                }
                for n, (kind, compound, followers, repeats, age) in enumerate(grid)
            ],
        )
        recency_sql = _recency_sql(conn, "a.latest_day")
        rows = conn.execute(
            sa.text(
                f"SELECT n, {recency_sql}, {_priority_sql('a', 'a.repeats', recency_sql)}"
                " FROM a ORDER BY n"
            ),
            params,
        ).all()
    assert len(rows) == len(grid)
    for (n, got_recency, got_priority), (kind, compound, followers, repeats, age) in zip(
        rows, grid, strict=True
    ):
        severity = QUESTION_SEVERITY if kind == "question" else compound
        assert (n, got_recency) == (n, recency(age))
        assert (n, got_priority) == (n, priority(severity, followers, repeats, RULES, age))
