"""Airflow plugin: the sentiment flags page at ``/sentiment/flags`` and its menu entry.

Thin on purpose: the app lives in :mod:`sentiment_monitor.flag_page`, which checks the Airflow
user on every request itself (Airflow does not authenticate plugin apps).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sentiment_monitor.flag_page import create_app


class SentimentFlagsPlugin(AirflowPlugin):
    """Mounts the flags app under /sentiment and links it from the UI's navigation."""

    name = "sentiment_flags"
    fastapi_apps = [  # noqa: RUF012 - Airflow reads these class attributes
        {"app": create_app(), "url_prefix": "/sentiment", "name": "Sentiment flags"}
    ]
    external_views = [  # noqa: RUF012
        {"name": "Sentiment flags", "href": "/sentiment/flags", "destination": "nav"}
    ]
