"""Command line behind the Makefile: run the nightly DAG for a day, print the report.

``python -m sentiment_monitor.cli run-dag 2026-11-01`` runs the real DAG through
``airflow dags test`` for that UTC day (its data interval), on the current configuration and
connections. ``python -m sentiment_monitor.cli report [--day D]`` prints what the warehouse holds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from sentiment_monitor.config import ConfigError, load_config, project_root

DAG_ID = "social_sentiment_nightly"


def logical_date_for(day: str) -> str:
    """The logical date whose manual data interval is exactly the UTC day ``day``.

    The DAG's timetable gives a manual run at ``T`` the interval ``[T - 1 day, T)``, so the run
    for ``day`` is the one at the next midnight UTC.
    """
    start = dt.date.fromisoformat(day)
    return f"{(start + dt.timedelta(days=1)).isoformat()}T00:00:00+00:00"


def run_dag(day: str) -> int:
    """Run the nightly DAG for ``day`` with ``airflow dags test``; return its exit code."""
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        print(f"DATE must be YYYY-MM-DD, got {day!r}", file=sys.stderr)
        return 2
    try:
        load_config()  # a bad configuration stops here, with the key named, before Airflow starts
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    airflow = Path(sys.executable).with_name("airflow")
    command = [str(airflow), "dags", "test", DAG_ID, logical_date_for(day)]
    env = dict(os.environ)
    env.setdefault("SENTIMENT_HOME", str(project_root()))
    # By hand, a failure should show at once rather than after two five-minute retries.
    env.setdefault("SENTIMENT_TASK_RETRIES", "0")
    completed = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
    state = "success" if completed.returncode == 0 else "failed"
    if completed.returncode != 0 or "state=failed" in completed.stdout + completed.stderr:
        sys.stdout.write(completed.stdout[-20000:])
        sys.stderr.write(completed.stderr[-20000:])
        state = "failed"
    print(f"{DAG_ID} for {day}: {state}")
    return 0 if state == "success" else 1


def report(day: str | None) -> int:
    """Print the warehouse report."""
    from sentiment_monitor.report import build_report
    from sentiment_monitor.warehouse import make_engine, url_from_env

    print(build_report(make_engine(url_from_env()), day))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="sentiment_monitor.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run-dag", help="run the nightly DAG for one UTC day")
    run.add_argument("day", help="YYYY-MM-DD")
    show = commands.add_parser("report", help="print what the warehouse holds")
    show.add_argument("--day", default=None, help="only this day (YYYY-MM-DD)")
    args = parser.parse_args(argv)
    if args.command == "run-dag":
        return run_dag(args.day)
    return report(args.day)


if __name__ == "__main__":
    sys.exit(main())
