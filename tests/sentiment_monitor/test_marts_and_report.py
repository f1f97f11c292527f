"""daily_sentiment values on the fixture, worked out by hand, and the report around them."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from sentiment_monitor.config import load_config
from sentiment_monitor.marts import build_marts
from sentiment_monitor.pipeline import run_day
from sentiment_monitor.report import build_report
from sentiment_monitor.warehouse import make_engine
from tests.conftest import DATA, write_config


@pytest.fixture
def loaded(tmp_path: Path, warehouse_url: str) -> str:
    config = load_config(write_config(tmp_path / "c.yaml", DATA / "exports", tmp_path / "st"))
    run_day("2026-11-01", config=config, url=warehouse_url)
    return warehouse_url


def test_daily_sentiment_on_the_fixture(loaded: str) -> None:
    with make_engine(loaded).connect() as conn:
        rows = {
            r["platform"]: dict(r)
            for r in conn.execute(sa.text("SELECT * FROM daily_sentiment")).mappings()
        }
    mastodon = rows["mastodon"]
    # Public posts: 1002 1003 1004 1005 1007 1011; brand: 1001 1006. 1007 is German: unscored.
    assert mastodon["mentions"] == 6 and mastodon["brand_posts"] == 2
    assert mastodon["scored"] == 5 and mastodon["unscored"] == 1
    assert mastodon["positive"] + mastodon["neutral"] + mastodon["negative"] == 5
    assert mastodon["net_sentiment"] == pytest.approx(
        (mastodon["positive"] - mastodon["negative"]) / 5
    )
    # Questions to the brand: 1004 (carol) and 1005 (dave, answered by 1006).
    assert (mastodon["questions"], mastodon["questions_answered"]) == (2, 1)
    assert mastodon["answered_share"] == pytest.approx(0.5)
    bluesky = rows["bluesky"]
    assert (bluesky["mentions"], bluesky["brand_posts"], bluesky["flags_raised"]) == (2, 1, 1)


def test_marts_rebuild_is_stable(loaded: str) -> None:
    engine = make_engine(loaded)
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT * FROM daily_sentiment ORDER BY platform")).all()
    assert build_marts(engine, ["2026-11-01", "2026-11-01"]) == {
        "daily_sentiment": 2,
        "author_sentiment": 8,
        "response_metrics": 2,
    }
    assert build_marts(engine, []) == {}
    with engine.connect() as conn:
        after = conn.execute(sa.text("SELECT * FROM daily_sentiment ORDER BY platform")).all()
    assert before == after


def test_report_shows_counts_flags_and_rejects(loaded: str) -> None:
    text = build_report(make_engine(loaded))
    assert "19 read = 11 loaded + 6 rejected + 2 duplicates  [balanced]" in text
    assert "Top 10 open flags" in text and "detractor" in text and "question" in text
    assert "not valid JSON" in text
    assert "Rejects (latest 10, of 6)" in text
    day_only = build_report(make_engine(loaded), "2026-11-02")
    assert "0 read = 0 loaded" in day_only


# Only PostgreSQL builds the platforms side by side.
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_platforms_built_side_by_side_give_the_marts_of_one_transaction(
    loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sentiment_monitor import marts
    from sentiment_monitor.warehouse import snapshot

    assert marts.platform_groups(2) == [("mastodon",), ("bluesky",)]
    assert marts.platform_groups(1) == [("mastodon", "bluesky")]
    engine = make_engine(loaded)
    built = {}
    for connections in (1, 2):
        monkeypatch.setattr(marts, "parallel_connections", lambda engine, n=connections: n)
        with engine.begin() as conn:  # start from empty marts
            for table in marts.MARTS:
                conn.execute(sa.text(f"DELETE FROM {table}"))
        counts = build_marts(engine, ["2026-11-01"])
        built[connections] = (counts, snapshot(engine, marts.MARTS))
    assert built[2][0] == {"daily_sentiment": 2, "author_sentiment": 8, "response_metrics": 2}
    assert built[2] == built[1]
