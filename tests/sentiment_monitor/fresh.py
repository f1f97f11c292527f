"""Run a check in a fresh interpreter: what a spawned worker or a task process starts from."""

from __future__ import annotations

import subprocess
import sys


def assert_runs_fresh(script: str) -> None:
    """Run ``script`` with this Python in a new process; it must exit 0 and print "ok" last."""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
