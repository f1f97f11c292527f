"""The one way this project starts worker processes (normalize, score and validate pools),
and how many it uses."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os


def spawn_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of ``workers`` processes started with spawn, not fork: the parent may be an
    Airflow task process with threads running, which a fork would copy mid-flight."""
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn")
    )


def worker_count(configured: int) -> int:
    """Processes to use: the configured number, or one per core this process may use."""
    if configured > 0:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
