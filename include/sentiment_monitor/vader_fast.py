"""Temporary stand-in until the linear-time scorer lands: delegates to vaderSentiment 3.3.2."""

from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


class FastSentimentAnalyzer:
    def __init__(self, lexicon_overrides: dict[str, float] | None = None) -> None:
        self._inner = SentimentIntensityAnalyzer()
        if lexicon_overrides:
            self._inner.lexicon.update(lexicon_overrides)

    def polarity_scores(self, text: str) -> dict[str, float]:
        return self._inner.polarity_scores(text)
