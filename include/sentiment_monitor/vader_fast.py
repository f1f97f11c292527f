"""VADER sentiment scores, identical to vaderSentiment 3.3.2 but linear in the length of the text.

``FastSentimentAnalyzer().polarity_scores(text)`` returns exactly (float for float) what
``vaderSentiment.vaderSentiment.SentimentIntensityAnalyzer().polarity_scores(text)`` returns, for
every text. It uses VADER's own lexicon, emoji table and constants (taken from the installed
vaderSentiment package, so they cannot drift) and keeps every rule of the original, its oddities
included. Only repeated work is gone.

Why the original is slow
------------------------
vaderSentiment scores a text of ``n`` tokens in roughly ``O(n * k)`` steps, ``k`` being the number
of lexicon words, which on real posts is ``O(n**2)``: a 200,000-character post takes minutes.

* For every lexicon word, ``_negation_check`` runs up to three times and ``_special_idioms_check``
  once, and each call starts by lower-casing the *whole* token list (``[str(w).lower() for w in
  words]``) only to look at the three words before and the two after the current one.
* ``_but_check`` walks the scores and calls ``sentiments.index(value)`` (a linear search) plus a
  ``pop``/``insert`` pair (linear moves) for every token.
* The emoji replacement walks the text one character at a time and builds the result with ``+=``.

What this module does instead
-----------------------------
* Tokens are split, stripped and lower-cased once per text; every rule then reads the lower-cased
  list by index, so each lexicon word costs a constant amount of work.
* Only tokens found in the lexicon (and not boosters, which VADER scores 0 first) are scored; the
  others keep VADER's ``0`` without a call.
* The "but" rule is replayed exactly, quirk included: VADER rescales the *first* score equal to the
  current one (``list.index``), not necessarily the current one, so two equal scores on either side
  of "but" can be rescaled twice or not at all. Zeros stay zero whatever happens, so only non-zero
  scores are tracked, in a min-heap of positions per value, which gives the first position holding
  a value in ``O(log n)``.
* Emoji: a set lookup skips texts without any (and ASCII texts are skipped outright); otherwise
  ``str.translate`` swaps each single-character emoji (the only ones VADER's per-character loop
  can match) for a mark plus its description, and two ``str.replace`` calls turn the marks into
  VADER's spaces. (A first version used a regular expression with a 1,212-emoji character class,
  which ``re`` scans linearly per character: it was the largest cost on short posts.)
* Tokens are cached per analyzer (raw token -> stripped, lower-cased, ALL CAPS, lexicon valence),
  since the same few thousand words make up most posts; the cache is bounded.

Arithmetic is done in the same order and with the same operations as the original, because scores
are compared for exact float equality. What VADER does that looks like a mistake is kept on
purpose, for example (each checked against the original):

* "the bomb" is +3 only with at least three words before "bomb" ("this is the bomb"); "the bomb"
  alone is scored as "bomb", negative. All special idioms work that way.
* "kind of" before a word (three or more words in) adds -0.293 whatever the word's sign, so "it
  was kind of bad" is *more* negative than "it was bad"; and "kind" itself, a positive lexicon
  word, scores 0 whenever "of" follows ("so kind of you" is neutral).
* A lexicon word right after "so" or "this" gets x1.25 when the word three back is not a lexicon
  word ("I like this good"), a side effect of the precedence in VADER's "never so/this" test.
* The "but" rescaling hits the first equal score, as described above.
* Emoji descriptions count for punctuation emphasis: "🔛" becomes "ON! arrow", adding one "!".
* Multi-word lexicon entries ("can't stand") never match, since VADER looks up single
  whitespace-free tokens; lexicon keys with capitals (":D") never match either.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from functools import cache
from heapq import heappop, heappush
from types import MappingProxyType
from typing import cast

from vaderSentiment import vaderSentiment as _vader

__all__ = ["FastSentimentAnalyzer"]

# VADER's own constants, reused rather than copied so they are the very same values.
_N_SCALAR: float = _vader.N_SCALAR
_C_INCR: float = _vader.C_INCR
_BOOSTERS: Mapping[str, float] = MappingProxyType(dict(_vader.BOOSTER_DICT))
_SPECIAL_CASES: Mapping[str, float] = MappingProxyType(dict(_vader.SPECIAL_CASES))
_NEGATE: frozenset[str] = frozenset(_vader.NEGATE)
_PUNCTUATION = string.punctuation
_OR_NOR = ("or", "nor")
# Every word of a multi-word special case or booster: an n-gram can only match if made of these.
_IDIOM_WORDS: frozenset[str] = frozenset(
    word for phrase in (*_SPECIAL_CASES, *_BOOSTERS) if " " in phrase for word in phrase.split(" ")
)
# Marks where an emoji description starts while replacing emoji (see ``_replace_emoji``).
_MARK = "\x00"

# Bound on the per-analyzer token cache; past it the cache is emptied and refilled.
_TOKEN_CACHE_MAX = 200_000

_TokenInfo = tuple[str, str, bool, float | None]
"""Per raw token: (stripped token, its lower case, ALL CAPS?, valence if scored else None)."""


@cache
def _vader_tables() -> tuple[Mapping[str, float], Mapping[str, str]]:
    """VADER's lexicon (word -> valence) and emoji table (emoji -> description), loaded once.

    Loaded by vaderSentiment itself so the parsing (and its quirks) is the original's.
    """
    analyzer = _vader.SentimentIntensityAnalyzer()
    return MappingProxyType(dict(analyzer.lexicon)), MappingProxyType(dict(analyzer.emojis))


@cache
def _emoji_tables() -> tuple[frozenset[str], dict[int, str], bool]:
    """The single-character emoji and a ``str.translate`` table marking each one's description.

    VADER replaces emoji while iterating over the text one character at a time, so a key longer
    than one character (skin tones, variation selectors) can never match; only single characters
    count. Each maps to ``_MARK + description``: the mark stands where VADER may put a space.
    The flag says whether marks can be resolved after translating: true when no description is
    empty, starts or ends with a space or contains the mark (so for VADER 3.3.2's table).
    """
    _, emojis = _vader_tables()
    singles = {key: value for key, value in emojis.items() if len(key) == 1}
    marks_safe = all(
        d and d[0] != " " and d[-1] != " " and _MARK not in d for d in singles.values()
    )
    table = {ord(key): _MARK + value for key, value in singles.items()}
    return frozenset(singles), table, marks_safe


def _check_overrides(overrides: Mapping[str, float]) -> dict[str, float]:
    """Validate lexicon overrides: lower-case single tokens with finite valences."""
    checked: dict[str, float] = {}
    # Read as objects: compiled (native.py), a value typed float would be converted, not checked.
    for word, valence in cast(Mapping[object, object], overrides).items():
        if not isinstance(word, str) or not word:
            raise ValueError(f"lexicon override key must be a non-empty string, got {word!r}")
        if word.split() != [word]:
            raise ValueError(
                f"lexicon override {word!r} contains whitespace: VADER looks up single tokens, so "
                "a multi-word phrase could never match"
            )
        if word != word.lower():
            raise ValueError(
                f"lexicon override {word!r} is not lower case: VADER looks up lower-cased tokens, "
                f"so it could never match (use {word.lower()!r})"
            )
        if isinstance(valence, bool) or not isinstance(valence, int | float):
            raise ValueError(f"lexicon override {word!r} must be a number, got {valence!r}")
        value = float(valence)
        if not math.isfinite(value):
            raise ValueError(f"lexicon override {word!r} must be finite, got {valence!r}")
        checked[word] = value
    return checked


class FastSentimentAnalyzer:
    """Drop-in, linear-time replacement for vaderSentiment 3.3.2's ``SentimentIntensityAnalyzer``.

    Only :meth:`polarity_scores` is provided. Instances are cheap once the first one has loaded
    VADER's tables; an instance keeps a bounded token cache and is not meant to be shared between
    threads that score at the same time (results would still be right, the cache merely racy).
    """

    def __init__(self, lexicon_overrides: Mapping[str, float] | None = None) -> None:
        """Build an analyzer on VADER's lexicon, with ``lexicon_overrides`` applied on top.

        ``lexicon_overrides`` maps a lower-case single word to a valence (VADER's scale is roughly
        -4..+4). The effect is exactly that of updating the original analyzer's ``lexicon`` dict
        with the same entries: an overridden word becomes a lexicon word for every rule (a word
        set to ``0.0`` still counts as "in the lexicon", which matters to the rules that look at
        neighbouring words). Booster words ("very", "so", ...) are checked before the lexicon by
        VADER, so overriding one changes only how neighbouring words treat it. Multi-word phrases
        are refused with ``ValueError``: VADER looks up single whitespace-free tokens, so a phrase
        could never match and would silently do nothing.

        Raises:
            ValueError: an override key is empty, has whitespace or is not lower case, or its
                value is not a finite number.
        """
        base_lexicon, emojis = _vader_tables()
        overrides = _check_overrides(lexicon_overrides or {})
        lexicon = dict(base_lexicon)
        lexicon.update(overrides)
        self._lexicon: dict[str, float] = lexicon
        # Tokens VADER actually scores: lexicon words that are not boosters (boosters get 0 first).
        self._scored: dict[str, float] = {
            word: valence for word, valence in lexicon.items() if word not in _BOOSTERS
        }
        self._emojis: Mapping[str, str] = emojis
        self._emoji_chars, self._emoji_table, self._emoji_marks_safe = _emoji_tables()
        self._emoji_ascii_free = not any(char.isascii() for char in self._emoji_chars)
        self._tokens: dict[str, _TokenInfo] = {}

    # -- text to tokens ---------------------------------------------------------------------------

    def _replace_emoji(self, text: str) -> str:
        """VADER's emoji step: each emoji becomes its description, with a space before it unless
        it starts the text or follows a space (U+0020 only); no space is added after it.

        Done in C: ``translate`` puts ``_MARK + description`` in place of each emoji, then the
        marks become a space, or nothing at the start and after a space. A mark is never preceded
        by a space from a description, since none starts or ends with one (checked when loading).
        """
        # isascii() is O(1) (CPython keeps the flag): no emoji is ASCII (checked when loading),
        # and most posts are plain ASCII, so most skip the per-character set test.
        if (text.isascii() and self._emoji_ascii_free) or self._emoji_chars.isdisjoint(text):
            return text
        if _MARK in text or not self._emoji_marks_safe:
            return self._replace_emoji_by_char(text)
        marked = text.translate(self._emoji_table)
        if marked.startswith(_MARK):
            marked = marked[1:]
        return marked.replace(" " + _MARK, " ").replace(_MARK, " ")

    def _replace_emoji_by_char(self, text: str) -> str:
        """The original per-character loop, for texts that contain ``_MARK`` themselves."""
        emojis = self._emojis
        out: list[str] = []
        prev_space = True
        for ch in text:
            description = emojis.get(ch)
            if description is not None:
                if not prev_space:
                    out.append(" ")
                out.append(description)
                prev_space = False
            else:
                out.append(ch)
                prev_space = ch == " "
        return "".join(out)

    def _token_info(self, raw: str) -> _TokenInfo:
        """Stripped form, lower case, ALL CAPS flag and scored valence of one raw token (cached)."""
        stripped = raw.strip(_PUNCTUATION)
        # VADER keeps the raw token when stripping leaves two characters or fewer (emoticons).
        word = raw if len(stripped) <= 2 else stripped
        lower = word.lower()
        info = (word, lower, word.isupper(), self._scored.get(lower))
        tokens = self._tokens
        if len(tokens) >= _TOKEN_CACHE_MAX:
            tokens.clear()
        tokens[raw] = info
        return info

    # -- scoring ----------------------------------------------------------------------------------

    def polarity_scores(self, text: str) -> dict[str, float]:
        """``{'neg', 'neu', 'pos', 'compound'}`` for ``text``, identical to vaderSentiment 3.3.2.

        ``neg``/``neu``/``pos`` are the shares of the text that are negative, neutral and positive
        (rounded to 3 places); ``compound`` is the normalized sum in [-1, 1] (rounded to 4).
        """
        if not text.isascii():
            text = self._replace_emoji(text)

        raws = text.split()
        n = len(raws)
        if n == 0:
            return {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
        cached = list(map(self._tokens.get, raws))
        if None in cached:
            token_info = self._token_info
            infos = [info or token_info(raw) for info, raw in zip(cached, raws, strict=True)]
        else:
            infos = cast("list[_TokenInfo]", cached)

        scored = [(i, v) for i, info in enumerate(infos) if (v := info[3]) is not None]
        if not scored:
            return {"neg": 0.0, "neu": 1.0, "pos": 0.0, "compound": 0.0}

        lower = [info[1] for info in infos]
        upper = [info[2] for info in infos]
        # Some but not all tokens are ALL CAPS.
        is_cap_diff = True in upper and False in upper
        last = n - 1
        word_valence = self._word_valence
        sentiments: list[float] = [0] * n
        nonzero: list[int] = []
        for i, lexicon_valence in scored:
            item = lower[i]
            if item == "kind" and i < last and lower[i + 1] == "of":
                continue
            valence = word_valence(i, lexicon_valence, lower, upper, is_cap_diff)
            if valence:
                sentiments[i] = valence
                nonzero.append(i)
        if not nonzero:
            return {"neg": 0.0, "neu": 1.0, "pos": 0.0, "compound": 0.0}
        if "but" in lower:
            _but_check(lower.index("but"), sentiments, nonzero)
        return _score_valence(sentiments, nonzero, text)

    def _word_valence(
        self,
        i: int,
        valence: float,
        lower: list[str],
        upper: list[bool],
        is_cap_diff: bool,
    ) -> float:
        """VADER's ``sentiment_valence`` for the lexicon word at ``i`` with lexicon value
        ``valence``: "no", ALL CAPS, boosters, negations, idioms and "least", in VADER's order.

        Where VADER adds a booster scalar of ``0.0`` for a non-booster word, nothing is added:
        that can only turn ``-0.0`` into ``0.0``, which no later step can tell apart.
        """
        lexicon = self._lexicon
        boosters = _BOOSTERS
        base = valence
        item = lower[i]
        if item == "no" and i != len(lower) - 1 and lower[i + 1] in lexicon:
            # "no" before a lexicon word negates it instead of counting itself.
            valence = 0.0
        if (
            (i > 0 and lower[i - 1] == "no")
            or (i > 1 and lower[i - 2] == "no")
            or (i > 2 and lower[i - 3] == "no" and lower[i - 1] in _OR_NOR)
        ):
            valence = base * _N_SCALAR

        if is_cap_diff and upper[i]:
            if valence > 0:
                valence += _C_INCR
            else:
                valence -= _C_INCR

        if i == 0:
            return valence
        # One, two and three words back, each only when that word is not a lexicon word.
        prev = lower[i - 1]
        if prev not in lexicon:
            if prev in boosters:
                valence = valence + _booster(boosters[prev], upper[i - 1], valence, is_cap_diff)
            if prev in _NEGATE or "n't" in prev:
                valence = valence * _N_SCALAR
        if i > 1:
            prev2 = lower[i - 2]
            if prev2 not in lexicon:
                if prev2 in boosters:
                    s = _booster(boosters[prev2], upper[i - 2], valence, is_cap_diff)
                    if s != 0:
                        s = s * 0.95
                    valence = valence + s
                if prev2 == "never" and (prev == "so" or prev == "this"):
                    valence = valence * 1.25
                elif prev2 == "without" and prev == "doubt":
                    pass
                elif prev2 in _NEGATE or "n't" in prev2:
                    valence = valence * _N_SCALAR
            if i > 2:
                prev3 = lower[i - 3]
                if prev3 not in lexicon:
                    if prev3 in boosters:
                        s = _booster(boosters[prev3], upper[i - 3], valence, is_cap_diff)
                        if s != 0:
                            s = s * 0.9
                        valence = valence + s
                    # VADER's precedence: (never and so/this two back) or (so/this one back).
                    if (prev3 == "never" and (prev2 == "so" or prev2 == "this")) or (
                        prev == "so" or prev == "this"
                    ):
                        valence = valence * 1.25
                    elif prev3 == "without" and (prev2 == "doubt" or prev == "doubt"):
                        pass
                    elif prev3 in _NEGATE or "n't" in prev3:
                        valence = valence * _N_SCALAR
                    # Every idiom or booster n-gram VADER tries contains this word or prev2.
                    if item in _IDIOM_WORDS or prev2 in _IDIOM_WORDS:
                        valence = _special_idioms(valence, lower, i)

        # "least" before the word negates it, except in "at least" / "very least".
        if prev == "least" and prev not in lexicon:
            if i > 1:
                if lower[i - 2] != "at" and lower[i - 2] != "very":
                    valence = valence * _N_SCALAR
            else:
                valence = valence * _N_SCALAR
        return valence


def _booster(boost: float, is_upper: bool, valence: float, is_cap_diff: bool) -> float:
    """VADER's ``scalar_inc_dec`` for a preceding booster/dampener worth ``boost``."""
    scalar = boost
    if valence < 0:
        scalar *= -1
    if is_upper and is_cap_diff:
        if valence > 0:
            scalar += _C_INCR
        else:
            scalar -= _C_INCR
    return scalar


def _special_idioms(valence: float, lower: list[str], i: int) -> float:
    """VADER's ``_special_idioms_check`` for the word at ``i`` (``i > 2``): neighbours only."""
    w3, w2, w1, w0 = lower[i - 3], lower[i - 2], lower[i - 1], lower[i]
    onezero = f"{w1} {w0}"
    twoonezero = f"{w2} {w1} {w0}"
    twoone = f"{w2} {w1}"
    threetwoone = f"{w3} {w2} {w1}"
    threetwo = f"{w3} {w2}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in _SPECIAL_CASES:
            valence = _SPECIAL_CASES[seq]
            break
    n = len(lower)
    if n - 1 > i:
        zeroone = f"{w0} {lower[i + 1]}"
        if zeroone in _SPECIAL_CASES:
            valence = _SPECIAL_CASES[zeroone]
    if n - 1 > i + 1:
        zeroonetwo = f"{w0} {lower[i + 1]} {lower[i + 2]}"
        if zeroonetwo in _SPECIAL_CASES:
            valence = _SPECIAL_CASES[zeroonetwo]
    # Booster/dampener bigrams before the word ("kind of", "sort of", "just enough").
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in _BOOSTERS:
            valence = valence + _BOOSTERS[n_gram]
    return valence


def _but_check(but_index: int, sentiments: list[float], nonzero: list[int]) -> None:
    """VADER's ``_but_check`` in place: halve scores before the first "but", add half after it.

    VADER loops ``for sentiment in sentiments: si = sentiments.index(sentiment)`` and rescales
    position ``si``: the *first* position whose current score equals the current one, which is
    not always the current position. That is replayed exactly. A zero stays zero (only its type or
    sign could change, which no later sum or comparison sees), so only the ``nonzero`` positions
    (in increasing order; they stay non-zero) are visited, and a lazy min-heap of positions per
    value finds "the first position holding this value" quickly. Positions after the current one
    are never touched before they are reached, since ``si`` is at most the current position.
    """
    heaps: dict[float, list[int]] = {}
    for pos in nonzero:
        # Positions arrive in increasing order, so each list is already a valid heap.
        heaps.setdefault(sentiments[pos], []).append(pos)
    for pos in nonzero:
        value = sentiments[pos]
        heap = heaps[value]
        while sentiments[heap[0]] != value:  # stale: that position has been rescaled since
            heappop(heap)
        first = heap[0]
        if first < but_index:
            new = value * 0.5
        elif first > but_index:
            new = value * 1.5
        else:
            continue
        sentiments[first] = new
        heappop(heap)
        heappush(heaps.setdefault(new, []), first)


def _punctuation_emphasis(text: str) -> float:
    """VADER's emphasis from "!" (up to 4) and "?" (2 or more) anywhere in the text."""
    ep_count = text.count("!")
    if ep_count > 4:
        ep_count = 4
    ep_amplifier = ep_count * 0.292
    qm_count = text.count("?")
    qm_amplifier = 0.0  # a float, as mypyc compiles this module (native.py)
    if qm_count > 1:
        qm_amplifier = qm_count * 0.18 if qm_count <= 3 else 0.96
    return ep_amplifier + qm_amplifier


def _score_valence(sentiments: list[float], nonzero: list[int], text: str) -> dict[str, float]:
    """VADER's ``score_valence``: punctuation emphasis, compound and the pos/neg/neu shares.

    ``nonzero`` lists the positions of the non-zero scores in order; zeros only count as neutral.
    """
    sum_s = float(sum(sentiments))
    punct_emph_amplifier = _punctuation_emphasis(text)
    if sum_s > 0:
        sum_s += punct_emph_amplifier
    elif sum_s < 0:
        sum_s -= punct_emph_amplifier
    # VADER's normalize(sum_s, alpha=15).
    compound = sum_s / math.sqrt((sum_s * sum_s) + 15)
    if compound < -1.0:
        compound = -1.0
    elif compound > 1.0:
        compound = 1.0

    pos_sum = 0.0
    neg_sum = 0.0
    for pos in nonzero:
        sentiment_score = sentiments[pos]
        if sentiment_score > 0:
            pos_sum += float(sentiment_score) + 1
        else:
            neg_sum += float(sentiment_score) - 1
    neu_count = len(sentiments) - len(nonzero)

    if pos_sum > math.fabs(neg_sum):
        pos_sum += punct_emph_amplifier
    elif pos_sum < math.fabs(neg_sum):
        neg_sum -= punct_emph_amplifier

    total = pos_sum + math.fabs(neg_sum) + neu_count
    return {
        "neg": round(math.fabs(neg_sum / total), 3),
        "neu": round(math.fabs(neu_count / total), 3),
        "pos": round(math.fabs(pos_sum / total), 3),
        "compound": round(compound, 4),
    }
