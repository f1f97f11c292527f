"""Issue 4's acceptance through the real DAG: Mastodon and Bluesky against loopback fakes.

Each test builds one UTC day D on a fake Mastodon instance and a fake Bluesky service (the same
fakes the source unit tests use), points the Airflow connections ``mastodon_default`` and
``bluesky_default`` at them through ``AIRFLOW_CONN_*`` variables (JSON form, so the ``http://``
scheme of the loopback host survives), runs the whole nightly DAG with ``dag.test()`` and reads
the SQLite warehouse. The expected ids are written down while the world is built, not read back
from the code.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import write_config
from tests.sentiment_monitor.sources.fake_bluesky import FakeBluesky
from tests.sentiment_monitor.sources.fake_mastodon import FakeMastodon
from tests.sentiment_monitor.sources.fake_mastodon import iso as mastodon_iso
from tests.sentiment_monitor.sources.loopback import LoopbackServer, Reply

pytestmark = pytest.mark.e2e

DAY = "2026-11-20"
START = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
END = START + dt.timedelta(days=1)
NOW = END + dt.timedelta(hours=1)
TICK = dt.timedelta(milliseconds=1)
HOUR = dt.timedelta(hours=1)
TOKEN = "mstdn-SECRET-token-5b1f9e7a"
HANDLE = "brand.bsky.social"
APP_PASSWORD = "bsky-SECRET-app-pass-q7x2"
BRAND = {"name": "Example", "handles": {"mastodon": "brand", "bluesky": HANDLE}}
NETWORK_SOURCES = [
    {"type": "mastodon", "conn_id": "mastodon_default"},
    {"type": "bluesky", "conn_id": "bluesky_default"},
]
M_NOTIFICATIONS = "/api/v1/notifications"
B_NOTIFICATIONS = "/xrpc/app.bsky.notification.listNotifications"

#: A mention as Mastodon renders it: an h-card link, entities, two paragraphs.
HTML_MENTION = (
    '<p>Hey <span class="h-card"><a href="https://social.example/@brand" class="u-url mention">'
    "@<span>brand</span></a></span> I &lt;3 your &quot;cold brew&quot; &amp; beans</p>"
    "<p>Second&nbsp;para</p>"
)
HTML_MENTION_TEXT = 'Hey @brand I <3 your "cold brew" & beans\nSecond\xa0para'


class Network:
    """Day D on both fakes, with traffic on both sides of both edges, and what must load."""

    def __init__(self, token: str = TOKEN, password: str = APP_PASSWORD) -> None:
        self.expected: set[str] = set()
        self.texts: dict[str, str] = {}
        self.mastodon = FakeMastodon(token, NOW)
        self.bluesky = FakeBluesky(HANDLE, password, NOW)
        self._mastodon_day()
        self._bluesky_day()
        self.mastodon_server = LoopbackServer(self.mastodon).start()
        self.bluesky_server = LoopbackServer(self.bluesky).start()

    def keep(self, item: dict[str, Any], text: str | None = None) -> dict[str, Any]:
        """Note ``item`` (a Mastodon status or a Bluesky post view) as one D must load."""
        key = item.get("uri") if "cid" in item else item["id"]
        self.expected.add(key)
        if text is not None:
            self.texts[key] = text
        return item

    def _mastodon_day(self) -> None:
        fake = self.mastodon
        brand = fake.brand
        alice, bob = fake.account("alice"), fake.account("bob@remote.example")
        carol, dave = fake.account("carol"), fake.account("dave")
        launch = fake.post(brand, START - 3 * 24 * HOUR, "<p>We launched!</p>")
        deal = fake.post(brand, START + 8 * HOUR, "<p>Today&#39;s deal</p>")
        for moment in (START - TICK, START, END - TICK, END):
            status = fake.post(
                alice, moment, f"<p>@brand at {moment:%H:%M:%S.%f}</p>", mention_brand=True
            )
            if START <= moment < END:
                self.keep(status)
        self.keep(
            fake.post(alice, START + 12 * HOUR, HTML_MENTION, mention_brand=True), HTML_MENTION_TEXT
        )
        # a thread under an older brand post: replies before and on the day, the brand's answer
        fake.post(dave, START - 2 * HOUR, "<p>too early</p>", reply_to=launch)
        reply = self.keep(
            fake.post(bob, START + 10 * HOUR, "<p>Broken &amp; late!</p>", reply_to=launch),
            "Broken & late!",
        )
        self.keep(fake.post(carol, START + 11 * HOUR, "<p>same here</p>", reply_to=reply))
        self.keep(fake.post(brand, START + 10.5 * HOUR, "<p>Sorry, fixing it</p>", reply_to=reply))
        fake.post(carol, END + 10 * TICK, "<p>later</p>", reply_to=deal)
        # never mentions: a direct message, boosts, favourites, follows
        fake.post(
            dave, START + 13 * HOUR, "<p>secret DM</p>", visibility="direct", mention_brand=True
        )
        fake.notify("reblog", alice, START + 14 * HOUR, deal)
        fake.notify("favourite", carol, START + 14 * HOUR, deal)
        fake.notify("follow", dave, START + 15 * HOUR, None)
        fake.post(brand, START + 16 * HOUR, "", reblog=reply)

    def _bluesky_day(self) -> None:
        fake = self.bluesky
        brand = fake.brand
        alice, bob = fake.actor("alice.bsky.social"), fake.actor("bob.test")
        carol, dave, erin = (
            fake.actor("carol.test"),
            fake.actor("dave.test"),
            fake.actor("erin.test"),
        )
        launch = fake.post(brand, START - 2 * 24 * HOUR, "We launched!")
        deal = fake.post(brand, START + 8 * HOUR, "Today's deal")
        for moment in (START - TICK, START, END - TICK, END):
            post = fake.post(alice, moment, f"@brand at {moment:%H:%M:%S.%f}", mention_brand=True)
            if START <= moment < END:
                self.keep(post)
        reply = self.keep(
            fake.post(bob, START + 10 * HOUR, "Broken &amp; late!", reply_to=launch),
            "Broken & late!",
        )
        self.keep(fake.post(brand, START + 10.5 * HOUR, "Sorry!", reply_to=reply))
        fake.post(dave, START - 3 * HOUR, "too early", reply_to=launch)
        fake.post(carol, END + 5 * TICK, "too late", reply_to=deal)
        # a thread the brand answered yesterday: a reply below it today comes only by the thread
        question = fake.post(carol, START - 6 * HOUR, "does it work offline?")
        helped = fake.post(brand, START - 4 * HOUR, "Yes!", reply_to=question)
        below = self.keep(fake.post(dave, START + 9 * HOUR, "not for me", reply_to=helped))
        self.keep(fake.post(erin, START + 9.5 * HOUR, "same", reply_to=below))
        self.keep(fake.post(dave, START + 14 * HOUR, "lol, 10/10", quote=deal), "lol, 10/10")
        # clients set createdAt to anything; the day follows indexedAt
        self.keep(
            fake.post(
                dave,
                START + 16 * HOUR,
                "@brand hi",
                created_at="2099-01-01T00:00:00Z",
                mention_brand=True,
            )
        )
        # never mentions: likes, reposts, follows
        fake.like(alice, deal, START + 12 * HOUR)
        fake.repost(bob, deal, START + 12.5 * HOUR)
        fake.follow(carol, START + 13 * HOUR)
        fake.repost(brand, reply, START + 15 * HOUR)

    def late_activity(self) -> set[str]:
        """Posts of D that reach the services only after a first run; return their ids."""
        alice = self.mastodon.account("zoe")
        status = self.mastodon.post(
            alice, START + 20 * HOUR, "<p>@brand late one</p>", mention_brand=True
        )
        erin = self.bluesky.actor("late.test")
        post = self.bluesky.post(erin, END - HOUR, "@brand me too", mention_brand=True)
        return {status["id"], post["uri"]}

    def connections(self, monkeypatch: pytest.MonkeyPatch, token: str, password: str) -> None:
        """``mastodon_default`` and ``bluesky_default`` for dag.test, as JSON connections."""
        mastodon = {"conn_type": "http", "host": self.mastodon_server.url, "password": token}
        bluesky = {
            "conn_type": "http",
            "host": self.bluesky_server.url,
            "login": HANDLE,
            "password": password,
        }
        monkeypatch.setenv("AIRFLOW_CONN_MASTODON_DEFAULT", json.dumps(mastodon))
        monkeypatch.setenv("AIRFLOW_CONN_BLUESKY_DEFAULT", json.dumps(bluesky))

    def stop(self) -> None:
        self.mastodon_server.stop()
        self.bluesky_server.stop()


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Iterator[Network]:
    world = Network()
    world.connections(monkeypatch, TOKEN, APP_PASSWORD)
    yield world
    world.stop()


def config_for(tmp_path: Path, sources: list[dict[str, Any]]) -> Path:
    """A configuration with ``sources``, the fakes' brand, staging and landing under tmp_path."""
    return write_config(
        tmp_path / "config.yaml",
        tmp_path / "exports",
        tmp_path / "staging",
        sources=sources,
        brand=BRAND,
    )


def run_day(
    dag: Any, day: str, config: Path, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict[str, list[str]]]:
    """Run the DAG for ``day``; return the run's state and each task's states (mapped: a list)."""
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    from sentiment_monitor.cli import logical_date_for

    monkeypatch.setenv("SENTIMENT_CONFIG", str(config))
    monkeypatch.setenv("AIRFLOW_CONN_SENTIMENT_WAREHOUSE", warehouse)
    run = dag.test(logical_date=dt.datetime.fromisoformat(logical_date_for(day)))
    states: dict[str, list[str]] = {}
    with create_session() as session:
        tis = session.query(TaskInstance).filter(
            TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == run.run_id
        )
        for ti in sorted(tis, key=lambda t: (t.task_id, t.map_index)):
            states.setdefault(ti.task_id, []).append(str(ti.state))
    return str(run.state), states


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def mention_ids(url: str) -> list[str]:
    return sorted(row[0] for row in query(url, "SELECT mention_id FROM mentions"))


def audit(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT day, records_read, loaded, rejected, duplicates FROM load_audit")


def test_a_day_of_mastodon_and_bluesky_loads_exactly_its_mentions_as_text(
    nightly: Any, network: Network, tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_for(tmp_path, NETWORK_SOURCES)
    state, tasks = run_day(nightly, DAY, config, sqlite_url, monkeypatch)
    assert state == "success", tasks

    expected = sorted(network.expected)
    assert len(expected) == 14  # 6 on Mastodon, 8 on Bluesky, counted while building the day
    assert mention_ids(sqlite_url) == expected
    n = len(expected)
    assert audit(sqlite_url) == [(DAY, n, n, 0, 0)]
    rows = dict(query(sqlite_url, "SELECT mention_id, text FROM mentions"))
    for mention_id, text in network.texts.items():
        assert rows[mention_id] == text
    for text in rows.values():
        assert not re.search(r"</?[a-z]+[ >/]|&(?:amp|lt|gt|quot|#\d+|nbsp);", text), text
    platforms = dict(query(sqlite_url, "SELECT platform, COUNT(*) FROM mentions GROUP BY platform"))
    assert platforms == {"mastodon": 6, "bluesky": 8}


def test_a_rate_limit_is_waited_out_and_the_day_completes(
    nightly: Any,
    network: Network,
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Each service says its window is used up and resets about a second from now.
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    network.mastodon_server.inject(
        M_NOTIFICATIONS,
        Reply(
            429,
            {"error": "Too many requests"},
            {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": mastodon_iso(soon),
            },
        ),
    )
    network.bluesky_server.inject(
        B_NOTIFICATIONS,
        Reply(
            429,
            {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            {
                "RateLimit-Limit": "3000",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(int(soon.timestamp()) + 1),
                "RateLimit-Policy": "3000;w=300",
            },
        ),
    )
    config = config_for(tmp_path, NETWORK_SOURCES)
    state, tasks = run_day(nightly, DAY, config, sqlite_url, monkeypatch)
    assert state == "success", tasks
    # The first notifications request got the 429 (the injected reply is used up), a later one
    # the page: the retry went on and nothing of the day is missing.
    for server, path in (
        (network.mastodon_server, M_NOTIFICATIONS),
        (network.bluesky_server, B_NOTIFICATIONS),
    ):
        assert server.pending(path) == 0
        assert len(server.calls(path)) >= 2
    for name, path in (("mastodon", M_NOTIFICATIONS), ("bluesky", B_NOTIFICATIONS)):
        assert f"source '{name}': GET {path} rate limited (HTTP 429)" in caplog.text
    assert mention_ids(sqlite_url) == sorted(network.expected)


def test_a_crash_before_the_load_then_reruns_lose_and_double_nothing(
    nightly: Any, network: Network, tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_for(tmp_path, NETWORK_SOURCES)
    # A warehouse path under a regular file: every step up to the load works, the load fails.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    state, tasks = run_day(nightly, DAY, config, f"sqlite:///{blocker}/warehouse.db", monkeypatch)
    assert state == "failed"
    assert tasks["extract"] == ["success", "success"]
    assert tasks["normalize"] == tasks["score"] == tasks["validate"] == ["success"]
    assert tasks["load"] == ["failed"]

    state, tasks = run_day(nightly, DAY, config, sqlite_url, monkeypatch)
    assert state == "success", tasks
    n = len(network.expected)
    assert mention_ids(sqlite_url) == sorted(network.expected)
    assert audit(sqlite_url) == [(DAY, n, n, 0, 0)]
    landed = sorted(
        p.relative_to(tmp_path / "landing") for p in (tmp_path / "landing").rglob("*.jsonl")
    )
    assert [str(p) for p in landed] == [
        f"{DAY}/bluesky/records.jsonl",
        f"{DAY}/mastodon/records.jsonl",
    ]

    # Posts of D that reached the services late: the next rerun adds them, doubles nothing.
    late = network.late_activity()
    state, tasks = run_day(nightly, DAY, config, sqlite_url, monkeypatch)
    assert state == "success", tasks
    assert mention_ids(sqlite_url) == sorted(network.expected | late)
    assert audit(sqlite_url) == [(DAY, n + 2, n + 2, 0, 0)]


def _assert_nowhere(
    secrets: list[str],
    *,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    folders: list[Path],
    warehouse: str,
) -> str:
    """No secret in output, logs, files under ``folders`` or the warehouse; return all text seen."""
    import os

    import pyarrow.parquet as pq

    captured = capfd.readouterr()
    places: dict[str, str] = {
        "stdout": captured.out,
        "stderr": captured.err,
        "logs": caplog.text
        + "\n".join(f"{r.msg!r} {r.args!r} {r.exc_text}" for r in caplog.records),
    }
    files = [p for folder in folders for p in folder.rglob("*") if p.is_file()]
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        if path.suffix == ".parquet":
            text += str(pq.read_table(path).to_pylist())
        places[str(path)] = text
    engine = sa.create_engine(warehouse)
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            rows = conn.execute(sa.text(f"SELECT * FROM {table}")).all()
            places[f"warehouse table {table}"] = repr(rows)
    engine.dispose()
    assert len(files) > 3 and os.environ["AIRFLOW_HOME"]
    for secret in secrets:
        assert len(secret) >= 8
        for place, text in places.items():
            assert secret not in text, f"a credential appears in {place}"
    return "\n".join(places.values())


def test_no_credential_anywhere_even_when_sources_fail(
    nightly: Any,
    network: Network,
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging
    import os

    caplog.set_level(logging.DEBUG)
    airflow_home = Path(os.environ["AIRFLOW_HOME"])
    folders = [tmp_path, airflow_home]
    config = config_for(tmp_path, NETWORK_SOURCES)
    state, tasks = run_day(nightly, DAY, config, sqlite_url, monkeypatch)
    assert state == "success", tasks
    assert mention_ids(sqlite_url) == sorted(network.expected)
    secrets = [TOKEN, APP_PASSWORD, *network.bluesky.issued]
    _assert_nowhere(secrets, capfd=capfd, caplog=caplog, folders=folders, warehouse=sqlite_url)

    # The next day: Mastodon refuses another secret-looking token (401), Bluesky keeps
    # answering 500; the file export of that day still loads, and the run ends failed.
    next_day = "2026-11-21"
    exports = tmp_path / "exports" / next_day
    exports.mkdir(parents=True)
    (exports / "export.jsonl").write_text(
        json.dumps(
            {
                "platform": "mastodon",
                "id": "9001",
                "author": "fan",
                "created_at": f"{next_day}T09:00:00Z",
                "text": "Great coffee, thanks!",
            }
        )
        + "\n"
    )
    wrong_token = "mstdn-SECRET-wrong-0c4d8a21"
    network.connections(monkeypatch, wrong_token, APP_PASSWORD)
    network.bluesky_server.inject(
        B_NOTIFICATIONS, *[Reply(500, {"error": "InternalServerError"}) for _ in range(5)]
    )
    failing = {"max_retries": 1, "backoff_seconds": 0}
    config = config_for(
        tmp_path,
        [
            {"type": "file", "name": "exports", "path": str(tmp_path / "exports")},
            {**NETWORK_SOURCES[0], **failing},
            {**NETWORK_SOURCES[1], **failing},
        ],
    )
    state, tasks = run_day(nightly, next_day, config, sqlite_url, monkeypatch)
    assert state == "failed"
    assert tasks["extract"] == ["success", "failed", "failed"]
    assert tasks["load"] == tasks["flag"] == tasks["marts"] == tasks["finish"] == ["success"]
    assert tasks["sources_complete"] == ["upstream_failed"]
    assert "9001" in mention_ids(sqlite_url)
    secrets = [TOKEN, wrong_token, APP_PASSWORD, *network.bluesky.issued]
    seen = _assert_nowhere(
        secrets, capfd=capfd, caplog=caplog, folders=folders, warehouse=sqlite_url
    )
    assert re.search(r"source 'mastodon'.*HTTP 401", seen)
    assert re.search(r"source 'bluesky'.*HTTP 500", seen)

    # Day D again while both services fail: D was loaded with their records, so the load
    # refuses to replace it without them, and D keeps every mention.
    network.bluesky_server.inject(
        B_NOTIFICATIONS, *[Reply(500, {"error": "InternalServerError"}) for _ in range(5)]
    )
    state, tasks = run_day(nightly, DAY, config, sqlite_url, monkeypatch)
    assert state == "failed"
    assert tasks["normalize"] == ["success"] and tasks["load"] == ["failed"]
    assert set(network.expected) <= set(mention_ids(sqlite_url))
    seen = _assert_nowhere(
        secrets, capfd=capfd, caplog=caplog, folders=folders, warehouse=sqlite_url
    )
    assert "not loading 2026-11-20 without mastodon, bluesky" in seen


def test_a_vendor_csv_loads_through_a_mapping(
    nightly: Any, tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = "2026-11-01"
    folder = tmp_path / "vendor" / day
    folder.mkdir(parents=True)
    (folder / "export.csv").write_bytes(
        "\ufeffNetwork,Post ID,Handle,Posted,Message,Parent,Link,Reach,Language\r\n"
        "mastodon,77,zoe,01/11/2026 09:15,Love the new roast!,,https://x/77,1200,en\r\n"
        "bluesky,at://z/app.bsky.feed.post/1,yan.bsky.social,01/11/2026 23:59,"
        '"So slow, again?",,,,\r\n'
        "mastodon,78,zed,not a date,hm,,,,\r\n".encode()
    )
    vendor = {
        "type": "file",
        "name": "vendor",
        "path": str(tmp_path / "vendor"),
        "timestamp_format": "%d/%m/%Y %H:%M",
        "assume_timezone": "UTC",
        "mapping": {
            "platform": "Network",
            "id": "Post ID",
            "author": "Handle",
            "created_at": "Posted",
            "text": "Message",
            "in_reply_to_id": "Parent",
            "url": "Link",
            "author_followers": "Reach",
            "lang": "Language",
        },
    }
    config = config_for(tmp_path, [vendor])
    state, tasks = run_day(nightly, day, config, sqlite_url, monkeypatch)
    assert state == "success", tasks
    rows = query(
        sqlite_url,
        "SELECT mention_id, author, text, author_followers FROM mentions ORDER BY mention_id",
    )
    assert rows == [
        ("77", "zoe", "Love the new roast!", 1200),
        ("at://z/app.bsky.feed.post/1", "yan.bsky.social", "So slow, again?", None),
    ]
    assert audit(sqlite_url) == [(day, 3, 2, 1, 0)]
    assert query(sqlite_url, "SELECT COUNT(*) FROM rejects") == [(1,)]
