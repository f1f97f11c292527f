"""Every SQL example of docs/warehouse.md runs on both databases and answers on the fixture."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from sentiment_monitor.config import load_config
from sentiment_monitor.flags import set_status
from sentiment_monitor.pipeline import run_day
from sentiment_monitor.warehouse import make_engine
from tests.conftest import DATA, ROOT, write_config

DOC = ROOT / "docs" / "warehouse.md"
#: ```sql (both databases), ```sql postgresql or ```sql sqlite (one of them).
BLOCK = re.compile(r"^```sql(?: (postgresql|sqlite))?\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str | None, str]]:
    return [(m.group(1), m.group(2).strip().rstrip(";")) for m in BLOCK.finditer(DOC.read_text())]


def test_the_dictionary_has_enough_examples_and_names_every_table(sqlite_url: str) -> None:
    found = blocks()
    assert len([d for d, _ in found if d is None]) >= 6
    assert {d for d, _ in found} == {None, "postgresql", "sqlite"}
    from sentiment_monitor.warehouse import ensure_schema

    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    inspector = sa.inspect(engine)
    text = DOC.read_text()
    for name in inspector.get_table_names() + inspector.get_view_names():
        assert f"`{name}`" in text, f"{name} is not described in docs/warehouse.md"
        if name in inspector.get_table_names():
            for column in inspector.get_columns(name):
                assert column["name"] in text, f"{name}.{column['name']} is not described"


def test_every_example_runs_and_returns_rows(warehouse_url: str, tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", DATA / "exports", tmp_path / "st"))
    for day in ("2026-11-01", "2026-11-02"):
        run_day(day, config=config, url=warehouse_url)
    engine = make_engine(warehouse_url)
    # A change someone made on the flags page, for the flag_history example.
    assert set_status(engine, "mastodon", "1003", "detractor", status="resolved", changed_by="sam")
    ran = 0
    for dialect, sql in blocks():
        if dialect not in (None, engine.dialect.name):
            continue
        with engine.connect() as conn:
            rows = conn.execute(sa.text(sql)).all()
        assert rows, f"no rows from:\n{sql}"
        ran += 1
    assert ran >= 7


@pytest.mark.postgres
def test_the_two_median_variants_agree(pg_url: str, tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", DATA / "exports", tmp_path / "st"))
    sqlite_url = f"sqlite:///{tmp_path / 'w.db'}"
    variants = {d: sql for d, sql in blocks() if d}
    answers = {}
    for name, url in (("sqlite", sqlite_url), ("postgresql", pg_url)):
        for day in ("2026-11-01", "2026-11-02"):
            run_day(day, config=config, url=url)
        with make_engine(url).connect() as conn:
            answers[name] = [
                (r[0], r[1], r[2], round(float(r[3]), 3))
                for r in conn.execute(sa.text(variants[name]))
            ]
    assert answers["sqlite"] == answers["postgresql"]
