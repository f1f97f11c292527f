"""The benchmark's CPU accounting (the benchmark itself runs in ``make bench``, not here)."""

from __future__ import annotations

from sentiment_monitor.bench import cpu_between, cpu_summary, machine_cpu


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


def test_cpu_summary_gives_cores_busy_and_the_floor() -> None:
    cpu = {"normalize": {"busy": 4.0, "steal": 0.5}, "load": {"busy": 4.0, "steal": 0.0}}
    summary = cpu_summary(cpu, {"normalize": 2.0, "load": 4.0}, cores=2)
    assert summary["cpu_seconds"] == {"normalize": 4.0, "load": 4.0}
    assert summary["cores_busy"] == {"normalize": 2.0, "load": 1.0}
    assert summary["cpu_seconds_total"] == 8.0
    # Eight core-seconds on two cores cannot take less than four seconds.
    assert summary["cpu_floor_seconds"] == 4.0
    assert summary["steal_seconds"] == 0.5
