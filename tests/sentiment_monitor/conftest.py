"""Fixtures for the warehouse tests that need more than one warehouse of the same kind."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import _pg_admin


@pytest.fixture
def more_warehouses(warehouse_url: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Make further empty warehouses of the same kind as ``warehouse_url`` (dropped after)."""
    made: list[str] = []

    def make() -> str:
        name = f"sentiment_test_{uuid.uuid4().hex[:12]}"
        if warehouse_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / (name + '.db')}"
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{warehouse_url.rsplit('/', 1)[0]}/{name}"

    try:
        yield make
    finally:
        with _pg_admin() as conn:
            for name in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
