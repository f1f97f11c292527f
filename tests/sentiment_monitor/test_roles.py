"""Least privilege on PostgreSQL: analysts only read; community managers only work flags."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import ProgrammingError

from sentiment_monitor.config import load_config
from sentiment_monitor.flags import set_status
from sentiment_monitor.pipeline import run_day
from sentiment_monitor.warehouse import apply_roles, make_engine
from tests.conftest import DATA, _pg_admin, write_config

pytestmark = pytest.mark.postgres


@pytest.fixture
def roles(pg_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The two roles and a LOGIN user in each, named uniquely (roles are cluster-wide)."""
    suffix = uuid.uuid4().hex[:8]
    names = {
        "analyst": f"t_analyst_{suffix}",
        "manager": f"t_manager_{suffix}",
        "analyst_user": f"t_alice_{suffix}",
        "manager_user": f"t_cm_{suffix}",
    }
    config = load_config(write_config(tmp_path / "c.yaml", DATA / "exports", tmp_path / "st"))
    run_day("2026-11-01", config=config, url=pg_url)
    owner = make_engine(pg_url)
    try:
        apply_roles(owner, names["analyst"], names["manager"])
        apply_roles(owner, names["analyst"], names["manager"])  # idempotent: roles exist
        with _pg_admin() as conn:
            conn.execute(f"CREATE ROLE {names['analyst_user']} LOGIN IN ROLE {names['analyst']}")
            conn.execute(f"CREATE ROLE {names['manager_user']} LOGIN IN ROLE {names['manager']}")
        yield names
    finally:
        owner.dispose()
        with owner.begin() as conn:  # privileges in this database hold the roles: drop them first
            conn.exec_driver_sql("DROP OWNED BY " + ", ".join(names.values()))
        owner.dispose()
        with _pg_admin() as conn:
            for name in names.values():
                conn.execute(f"DROP ROLE IF EXISTS {name}")


def login(pg_url: str, user: str) -> sa.Engine:
    base, database = pg_url.rsplit("/", 1)
    return make_engine(base.replace("postgres@", f"{user}@", 1) + "/" + database)


def refused(engine: sa.Engine, statement: str) -> bool:
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(statement)
    except ProgrammingError as error:
        return "permission denied" in str(error) or "must be owner" in str(error)
    return False


def test_analyst_reads_everything_and_writes_nothing(pg_url: str, roles: dict[str, str]) -> None:
    analyst = login(pg_url, roles["analyst_user"])
    with analyst.connect() as conn:
        assert conn.execute(sa.text("SELECT user")).scalar_one() == roles["analyst_user"]
        for table in ("mentions", "authors", "flags", "open_flags", "threads", "response_metrics"):
            conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    assert refused(analyst, "INSERT INTO rejects VALUES ('2026-11-01','x','x','x',1,'x','x')")
    assert refused(analyst, "UPDATE flags SET status = 'resolved'")
    assert refused(analyst, "DELETE FROM mentions")
    assert refused(analyst, "CREATE TABLE mine (x INT)")
    assert refused(analyst, "DROP TABLE mentions")  # not the owner
    assert not set_status_ok(analyst)
    analyst.dispose()


def set_status_ok(engine: sa.Engine) -> bool:
    try:
        return set_status(engine, "mastodon", "1003", "detractor", status="resolved", note="ok")
    except ProgrammingError:
        return False


def test_community_manager_changes_flags_status_and_nothing_else(
    pg_url: str, roles: dict[str, str]
) -> None:
    manager = login(pg_url, roles["manager_user"])
    assert set_status(manager, "mastodon", "1003", "detractor", status="resolved", assignee="cm")
    with manager.connect() as conn:
        row = conn.execute(
            sa.text("SELECT status, assignee FROM flags WHERE mention_id = '1003'")
        ).one()
    assert tuple(row) == ("resolved", "cm")
    assert refused(manager, "UPDATE flags SET priority = 100")
    assert refused(manager, "UPDATE flags SET kind = 'promoter'")
    assert refused(manager, "DELETE FROM flags")
    assert refused(manager, "UPDATE mentions SET text = 'x'")
    assert refused(manager, "UPDATE authors SET mentions = 0")
    assert refused(manager, "INSERT INTO flags (platform, mention_id, kind) VALUES ('a','b','c')")
    assert refused(manager, "CREATE TABLE mine (x INT)")
    manager.dispose()


def test_tables_made_later_are_readable_by_analysts(pg_url: str, roles: dict[str, str]) -> None:
    """Default privileges: a table a later migration adds needs no new grant."""
    with make_engine(pg_url).begin() as conn:
        conn.exec_driver_sql("CREATE TABLE later_mart (day DATE)")
    analyst = login(pg_url, roles["analyst_user"])
    with analyst.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM later_mart")).scalar_one() == 0
    assert refused(analyst, "INSERT INTO later_mart VALUES ('2026-11-01')")
    analyst.dispose()


def test_roles_need_postgresql(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="PostgreSQL only"):
        apply_roles(make_engine(sqlite_url))
    with pytest.raises(ValueError, match="role name"):
        apply_roles(make_engine(sqlite_url), 'x"; DROP')
