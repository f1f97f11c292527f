"""The one way this project starts worker processes (normalize, score and validate pools)."""

from __future__ import annotations

import concurrent.futures
import multiprocessing


def spawn_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of ``workers`` processes started with spawn, not fork: the parent may be an
    Airflow task process with threads running, which a fork would copy mid-flight."""
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn")
    )
