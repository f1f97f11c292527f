"""Spike alerts: a platform's negative mentions of a day against its trailing baseline.

For each platform, the day's negative mentions (``daily_sentiment.negative``) are compared with
the ``baseline_days`` loaded days before it (a loaded day without a row for the platform counts
as zero). A spike needs all three of: at least ``min_count`` negative mentions, at least
``ratio_threshold`` times the baseline mean, and a standard score of at least ``z_threshold``,
where the spread is never taken below the Poisson spread ``sqrt(mean)`` (or 1) so that a
perfectly flat baseline does not turn one extra complaint into an alert. After an alert the
platform stays quiet for ``cooldown_days`` so one bad week does not alert every night. Alerts are
written to ``spike_alerts``; recomputing a day replaces that day's rows.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sentiment_monitor.config import Alerts
from sentiment_monitor.warehouse import day_param


@dataclass(frozen=True)
class Spike:
    """One alert: the day's count and the baseline it was judged against."""

    day: str
    platform: str
    negative: int
    baseline_mean: float
    baseline_std: float
    z_score: float
    ratio: float | None
    history_days: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for XCom and the digest."""
        return asdict(self)


def judge(
    day: str, platform: str, today: int, baseline: Sequence[int], rules: Alerts
) -> Spike | None:
    """A Spike when ``today`` stands out from ``baseline`` (oldest first), else None."""
    if len(baseline) < rules.min_history_days or today < rules.min_count:
        return None
    mean = statistics.fmean(baseline)
    std = statistics.pstdev(baseline)
    # Counts are roughly Poisson: never trust a spread below sqrt(mean), nor below 1.
    spread = max(std, math.sqrt(mean), 1.0)
    z_score = (today - mean) / spread
    ratio = today / mean if mean > 0 else None
    if z_score < rules.z_threshold:
        return None
    if ratio is not None and ratio < rules.ratio_threshold:
        return None
    return Spike(day, platform, today, mean, std, round(z_score, 4), ratio, len(baseline))


def detect_spikes(engine: Engine, day: str, rules: Alerts) -> list[Spike]:
    """Judge every platform for ``day`` and replace that day's rows in ``spike_alerts``."""
    the_day = dt.date.fromisoformat(day)
    start = the_day - dt.timedelta(days=rules.baseline_days)
    with engine.begin() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT day, platform, negative FROM daily_sentiment "
                "WHERE day >= :start AND day <= :day"
            ),
            {"start": day_param(engine, start), "day": day_param(engine, the_day)},
        ).all()
        counts = {(str(r[0])[:10], r[1]): int(r[2]) for r in rows}
        # The days that were loaded at all: a day with no row for a platform then means zero.
        loaded = sorted({d for d, _ in counts if d < day})
        platforms = sorted({p for d, p in counts if d == day})
        recent = {
            r[0]
            for r in conn.execute(
                sa.text(
                    "SELECT DISTINCT platform FROM spike_alerts WHERE day >= :since AND day < :day"
                ),
                {
                    "since": day_param(engine, the_day - dt.timedelta(days=rules.cooldown_days)),
                    "day": day_param(engine, the_day),
                },
            )
        }
        spikes = []
        for platform in platforms:
            if platform in recent:
                continue  # cooling down after an alert of the last few days
            baseline = [counts.get((d, platform), 0) for d in loaded]
            spike = judge(day, platform, counts[(day, platform)], baseline, rules)
            if spike:
                spikes.append(spike)
        conn.execute(
            sa.text("DELETE FROM spike_alerts WHERE day = :day"),
            {"day": day_param(engine, the_day)},
        )
        if spikes:
            conn.execute(
                sa.text(
                    """
                    INSERT INTO spike_alerts (day, platform, negative, baseline_mean,
                        baseline_std, z_score, ratio, history_days)
                    VALUES (:day, :platform, :negative, :baseline_mean, :baseline_std,
                        :z_score, :ratio, :history_days)
                    """
                ),
                [{**s.to_dict(), "day": day_param(engine, the_day)} for s in spikes],
            )
    return spikes
