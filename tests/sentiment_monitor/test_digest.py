"""The digest: the day's numbers against the week before, what to act on, spikes, a PNG chart."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from sentiment_monitor.config import load_config
from sentiment_monitor.digest import notify, send_digest
from sentiment_monitor.warehouse import make_engine
from tests.conftest import write_config
from tests.sentiment_monitor.flag_seed import SCRIPT_TEXT, seed

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def put_day(engine, day: dt.date, mentions: int, positive: int, negative: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                """
                INSERT INTO daily_sentiment (day, platform, mentions, brand_posts, scored,
                    positive, neutral, negative, unscored, flags_raised, questions,
                    questions_answered)
                VALUES (:day, 'mastodon', :mentions, 0, :mentions, :positive,
                    :mentions - :positive - :negative, :negative, 0, 0, 0, 0)
                """
            ),
            {
                "day": day.isoformat(),
                "mentions": mentions,
                "positive": positive,
                "negative": negative,
            },
        )


def test_digest_has_the_numbers_the_flags_spikes_and_a_png(
    tmp_path: Path, warehouse_url: str
) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", tmp_path / "ex", tmp_path / "staging"))
    seed(warehouse_url)  # flags: detractor m3 (a script tag), question m1, promoter m4
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:  # mallory's flag holds 3 posts and follows a closed flag
        conn.execute(
            sa.text(
                "UPDATE flags SET posts = 3, previous_mention_id = 'm0' WHERE mention_id = 'm3'"
            )
        )
    day = dt.date(2026, 11, 20)
    # 14 quiet days (40 mentions, 4 negative), then a bad day: 120 mentions, 60 negative.
    for n in range(1, 15):
        put_day(engine, day - dt.timedelta(days=n), 40, 20, 4)
    put_day(engine, day, 120, 30, 60)

    result = notify(config, day.isoformat(), warehouse_url)

    html_path = config.reports_path / "2026-11-20" / "digest.html"
    chart = config.reports_path / "2026-11-20" / "chart.png"
    assert result["html_path"] == str(html_path) and result["spikes"] == 1
    html = html_path.read_text(encoding="utf-8")
    assert '<td class="num" id="volume">120</td>' in html
    assert '<td class="num" id="volume-before">40.0</td>' in html
    # Net sentiment: (30 - 60) / 120 = -0.25 today, (20 - 4) / 40 = 0.4 the week before.
    assert '<td class="num" id="net">-0.250</td>' in html
    assert '<td class="num" id="net-before">0.400</td>' in html
    assert "+80.0" in html and "-0.650" in html
    assert "Negative spikes" in html and ">60<" in html
    for heading, author in [
        ("Open detractors", "mallory"),
        ("Unanswered questions", "alice"),
        ("Promoters to thank", "bob"),
    ]:
        assert heading in html and author in html
    assert SCRIPT_TEXT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<td class="num">3 (again)</td>' in html  # grouped posts, a relapse
    assert '<img src="chart.png"' in html
    data = chart.read_bytes()
    assert data.startswith(PNG_MAGIC) and b"IEND" in data[-16:]
    # PNG header: width and height big-endian after the IHDR tag.
    assert int.from_bytes(data[16:20], "big") > 400 and int.from_bytes(data[20:24], "big") > 200

    # Resolved flags leave the digest; a rerun rewrites the same files.
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE flags SET status = 'resolved' WHERE kind = 'detractor'"))
    notify(config, day.isoformat(), warehouse_url)
    html = html_path.read_text(encoding="utf-8")
    assert "mallory" not in html and "None open." in html


def test_digest_of_a_first_day_has_no_comparison(tmp_path: Path, sqlite_url: str) -> None:
    config = load_config(write_config(tmp_path / "c.yaml", tmp_path / "ex", tmp_path / "staging"))
    seed(sqlite_url)
    put_day(make_engine(sqlite_url), dt.date(2026, 11, 1), 10, 5, 1)
    result = notify(config, "2026-11-01", sqlite_url)
    html = Path(result["html_path"]).read_text(encoding="utf-8")
    assert '<td class="num" id="volume-before">n/a</td>' in html and result["spikes"] == 0
    assert Path(result["chart_path"]).read_bytes().startswith(PNG_MAGIC)


def test_digest_is_mailed_through_the_smtp_notifier(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtpd = pytest.importorskip("smtpd", reason="smtpd left the standard library in 3.12")
    import asyncore

    received: list[tuple[str, list[str], bytes]] = []

    class Inbox(smtpd.SMTPServer):
        def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):  # type: ignore[override]
            received.append((mailfrom, rcpttos, data))

    server = Inbox(("127.0.0.1", 0), None)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.05}, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv(
            "AIRFLOW_CONN_SMTP_TEST",
            json.dumps(
                {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": port,
                    "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "d@x.test"},
                }
            ),
        )
        config = load_config(
            write_config(
                tmp_path / "c.yaml",
                tmp_path / "ex",
                tmp_path / "staging",
                digest={"to": ["cm@x.test"], "smtp_conn_id": "smtp_test"},
            )
        )
        seed(sqlite_url)
        put_day(make_engine(sqlite_url), dt.date(2026, 11, 1), 10, 5, 1)
        result = notify(config, "2026-11-01", sqlite_url)
        assert send_digest(config, result) is True
        assert len(received) == 1
        sender, recipients, data = received[0]
        assert (sender, recipients) == ("d@x.test", ["cm@x.test"])
        assert b"sentiment digest for 2026-11-01" in data and b"chart.png" in data
        # Nobody to send to: written, not mailed.
        quiet = config.model_copy(update={"digest": config.digest.model_copy(update={"to": []})})
        assert send_digest(quiet, result) is False and len(received) == 1
    finally:
        server.close()
