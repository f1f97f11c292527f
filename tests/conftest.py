"""Shared fixtures: an isolated Airflow home, test configurations and real warehouses.

Airflow reads its settings from the environment when it is first imported, so this module sets
them before any test imports Airflow: a throw-away ``AIRFLOW_HOME`` (SQLite metadata), this
project's ``dags/`` folder, no examples. PostgreSQL tests get a fresh database on the local
server for the session; when the server is unreachable they skip on a laptop and fail in CI.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="sentiment-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
os.environ["SENTIMENT_HOME"] = str(ROOT)
os.environ.pop("AIRFLOW_CONN_SENTIMENT_WAREHOUSE", None)
os.environ.pop("SENTIMENT_CONFIG", None)

PG_DSN = os.environ.get("SENTIMENT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def compiled_copy(module: str):
    """The compiled copy of ``module`` that ``make`` builds (``sentiment_monitor.native``);
    skips the test where it is not built, and fails it under CI, whose ``make test`` builds it."""
    import pytest

    from sentiment_monitor import native

    copy = native.load(module)
    if copy is None:
        if os.environ.get("CI"):
            pytest.fail(f"make test builds the compiled {module}; it is missing or stale")
        pytest.skip(f"the compiled {module} is not built (make builds it)")
    return copy


def write_config(path: Path, exports: Path, staging: Path, **extra: object) -> Path:
    """A configuration file for a test: the fixture brand, one file source, a tmp staging folder."""
    import yaml

    data: dict[str, object] = {
        "brand": {
            "name": "Lumen Coffee",
            "handles": {"mastodon": "lumencoffee", "bluesky": "lumencoffee.bsky.social"},
        },
        "sources": [{"type": "file", "name": "exports", "path": str(exports)}],
        "staging_path": str(staging),
        "landing_path": str(staging.parent / "landing"),
        "reports_path": str(staging.parent / "reports"),
        "scoring": {"chunk_rows": 4},
    }
    data.update(extra)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A configuration reading the committed fixture exports, staging under ``tmp_path``."""
    return write_config(tmp_path / "config.yaml", DATA / "exports", tmp_path / "staging")


@pytest.fixture
def config(config_file: Path):
    from sentiment_monitor.config import load_config

    return load_config(config_file)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.db'}"


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL server's DSN; skips (laptop) or fails (CI=true) when it is unreachable."""
    try:
        with _pg_admin() as conn:
            conn.execute("SELECT 1")
    except Exception as error:
        message = f"PostgreSQL at {PG_DSN} is unreachable: {error}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: .ci/run should have started it)")
        pytest.skip(message)
    return PG_DSN


@contextlib.contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new empty database on the server of ``url``, dropped on leaving."""
    name = f"sentiment_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards."""
    with fresh_database(pg_server) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each warehouse test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return request.getfixturevalue("pg_url")
