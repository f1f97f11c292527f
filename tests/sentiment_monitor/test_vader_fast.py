"""``FastSentimentAnalyzer`` must return exactly what vaderSentiment 3.3.2 returns.

Corpus file ``tests/data/vader_corpus.txt`` (made by ``scripts/make_vader_corpus.py``, committed):
UTF-8, one text per line, lines separated by ``\\n`` only. Inside a line a backslash starts an
escape: ``\\\\`` is a backslash, ``\\n`` a line feed, ``\\r`` a carriage return, ``\\t`` a tab and
``\\uXXXX`` the code point XXXX (hex); control characters, line/paragraph separators and
whitespace at the end of a line are always escaped. An empty line is the empty text.

Every test runs on both implementations of the scorer: the Python source and its compiled copy
(``sentiment_monitor.native``, which ``make`` builds; skipped where it is not built, except under
CI, where a missing build fails).

No test here times anything: speed is measured outside the suite.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from sentiment_monitor.vader_fast import FastSentimentAnalyzer
from tests.conftest import compiled_copy

CORPUS = Path(__file__).resolve().parents[1] / "data" / "vader_corpus.txt"
GENERATOR = Path(__file__).resolve().parents[2] / "scripts" / "make_vader_corpus.py"
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|[\\nrt])")
_SIMPLE = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(line: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code[1:], 16)) if code[0] == "u" else _SIMPLE[code]

    return _ESCAPE.sub(one, line)


def _load_corpus() -> list[str]:
    raw = CORPUS.read_bytes().decode("utf-8")
    assert raw.endswith("\n"), "corpus must end with a newline"
    return [_unescape(line) for line in raw[:-1].split("\n")]


TEXTS = _load_corpus()


@pytest.fixture(scope="module")
def original() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


@pytest.fixture(scope="module", params=["python", "compiled"])
def analyzer_class(request: pytest.FixtureRequest) -> type[FastSentimentAnalyzer]:
    """The scorer's class: its Python source, or the compiled copy ``make`` built from it."""
    if request.param == "python":
        return FastSentimentAnalyzer
    copy = compiled_copy("vader_fast")
    assert copy.FastSentimentAnalyzer is not FastSentimentAnalyzer
    return copy.FastSentimentAnalyzer  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def fast(analyzer_class: type[FastSentimentAnalyzer]) -> FastSentimentAnalyzer:
    return analyzer_class()


def _long_text(size: int) -> str:
    """A deterministic post of ``size`` characters cycling through the corpus's short texts."""
    short = [t for t in TEXTS if 0 < len(t) <= 280]
    parts: list[str] = []
    total = 0
    k = 0
    while total <= size:
        part = short[(k * 7919) % len(short)]
        parts.append(part)
        total += len(part) + 1
        k += 1
    return " ".join(parts)[:size]


def test_corpus_is_varied() -> None:
    assert len(TEXTS) >= 400
    assert "" in TEXTS
    assert any(t and not t.strip() for t in TEXTS)
    assert sum(5_000 <= len(t) <= 20_000 for t in TEXTS) >= 3
    for needle in (
        "never so",
        "kind of",
        "least",
        " but ",
        "😀",
        "💔",
        "🔥",
        "the bomb",
        "yeah right",
        "cut the mustard",
        "kiss of death",
        "hand to mouth",
        "!!!",
        "??",
        "isn't",
        "http",
        "@",
        "#",
        "&amp;",
        "\n",
    ):
        assert any(needle in t for t in TEXTS), needle
    assert any(t.isupper() for t in TEXTS)


def test_corpus_is_what_the_generator_makes() -> None:
    # Also checks the escaping round trip. To add a case, edit the script and rerun it.
    spec = importlib.util.spec_from_file_location("make_vader_corpus", GENERATOR)
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.build() == TEXTS


def test_every_corpus_text_scores_identically(
    original: SentimentIntensityAnalyzer, fast: FastSentimentAnalyzer
) -> None:
    mismatches = []
    for number, text in enumerate(TEXTS, start=1):
        expected = original.polarity_scores(text)
        got = fast.polarity_scores(text)
        if got != expected:
            mismatches.append((number, text[:80], expected, got))
    assert not mismatches, f"{len(mismatches)} texts differ, first: {mismatches[:3]}"


def test_but_rescales_the_first_equal_score_like_vader(
    original: SentimentIntensityAnalyzer, fast: FastSentimentAnalyzer
) -> None:
    # "xoxo" is 3.0 and "like" 1.5. VADER halves "xoxo" to 1.5; then, for "like", list.index(1.5)
    # finds "xoxo" first, so "xoxo" is halved again (0.75) and "like" keeps 1.5 instead of 2.25.
    # A straightforward rewrite would score this differently; the fast one must not.
    quirky = fast.polarity_scores("xoxo but like")
    assert quirky == original.polarity_scores("xoxo but like")
    pos_sum = (0.75 + 1) + (1.5 + 1)
    assert quirky["pos"] == round(pos_sum / (pos_sum + 1), 3)


def test_scores_are_plain_dicts_of_floats(fast: FastSentimentAnalyzer) -> None:
    for text in ("", "good", "bad but good!!"):
        scores = fast.polarity_scores(text)
        assert list(scores) == ["neg", "neu", "pos", "compound"]
        assert all(type(v) is float for v in scores.values())


def test_repeated_scoring_is_stable(
    original: SentimentIntensityAnalyzer, fast: FastSentimentAnalyzer
) -> None:
    # The token cache must not leak state from one text into the next.
    for text in TEXTS[:200] + TEXTS[:200]:
        if len(text) <= 280:
            assert fast.polarity_scores(text) == original.polarity_scores(text)


def test_long_text_completes_and_prefix_matches(
    original: SentimentIntensityAnalyzer, fast: FastSentimentAnalyzer
) -> None:
    text = _long_text(200_000)
    assert len(text) == 200_000
    scores = fast.polarity_scores(text)
    assert set(scores) == {"neg", "neu", "pos", "compound"}
    assert -1.0 <= scores["compound"] <= 1.0
    # The original is quadratic, so compare on a prefix it scores in about a second.
    prefix = text[:20_000]
    assert fast.polarity_scores(prefix) == original.polarity_scores(prefix)


def test_override_changes_score(analyzer_class: type[FastSentimentAnalyzer]) -> None:
    text = "killer queen is killer"
    plain = analyzer_class()
    assert plain.polarity_scores(text)["compound"] < 0  # "killer" is -3.3 in VADER's lexicon
    tuned = analyzer_class(lexicon_overrides={"killer": 2.0})
    assert tuned.polarity_scores(text)["compound"] > 0
    assert tuned.polarity_scores("bad")["compound"] < 0  # other words untouched


def test_without_overrides_equals_original(
    original: SentimentIntensityAnalyzer, analyzer_class: type[FastSentimentAnalyzer]
) -> None:
    no_overrides: tuple[dict[str, float] | None, ...] = (None, {})
    for overrides in no_overrides:
        analyzer = analyzer_class(lexicon_overrides=overrides)
        for text in TEXTS[:150]:
            assert analyzer.polarity_scores(text) == original.polarity_scores(text)


def test_override_equals_original_with_updated_lexicon(
    analyzer_class: type[FastSentimentAnalyzer],
) -> None:
    overrides = {"killer": 2.0, "sick": 1.5, "brand": 0.0, "meh": -1.0, "so": 1.0, "least": 0.5}
    reference = SentimentIntensityAnalyzer()
    reference.lexicon.update(overrides)
    analyzer = analyzer_class(lexicon_overrides=overrides)
    texts = [t for t in TEXTS if len(t) <= 280] + ["killer queen is killer", "so sick", "at least"]
    for text in texts:
        assert analyzer.polarity_scores(text) == reference.polarity_scores(text), text


def test_overrides_do_not_leak_between_instances(
    analyzer_class: type[FastSentimentAnalyzer],
) -> None:
    analyzer_class(lexicon_overrides={"good": -3.0})
    assert analyzer_class().polarity_scores("good")["compound"] > 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"": 1.0},
        {"kiss of death": -2.0},
        {"Killer": 2.0},
        {"killer": float("nan")},
        {"killer": "high"},
        {"killer": True},
    ],
)
def test_bad_overrides_are_refused(
    overrides: dict[str, float], analyzer_class: type[FastSentimentAnalyzer]
) -> None:
    with pytest.raises(ValueError):
        analyzer_class(lexicon_overrides=overrides)
