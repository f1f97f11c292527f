"""Spike alerts: a spike fires; drift, noise and the cooldown stay quiet; bad keys are named."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import sqlalchemy as sa

from sentiment_monitor.alerts import detect_spikes, judge
from sentiment_monitor.config import Alerts, ConfigError, parse_config
from sentiment_monitor.warehouse import ensure_schema, make_engine

RULES = Alerts()  # 14-day baseline, z >= 3, ratio >= 2, at least 10, 3-day cooldown
DAY = "2026-11-20"


def test_a_spike_fires() -> None:
    baseline = [4, 5, 3, 6, 5, 4, 5, 6, 4, 5, 3, 5, 4, 6]
    spike = judge(DAY, "mastodon", 30, baseline, RULES)
    assert spike is not None and spike.negative == 30 and spike.z_score > 3
    assert spike.ratio == pytest.approx(30 / (sum(baseline) / 14))


def test_slow_drift_and_noise_stay_quiet() -> None:
    # Negative mentions creeping up a little each day: the next day is no spike.
    drift = [10 + day for day in range(14)]
    assert judge(DAY, "mastodon", 25, drift, RULES) is None
    # Noisy but stationary series: no day of it alerts against the days before it.
    rng = random.Random(7)
    noise = [max(0, round(rng.gauss(20, 5))) for _ in range(200)]
    fired = [i for i in range(14, 200) if judge(DAY, "b", noise[i], noise[i - 14 : i], RULES)]
    assert fired == []


def test_small_counts_and_short_history_stay_quiet() -> None:
    assert judge(DAY, "mastodon", 9, [0] * 14, RULES) is None  # below min_count
    assert judge(DAY, "mastodon", 40, [2] * 6, RULES) is None  # under a week of history
    assert judge(DAY, "mastodon", 40, [2] * 7, RULES) is not None


def put(engine, day: dt.date, platform: str, negative: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                """
                INSERT INTO daily_sentiment (day, platform, mentions, brand_posts, scored,
                    positive, neutral, negative, unscored, flags_raised, questions,
                    questions_answered)
                VALUES (:day, :platform, 100, 0, 100, 50, 0, :negative, 0, 0, 0, 0)
                """
            ),
            {"day": day.isoformat(), "platform": platform, "negative": negative},
        )


def test_cooldown_suppresses_a_second_alert(warehouse_url: str) -> None:
    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    start = dt.date(2026, 11, 1)
    for n in range(14):
        put(engine, start + dt.timedelta(days=n), "mastodon", 5)
        put(engine, start + dt.timedelta(days=n), "bluesky", 5)
    bad_week = [start + dt.timedelta(days=14 + n) for n in range(6)]
    for day in bad_week:
        put(engine, day, "mastodon", 40)
        put(engine, day, "bluesky", 5)
    alerts = {d.isoformat(): detect_spikes(engine, d.isoformat(), RULES) for d in bad_week}
    # Day 1 alerts; days 2-4 cool down; by day 5 the bad days are in the baseline, so no alert.
    assert [s.platform for s in alerts[bad_week[0].isoformat()]] == ["mastodon"]
    assert all(alerts[d.isoformat()] == [] for d in bad_week[1:])
    # Idempotent: judging the first day again keeps one row, not two.
    detect_spikes(engine, bad_week[0].isoformat(), RULES)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT day, platform, negative FROM spike_alerts")).all()
    assert [(str(r[0])[:10], r[1], r[2]) for r in rows] == [("2026-11-15", "mastodon", 40)]


def test_bad_alert_settings_name_the_key() -> None:
    base = {"brand": {"name": "B", "handles": {"mastodon": "b"}}, "sources": [{"type": "file"}]}
    with pytest.raises(ConfigError, match=r"alerts\.z_threshold"):
        parse_config({**base, "alerts": {"z_threshold": -1}})
    with pytest.raises(ConfigError, match=r"alerts\.cooldown_dayz"):
        parse_config({**base, "alerts": {"cooldown_dayz": 2}})
    with pytest.raises(ConfigError, match=r"digest\.to"):
        parse_config({**base, "digest": {"to": ["nobody"]}})
