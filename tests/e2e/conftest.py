"""Fixtures of the end-to-end tests: Airflow's metadata database and the nightly DAG object."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's metadata database, migrated once for the session."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)


@pytest.fixture(scope="session")
def nightly(airflow_db: None):
    # Failures must show at once in tests, not after retries with a five-minute delay.
    os.environ["SENTIMENT_TASK_RETRIES"] = "0"
    spec = importlib.util.spec_from_file_location(
        "social_sentiment_nightly", ROOT / "dags" / "social_sentiment_nightly.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.social_sentiment_nightly()
