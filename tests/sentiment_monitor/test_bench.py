"""The benchmark's CPU accounting (the benchmark itself runs in ``make bench``, not here)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from sentiment_monitor.bench import (
    cpu_between,
    cpu_summary,
    create_database,
    drop_database,
    history_pairs,
    judge,
    machine_cpu,
    settle,
    summarize,
    table,
    targets_line,
)


def test_cpu_between_two_readings() -> None:
    before, after = {"busy": 10.0, "steal": 1.0}, {"busy": 13.5, "steal": 1.25}
    assert cpu_between(before, after) == {"busy": 3.5, "steal": 0.25}


def test_machine_cpu_only_grows() -> None:
    first = machine_cpu()
    sum(i * i for i in range(200_000))  # some work of this process between the readings
    second = machine_cpu()
    assert first["busy"] > 0
    assert second["busy"] >= first["busy"]
    assert second["steal"] >= first["steal"]
    assert second["iowait"] >= first["iowait"]


def test_cpu_summary_gives_cores_busy_and_the_floor() -> None:
    cpu = {
        "normalize": {"busy": 4.0, "steal": 0.5, "iowait": 1.5},
        "load": {"busy": 4.0, "steal": 0.0, "iowait": 0.25},
    }
    summary = cpu_summary(cpu, {"normalize": 2.0, "load": 4.0}, cores=2)
    assert summary["cpu_seconds"] == {"normalize": 4.0, "load": 4.0}
    assert summary["cores_busy"] == {"normalize": 2.0, "load": 1.0}
    assert summary["cpu_seconds_total"] == 8.0
    # Eight core-seconds on two cores cannot take less than four seconds.
    assert summary["cpu_floor_seconds"] == 4.0
    assert summary["steal_seconds"] == 0.5
    assert summary["iowait_seconds"] == 1.8


def test_prefill_makes_a_history_of_mentions_and_flags(pg_url: str) -> None:
    rows = 30_000  # enough pages that one day is a small part of the table
    import sqlalchemy as sa

    from sentiment_monitor.bench import prefill
    from sentiment_monitor.warehouse import make_engine

    seconds, flags = prefill(pg_url, rows, "2026-11-10")
    assert seconds > 0
    with make_engine(pg_url).connect() as conn:
        # No connection of the prefill is left open: --pairs copies the database next.
        others = conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
        # Its pages are written out before the night is measured: the last checkpoint starts
        # after every write of the prefill (its WAL here is megabytes; a checkpoint's, bytes).
        unwritten = conn.execute(
            sa.text(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), redo_lsn)"
                " FROM pg_control_checkpoint()"
            )
        ).scalar_one()
        mentions = conn.execute(sa.text("SELECT COUNT(*), MIN(day), MAX(day) FROM mentions")).one()
        statuses = dict(
            conn.execute(
                sa.text(
                    "SELECT CASE WHEN day > DATE '2026-11-03' THEN 'week' ELSE 'older' END"
                    " || ':' || status, COUNT(*) FROM flags GROUP BY 1"
                )
            ).all()
        )
        # As nightly loads append them: a day's rows share pages, they are not on every page.
        # (Pages a day's rows occupy, over all days; pages of the table; days.)
        layouts = [
            conn.execute(
                sa.text(
                    "SELECT SUM(pages), (SELECT COUNT(DISTINCT (ctid::text::point)[0])"
                    f" FROM {table}), COUNT(*) FROM (SELECT day,"
                    f" COUNT(DISTINCT (ctid::text::point)[0]) AS pages FROM {table}"
                    " GROUP BY day) d"
                )
            ).one()
            for table in ("mentions", "flags")
        ]
        orphans = conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM flags f WHERE NOT EXISTS (SELECT 1 FROM mentions m"
                " WHERE m.platform = f.platform AND m.mention_id = f.mention_id)"
            )
        ).scalar_one()
    assert others == 0
    assert mentions[0] == rows
    assert (str(mentions[1]), str(mentions[2])) == ("2026-09-11", "2026-11-09")
    assert flags == sum(statuses.values())
    # Roughly one post in four holds a flag, as the nightly flag step raises them.
    assert 0.15 * rows < flags < 0.4 * rows
    assert orphans == 0
    assert unwritten < 100_000
    for day_pages, pages, days in layouts:
        assert pages > 2 * days and day_pages <= pages + 2 * days
    # The last week's flags are open; the older ones mostly closed by people, some still open.
    assert set(statuses) == {"week:open", "older:open", "older:resolved", "older:dismissed"}
    assert statuses["older:resolved"] > statuses["older:open"]


def test_a_prefilled_night_is_rerun_on_a_copy_of_the_same_history(pg_url: str) -> None:
    """``--pairs``: each prefilled night but the last runs on a copy of the prefilled database,
    so every pair starts from the same history."""
    server, template = pg_url.rsplit("/", 1)
    with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
        conn.execute("CREATE TABLE history AS SELECT g AS n FROM generate_series(1, 1000) g")
    copy = f"sentiment_test_{uuid.uuid4().hex[:12]}"
    try:
        url = create_database(server, copy, template=template)
        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            assert conn.execute("SELECT COUNT(*), SUM(n) FROM history").fetchone() == (1000, 500500)
    finally:
        drop_database(server, copy)


def test_history_pairs_run_each_night_on_its_own_copy_and_drop_it_once_measured(
    pg_url: str,
) -> None:
    """``--pairs 3``: each empty night on a new database and each history night on a fresh copy
    of the history, each night right after a copy; a pair's databases are gone before the next
    pair runs, and only the history itself is left. A night that fails leaves no copy behind
    either."""
    server, history = pg_url.rsplit("/", 1)
    with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
        conn.execute("CREATE TABLE history AS SELECT g AS n FROM generate_series(1, 100) g")

    def ours() -> set[str]:
        with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
            names = conn.execute("SELECT datname FROM pg_database").fetchall()
        return {name for (name,) in names if name.startswith(history)}

    seen: list[tuple[str, str, set[str]]] = []

    def night(kind: str) -> Callable[[str], dict[str, Any]]:
        def run(url: str) -> dict[str, Any]:
            with psycopg.connect(url.replace("+psycopg", "")) as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS history (n INTEGER)")
                rows = conn.execute("SELECT COUNT(*) FROM history").fetchone()[0]
                conn.execute("INSERT INTO history VALUES (0)")  # a night writes
            seen.append((kind, url.rsplit("/", 1)[1], ours()))
            return {"kind": kind, "rows": rows}

        return run

    try:
        nights = history_pairs(
            server,
            history,
            3,
            empty_night=night("empty"),
            history_night=night("history"),
        )
        assert [(n["empty"]["rows"], n["prefilled"]["rows"]) for n in nights] == [(0, 100)] * 3
        # Each night right after a copy of the history: the empty night's only for that.
        assert seen == [
            (kind, f"{history}{name}{pair}", {history, f"{history}_ballast{pair}", *extra})
            for pair in (1, 2, 3)
            for kind, name, extra in (
                ("empty", "_empty", {f"{history}_empty{pair}"}),
                ("history", "", {f"{history}_empty{pair}", f"{history}{pair}"}),
            )
        ]
        assert ours() == {history}

        def fails(url: str) -> dict[str, Any]:
            raise RuntimeError("the night failed")

        with pytest.raises(RuntimeError, match="the night failed"):
            history_pairs(server, history, 2, empty_night=fails, history_night=fails)
        assert ours() == {history}
    finally:  # what a failing run left
        for name in ours() - {history}:
            drop_database(server, name)


def test_settle_puts_the_servers_dirty_buffers_on_disk_before_a_night(pg_url: str) -> None:
    """Each measured night starts after a checkpoint (and a sync), not during the writeback of
    what ran before it."""
    server = pg_url.rsplit("/", 1)[0]
    asked = "SELECT checkpoints_req FROM pg_stat_bgwriter"
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as conn:
        before = conn.execute(asked).fetchone()[0]
        settle(server)
        conn.execute("SELECT pg_stat_clear_snapshot()")
        assert conn.execute(asked).fetchone()[0] > before


def _run(seconds: float) -> dict:
    return {
        "seconds": seconds,
        "peak_rss_mb": 500.0,
        "tree_rss_mb": 600.0,
        "steps": {"load": seconds},
        "rss_mb_after": {"load": 250.0},
        "cpu": {"load": {"busy": seconds, "steal": 0.0, "iowait": 0.0}},
    }


def _result(mentions: int, night: dict, baseline_per_s: float) -> dict[str, Any]:
    """What :func:`main` gathers, for a night ``night`` and a baseline of ``baseline_per_s``."""
    return {
        "mentions": mentions,
        "machine": {"cores": 2, "cpu": "test", "load": [0.0, 0.0, 0.0]},
        "postgresql": night,
        "vader": {"per_s": 40_000, "texts": 10, "mismatches": 0},
        "fast": {
            "per_s": 150_000,
            "vader_per_s": 40_000,
            "implementation": "compiled",
            "python_per_s": 100_000,
        },
        "baseline": {
            "per_s": baseline_per_s,
            "rows": 20_000,
            "peak_rss_mb": 250.0,
            "seconds": 20_000 / baseline_per_s,
            "tree_rss_mb": 250.0,
        },
        "load_after": [0.0, 0.0, 0.0],
    }


@pytest.mark.parametrize(
    ("pairs", "median"),
    [([(10.0, 11.0)], 1.1), ([(10.0, 11.0), (12.0, 12.6), (10.0, 13.0)], 1.1)],
)
def test_the_history_ratio_is_the_median_of_the_pairs(
    pairs: list[tuple[float, float]], median: float
) -> None:
    """One slow minute in one pair does not decide the ratio; each pair is reported."""
    first = _run(pairs[0][1])
    first["prefill_rows"], first["prefill_flags"] = 10_000_000, 2_655_092
    if len(pairs) > 1:
        first["pairs"] = [
            {"empty_seconds": e, "prefilled_seconds": h, "vs_empty": round(h / e, 3)}
            for e, h in pairs
        ]
    result = _result(200_000, _run(pairs[0][0]), baseline_per_s=5_000)
    result["prefilled"] = first
    summary = summarize(result)
    assert summary["prefilled"]["vs_empty"] == median
    assert [p["vs_empty"] for p in summary["prefilled"]["pairs"]] == [
        round(h / e, 3) for e, h in pairs
    ]
    line = next(x for x in table(result, summary).splitlines() if x.startswith("steps (pre"))
    assert f"{median}x the empty warehouse's time" in line
    assert ("median of 11.0/10.0 s = 1.1, 12.6/12.0 s = 1.05, 13.0/10.0 s = 1.3" in line) == (
        len(pairs) > 1
    )


def test_the_write_floor_reinserts_the_nights_rows_and_leaves_no_table(pg_url: str, config) -> None:
    """``write_floor`` writes exactly the night's mentions and flags again, into copies that
    keep the tables' storage options, on one connection and one platform per connection, and
    drops the copies; the design floor adds the Python steps' CPU to the cheaper way."""
    import sqlalchemy as sa

    from sentiment_monitor.bench import design_floor, write_floor
    from sentiment_monitor.pipeline import run_day
    from sentiment_monitor.warehouse import make_engine

    day = "2026-11-01"
    run_day(day, config=config, url=pg_url)
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        expected = {
            name: conn.execute(
                sa.text(f"SELECT COUNT(*), COUNT(DISTINCT platform) FROM {name} WHERE day = :d"),
                {"d": dt.date.fromisoformat(day)},
            ).one()
            for name in ("mentions", "flags")
        }
    floor = write_floor(pg_url, day)
    for name, (rows, platforms) in expected.items():
        assert rows > 0 and platforms == 2
        entry = floor[name]
        assert (entry["rows"], entry["platforms"]) == (rows, platforms)
        # The copy of flags keeps its half-empty pages (migration 0007), which LIKE drops.
        assert entry["options"] == (["fillfactor=50"] if name == "flags" else [])
        for way in ("one", "side_by_side"):
            assert entry[way]["seconds"] > 0 and entry[way]["cpu_seconds"] >= 0
    with engine.connect() as conn:
        left = conn.execute(
            sa.text("SELECT COUNT(*) FROM pg_class WHERE relname LIKE 'floor_%'")
        ).scalar_one()
    engine.dispose()
    assert left == 0

    cpu = {step: {"busy": 3.0} for step in ("normalize", "score", "validate", "load")}
    fixed = {
        "mentions": {"one": {"cpu_seconds": 5.0}, "side_by_side": {"cpu_seconds": 6.0}},
        "flags": {"one": {"cpu_seconds": 2.0}, "side_by_side": {"cpu_seconds": 1.0}},
    }
    # 9 core-seconds of Python steps (not the load's) + 5 + 1 of writes, on two cores.
    assert design_floor(cpu, fixed, 2) == {
        "python_cpu_seconds": 9.0,
        "write_cpu_seconds": 6.0,
        "seconds": 7.5,
    }


def _night(seconds: float, core_seconds: float) -> dict:
    night = _run(seconds)
    night["cpu"] = {"load": {"busy": core_seconds, "steal": 0.0, "iowait": 0.0}}
    return night


def test_the_targets_are_judged_and_the_8x_line_says_what_it_asks() -> None:
    """A 1M night of 31.05 s on 53.2 core-seconds against a baseline of 6,483/s (a run of
    this project): 30,000/s is met and 8x is not, and 8x would need 19.3 s, which those
    core-seconds cannot take on two cores (26.6 s at best), however they are scheduled."""
    result = _result(1_000_000, _night(31.05, 53.2), baseline_per_s=6_483)
    summary = summarize(result)
    verdict = summary["targets"]
    assert verdict["mentions_per_s"] == {"value": 32_206, "target": 30_000, "met": True}
    assert verdict["vs_baseline"] == {
        "value": 4.97,
        "target": 8.0,
        "met": False,
        "needs_per_s": 51_864,
        "needs_seconds": 19.3,
        "cpu_floor_seconds": 26.6,
        "within_cpu_floor": False,
    }
    assert verdict["peak_rss_mb"]["met"] and verdict["score_mismatches"]["met"]
    assert verdict["fast_vs_vader"] == {"value": 3.75, "target": 2.0, "met": True}
    assert "vs_empty" not in verdict
    line = table(result, summary).splitlines()[-1]
    assert line.startswith("targets (throughput and 8x): 30,000 mentions/s met (32,206);")
    assert (
        "8x the pandas baseline NOT met (4.97x; it asks 51,864/s here, 19.3 s, where the"
        " night's CPU allows 26.6 s at best on 2 cores: only less CPU can meet it)" in line
    )


def test_a_slower_baseline_and_a_smaller_night_are_judged_the_same_way() -> None:
    """A 200k night of 6 s against a baseline of 3,000/s is 11.1x: met, and within the CPU
    floor. A mismatched score, a largest process at the limit or a slow history fail their
    lines; a night of another size says that the throughput lines are set for 1M."""
    result = _result(200_000, _night(6.0, 10.0), baseline_per_s=3_000)
    result["vader"]["mismatches"] = 1
    result["postgresql"]["peak_rss_mb"] = 768.0
    summary = summarize(result)
    summary["prefilled"] = {"vs_empty": 1.16}
    verdict = judge(summary)
    assert summary["vs_baseline"] == 11.11
    assert verdict["vs_baseline"]["met"] and verdict["vs_baseline"]["within_cpu_floor"]
    assert verdict["vs_baseline"]["needs_seconds"] == 8.3
    assert not verdict["score_mismatches"]["met"]
    assert not verdict["peak_rss_mb"]["met"]
    assert verdict["vs_empty"] == {"value": 1.16, "target": 1.15, "met": False}
    summary["targets"] = verdict
    line = targets_line(summary, 2)
    assert line.startswith("targets (throughput and 8x, set for N = 1,000,000): ")
    assert "history within 15% NOT met (1.16x)" in line
    assert "peak RSS < 768 MB NOT met (768)" in line
    # 7.998x rounds to 8.0 in the summary, and is not 8x.
    close = summarize(_result(200_000, _night(6.0, 10.0), baseline_per_s=4_167.5))
    assert close["vs_baseline"] == 8.0 and not close["targets"]["vs_baseline"]["met"]
