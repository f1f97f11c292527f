"""The compiled copies (``sentiment_monitor.native``) are used only while they match their source.

A compiled copy is stood in for here by a plain module of the same name on ``sys.path``: what
:func:`native.load` decides on is its name and its ``NATIVE_SOURCE_SHA256``, not how it was made.
That ``make`` really builds and uses the compiled scorer is shown by ``test_vader_fast.py``
(every test there runs on it too, and fails under CI when it is missing) and by the bench,
which compares every score the pipeline stored with vaderSentiment's.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentiment_monitor import native, scoring
from sentiment_monitor.vader_fast import FastSentimentAnalyzer
from tests.conftest import ROOT, compiled_copy, write_config


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder first on ``sys.path``, with no compiled scorer imported or decided yet."""
    name = native.native_name("vader_fast")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    native.load.cache_clear()
    scoring._ANALYZERS.clear()
    yield tmp_path
    sys.modules.pop(name, None)
    native.load.cache_clear()
    scoring._ANALYZERS.clear()


def _write_stand_in(folder: Path, digest: str) -> None:
    (folder / f"{native.native_name('vader_fast')}.py").write_text(
        "class FastSentimentAnalyzer:\n"
        "    def __init__(self, lexicon_overrides=None):\n"
        "        pass\n"
        "    def polarity_scores(self, text):\n"
        "        return {'neg': 0.0, 'neu': 0.0, 'pos': 0.0, 'compound': 0.5}\n"
        f"{native.DIGEST_NAME} = {digest!r}\n"
    )


def test_a_copy_built_from_the_current_source_is_used(stand_in: Path) -> None:
    _write_stand_in(stand_in, native.source_digest("vader_fast"))
    chosen = native.fast_analyzer_class()
    assert chosen is not FastSentimentAnalyzer
    assert chosen.__module__ == native.native_name("vader_fast")
    assert native.implementation() == "compiled"
    # The pipeline's scorer goes through the same choice.
    assert scoring.analyzer().polarity_scores("anything")["compound"] == 0.5


def test_a_copy_built_from_another_source_is_ignored_with_a_warning(
    stand_in: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write_stand_in(stand_in, "0" * 64)
    with caplog.at_level(logging.WARNING, logger="sentiment_monitor.native"):
        assert native.fast_analyzer_class() is FastSentimentAnalyzer
    assert native.implementation() == "python"
    assert "built from another version of vader_fast.py" in caplog.text
    scores = scoring.analyzer().polarity_scores("I love it")
    assert scores == FastSentimentAnalyzer().polarity_scores("I love it")


def test_without_a_copy_the_python_source_scores(stand_in: Path, monkeypatch) -> None:
    # Whatever make built into the environment, nothing of that name can be imported now.
    def refuse(name: str, *args, **kwargs):
        raise ImportError(name)

    monkeypatch.setattr(native.importlib, "import_module", refuse)
    assert native.fast_analyzer_class() is FastSentimentAnalyzer
    assert native.implementation() == "python"


def test_the_digest_is_of_the_source_file_as_it_is(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "vader_fast.py"
    source.write_text("x = 1\n")
    monkeypatch.setattr(native, "source_path", lambda module: source)
    before = native.source_digest("vader_fast")
    source.write_text("x = 2\n")
    assert native.source_digest("vader_fast") != before
    assert len(before) == 64


def test_sentiment_native_off_runs_everything_as_python(monkeypatch) -> None:
    monkeypatch.setenv("SENTIMENT_NATIVE", "off")
    native.load.cache_clear()
    try:
        assert native.load("vader_fast") is None and native.load("normalize") is None
        assert native.fast_analyzer_class() is FastSentimentAnalyzer
    finally:
        native.load.cache_clear()


def _normalized(config, days: list[str], staging: Path) -> list[dict]:
    """What normalize_day made of each day: its counts, and the rows of its parts, drop lists
    and rejects, named relative to ``staging`` (the paths differ between runs)."""
    import numpy as np
    import pyarrow.parquet as pq

    from sentiment_monitor.normalize import drop_path, normalize_day
    from sentiment_monitor.sources import build_source

    made = []
    for day in days:
        source = build_source(config.sources[0], config.brand, staging / "landing")
        result = normalize_day(
            config, day, [source.extract(dt.date.fromisoformat(day))], staging / day
        ).to_dict()
        files = {
            Path(path).relative_to(staging).as_posix(): pq.read_table(path).to_pylist()
            for path in result["parts"] + result["rejects"]
        }
        drops = {
            Path(path).name: np.load(drop_path(path)).tolist()
            for path in result["parts"]
            if drop_path(path).exists()
        }
        counts = {k: v for k, v in result.items() if k not in ("parts", "rejects")}
        made.append({"counts": counts, "files": files, "drops": drops})
    return made


@pytest.mark.parametrize("workers", [1, 2])
def test_compiled_normalize_makes_what_the_python_source_makes(
    tmp_path: Path, monkeypatch, workers: int
) -> None:
    """On a generated day (HTML, emoji, threads, duplicates, malformed records, a long post,
    several files of both formats) and the shipped sample's week, the compiled normalize writes
    the same rows, drop lists, rejects and counts as its Python source, in a pool and alone."""
    from sentiment_monitor.config import load_config
    from sentiment_monitor.sample import generate_day

    compiled_copy("normalize")
    exports = tmp_path / "exports"
    generated = dt.date(2026, 11, 20)
    generate_day(
        generated, 3_000, 7, malformed=40, out_dir=exports, files=2, long_post_chars=30_000
    )
    sample = sorted(p.name for p in (ROOT / "data" / "sample" / "exports").iterdir())
    shutil.copytree(ROOT / "data" / "sample" / "exports", exports, dirs_exist_ok=True)
    days = [generated.isoformat(), *sample]
    outputs = {}
    for mode in ("compiled", "python"):
        if mode == "python":
            monkeypatch.setenv("SENTIMENT_NATIVE", "off")
        native.load.cache_clear()
        staging = tmp_path / mode
        config = load_config(
            write_config(
                tmp_path / f"{mode}.yaml",
                exports,
                staging,
                scoring={"chunk_rows": 500, "workers": workers},
            )
        )
        outputs[mode] = _normalized(config, days, staging)
    native.load.cache_clear()
    compiled, python = outputs["compiled"], outputs["python"]
    assert sum(day["counts"]["rejected"] for day in python) >= 40
    assert sum(day["counts"]["duplicates"] for day in python) > 0
    for day, mine, theirs in zip(days, compiled, python, strict=True):
        assert mine == theirs, day
