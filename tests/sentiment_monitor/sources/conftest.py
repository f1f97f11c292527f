"""Fixtures shared by the source tests: loopback servers, a recording sleep, the brand, logs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

from sentiment_monitor.config import Brand

from .loopback import Handler, LoopbackServer
from .support import Sleeps


@pytest.fixture
def sleeps() -> Sleeps:
    """An injectable ``sleep`` that returns at once and remembers what was asked."""
    return Sleeps()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], LoopbackServer]]:
    """Start a loopback server for a handler; every server is stopped after the test."""
    servers: list[LoopbackServer] = []

    def start(handler: Handler) -> LoopbackServer:
        server = LoopbackServer(handler).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def brand() -> Brand:
    """The brand of every source test."""
    return Brand(name="Example", handles={"mastodon": "brand", "bluesky": "brand.bsky.social"})


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture every log record, httpx's and httpcore's debug output included."""
    caplog.set_level(logging.DEBUG)
    return caplog
