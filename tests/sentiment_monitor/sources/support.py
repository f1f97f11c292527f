"""Test helpers: a sleep that records instead of waiting, and the check that no secret leaks."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest


class Sleeps(list[float]):
    """Records the waits a client asks for instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def assert_no_secret(
    secrets: list[str],
    *,
    logs: pytest.LogCaptureFixture,
    output: pytest.CaptureFixture[str],
    landing: Path,
    error: BaseException | None = None,
) -> None:
    """No secret in the logs, stdout/stderr, landing files or the error and its traceback."""
    captured = output.readouterr()
    places = {
        "logs": logs.text + "\n".join(repr(r.args) for r in logs.records),
        "stdout": captured.out,
        "stderr": captured.err,
    }
    if landing.exists():
        for path in landing.rglob("*"):
            if path.is_file():
                places[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    if error is not None:
        places["error"] = str(error) + repr(error)
        places["traceback"] = "".join(traceback.format_exception(error))
    assert logs.records or error is not None  # something was captured at all
    for secret in secrets:
        assert secret
        for place, text in places.items():
            assert secret not in text, f"a secret appears in {place}"
