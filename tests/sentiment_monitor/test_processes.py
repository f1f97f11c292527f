"""Worker pools: spawned workers run this package's functions without the parent's main script."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from sentiment_monitor.processes import spawn_pool, without_cycle_collector, worker_count

# A main script like the ``airflow`` command: whatever runs it again pays for its imports.
MAIN = """
import os
if __name__ != "__main__":
    with open(os.environ["MARKER"], "a") as marker:
        marker.write(__name__ + "\\n")
from sentiment_monitor.processes import spawn_pool
if __name__ == "__main__":
    with spawn_pool(2) as pool:
        print(sorted(pool.map(abs, [-1, -2, -3])))
"""


def test_workers_do_not_rerun_the_parents_main_script(tmp_path: Path) -> None:
    script = tmp_path / "main_like_airflow.py"
    script.write_text(MAIN)
    marker = tmp_path / "reran"
    env = {**os.environ, "MARKER": str(marker)}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1, 2, 3]"
    assert not marker.exists(), marker.read_text()  # a plain spawn pool writes "__mp_main__"


def test_the_parents_main_module_is_back_after_starting_workers() -> None:
    main = sys.modules["__main__"]
    with spawn_pool(1) as pool:
        assert pool.submit(abs, -4).result() == 4
    assert sys.modules["__main__"] is main


def test_worker_count_is_the_configured_number_or_the_cores() -> None:
    assert worker_count(3) == 3
    assert worker_count(0) >= 1


def test_the_cycle_collector_is_off_inside_and_as_it_was_after() -> None:
    assert gc.isenabled()
    with without_cycle_collector():
        assert not gc.isenabled()
    assert gc.isenabled()
    # Back on after an error too; and left off where it was off.
    with pytest.raises(ZeroDivisionError), without_cycle_collector():
        1 / 0  # noqa: B018
    assert gc.isenabled()
    gc.disable()
    try:
        with without_cycle_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_cycle_made_without_the_collector_is_collected_once_it_is_back() -> None:
    class Node:
        pass

    with without_cycle_collector():
        node = Node()
        node.self = node  # type: ignore[attr-defined]
        alive = weakref.ref(node)
        del node
        kept = [[] for _ in range(10_000)]  # with the collector on, enough to run it
        assert alive() is not None  # a cycle: reference counting alone never frees it
    del kept
    gc.collect()
    assert alive() is None
