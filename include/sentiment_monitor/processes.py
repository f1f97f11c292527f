"""The one way this project starts worker processes (normalize, score and validate pools),
and how many it uses."""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import multiprocessing
import os
import sys
import threading
import types
from collections.abc import Iterator

_MAIN_SWAP = threading.Lock()


@contextlib.contextmanager
def _without_main() -> Iterator[None]:
    """While a worker is started, ``__main__`` is an empty module.

    A spawned process first re-runs the parent's main script as ``__mp_main__``, so that
    functions defined there can be unpickled. Inside Airflow that script is the ``airflow``
    command, so every worker imported all of Airflow before its first task (about 1.5 s of CPU
    and 150 MB each); our workers run functions of this package, never of ``__main__``.
    """
    with _MAIN_SWAP:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


class _Pool(concurrent.futures.ProcessPoolExecutor):
    """A spawn pool whose workers skip the parent's main script (:func:`_without_main`)."""

    def _spawn_process(self) -> None:
        with _without_main():
            super()._spawn_process()  # type: ignore[misc]


def spawn_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of ``workers`` processes started with spawn, not fork: the parent may be an
    Airflow task process with threads running, which a fork would copy mid-flight. The workers
    run functions of this package only (see :func:`_without_main`)."""
    return _Pool(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


@contextlib.contextmanager
def without_cycle_collector() -> Iterator[None]:
    """Run the block with Python's cyclic garbage collector off (as it was, after).

    Normalize makes millions of small container objects (a decoded record, a tuple a row)
    and keeps a part's rows alive at a time, none of them in a reference cycle: reference
    counting frees every one. The cyclic collector still ran every 700 allocations and, as
    the rows of a part piled up, went through all of them again and again: in a ``perf``
    profile of the 1M benchmark's normalize step, 6.7% of the samples (``gc_collect_main``,
    ``visit_decref``, ``visit_reachable``). Normalize alone on that night, five runs
    alternating with the collector on: its workers spent 10.6-10.8 CPU-seconds against
    11.0-14.3 (every run lower; medians 10.7 and 11.6), the step took 6.0-6.2 s against
    6.2-8.1, with the same peak memory. The scorer's loop gained nothing measurable (its
    results are floats and short-lived tuples), so it keeps the collector. A cycle made
    meanwhile is collected once the collector is back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def worker_count(configured: int) -> int:
    """Processes to use: the configured number, or one per core this process may use."""
    if configured > 0:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
