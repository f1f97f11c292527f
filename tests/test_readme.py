"""The README's example SQL runs, on both warehouses, against a loaded fixture day."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from sentiment_monitor.config import load_config
from sentiment_monitor.pipeline import run_day
from sentiment_monitor.warehouse import make_engine
from tests.conftest import DATA, ROOT, write_config

SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.S)


def test_readme_sql_examples_run(tmp_path: Path, warehouse_url: str) -> None:
    blocks = SQL_BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    config = load_config(write_config(tmp_path / "c.yaml", DATA / "exports", tmp_path / "st"))
    run_day("2026-11-01", config=config, url=warehouse_url)
    engine = make_engine(warehouse_url)
    for block in blocks:
        with engine.begin() as conn:
            result = conn.execute(sa.text(block.strip().rstrip(";")))
            if result.returns_rows:
                assert result.fetchall() is not None
