"""Airflow connections -> what the plain functions need (a URL, a ConnectionInfo).

The only module of the package that touches Airflow, and only inside functions: everything else
takes plain values, so it runs and tests without Airflow. Secrets read here are handed on, never
logged.
"""

from __future__ import annotations

from typing import Any

from sentiment_monitor.sources.base import ConnectionInfo
from sentiment_monitor.warehouse import WAREHOUSE_CONN_ID, url_from_connection


def _get(conn_id: str) -> Any:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None


def warehouse_url() -> str | None:
    """The SQLAlchemy URL of ``sentiment_warehouse``, or None when it is not defined."""
    conn = _get(WAREHOUSE_CONN_ID)
    if conn is None:
        return None
    return url_from_connection(
        conn.conn_type, conn.host, conn.login, conn.password, conn.schema, conn.port
    )


def connection_info(conn_id: str) -> ConnectionInfo:
    """The fields of an Airflow connection a source needs; a clear error when it is missing."""
    conn = _get(conn_id)
    if conn is None:
        raise LookupError(f"Airflow connection {conn_id!r} is not defined")
    return ConnectionInfo(
        host=conn.host,
        login=conn.login,
        password=conn.password,
        port=conn.port,
        extra=conn.extra_dejson or {},
    )
