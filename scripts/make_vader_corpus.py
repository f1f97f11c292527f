"""Write ``tests/data/vader_corpus.txt``: the texts on which the fast VADER must equal the original.

The corpus is committed; this script only documents how it was made and remakes it identically
(the randomness is seeded). Run from the repository root::

    python scripts/make_vader_corpus.py

File format (read back by ``tests/sentiment_monitor/test_vader_fast.py``): UTF-8, one text per
line, lines separated by ``\\n`` only. Inside a line a backslash starts an escape: ``\\\\`` is a
backslash, ``\\n`` a line feed, ``\\r`` a carriage return, ``\\t`` a tab and ``\\uXXXX`` the code
point XXXX (hex). Escaped are: backslashes, every control character, the Unicode line and
paragraph separators, and whitespace at the very end of a line (so editors and hooks that strip
trailing whitespace cannot change a text). An empty line is the empty text.
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

SEED = 20260522
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "vader_corpus.txt"

# Hand-written texts, one per rule or oddity of VADER worth pinning down.
HANDWRITTEN: list[str] = [
    # empty and whitespace-only
    "",
    " ",
    "   ",
    "\t",
    "\n\n",
    " \u00a0\u2003 ",
    # VADER's own examples
    "VADER is smart, handsome, and funny.",
    "VADER is smart, handsome, and funny!",
    "VADER is very smart, handsome, and funny.",
    "VADER is VERY SMART, handsome, and FUNNY.",
    "VADER is VERY SMART, handsome, and FUNNY!!!",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.",
    "The book was good.",
    "At least it isn't a horrible book.",
    "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today SUX!",
    "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Not bad at all",
    "Sentiment analysis has never been good.",
    "Sentiment analysis has never been this good!",
    "Most automated sentiment analysis tools are shit.",
    "With VADER, sentiment analysis is the shit!",
    "Other sentiment analysis tools can be quite bad.",
    "On the other hand, VADER is quite bad ass",
    "VADER is such a badass!",
    "Without a doubt, excellent idea.",
    "Roger Dodger is one of the most compelling variations on this theme.",
    "Roger Dodger is at least compelling as a variation on the theme.",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "Not such a badass after all.",
    "Without a doubt, an excellent idea.",
    # negations and contractions
    "not good",
    "Not good.",
    "NOT GOOD",
    "this isn't good",
    "this isnt good",
    "it wasn't bad at all",
    "I don't love it",
    "I dont hate it",
    "we can't complain",
    "they won't be happy",
    "you shouldn't worry",
    "he never liked it",
    "never so good",
    "never so happy in my life",
    "never this bad",
    "I have never been so disappointed",
    "it's never, ever good",
    "nothing good ever happens",
    "no good deed goes unpunished",
    "no problem",
    "no",
    "No!",
    "no no no",
    "no love or hate",
    "no pain nor gain",
    "there is no joy or happiness here",
    "neither good nor bad",
    "nope, not happy",
    "uh-uh, not cool",
    "rarely good, seldom great",
    "despite the great reviews it was awful",
    "without doubt the best",
    "without any doubt the best",
    "without a doubt the worst",
    "ain't nobody happy",
    "couldn't be happier",
    "could not be happier",
    "I'm not unhappy",
    "the food wasn't great but wasn't terrible",
    "Isn't it lovely?",
    "doesn't matter, didn't care, won't cry",
    # but
    "good but bad",
    "bad but good",
    "great but not great",
    "I love it but I hate it",
    "good but good",
    "good good but good good",
    "great, great but great great great",
    "happy sad but happy sad",
    "It was amazing, BUT the ending was awful.",
    "But why? but how? BUT WHEN?",
    "but",
    "but but but good",
    "love but love but love",
    "Nice nice nice but nice nice nice, but nice",
    "horrible horrible but horrible",
    # VADER rescales the first equal score: here "xoxo" (3.0) is halved to 1.5, then "like" (1.5)
    # finds it first and halves it again while "like" itself is left alone.
    "xoxo but like",
    "I feel affection but it is ok",
    "ily but yes yes",
    "betrayed, but no doubt about it",
    "xoxo xoxo but like like",
    # kind of, sort of, least
    "kind of good",
    "kind of bad",
    "kind of",
    "kind",
    "she is kind",
    "a kind of magic",
    "the kind of day I love",
    "it is kind of the best",
    "kinda good, sorta bad",
    "sort of nice",
    "kind-of awful",
    "just enough good",
    "least",
    "the least helpful answer",
    "least helpful answer",
    "at least helpful",
    "very least happy",
    "at the very least it is good",
    "he is the least bad option",
    # idioms and special cases
    "this is the bomb",
    "the bomb",
    "it was kind of bad",
    "it was kind of good",
    "so kind of you",
    "I like this good",
    "I like that good",
    "this is the bomb!!!",
    "this album is the shit",
    "yeah right",
    "oh yeah right, great job",
    "that plan won't cut the mustard",
    "it cuts the mustard",
    "living hand to mouth",
    "the kiss of death for the brand",
    "that was the kiss of death",
    "a cake to die for",
    "to die for",
    "my beating heart",
    "wait at the bus stop",
    "bad ass car",
    "that was a back handed compliment",
    "break a leg tonight",
    "we are cooking with gas now",
    "in the black this quarter, not in the red",
    "on the ball as usual",
    "feeling under the weather",
    "the upper hand",
    "stop blowing smoke",
    "I can't stand it",
    "I am fed up",
    "it got screwed up",
    # boosters and dampeners
    "very good",
    "very very very good",
    "VERY good",
    "extremely bad",
    "EXTREMELY bad indeed",
    "incredibly helpful support",
    "barely acceptable",
    "hardly a success",
    "slightly annoying",
    "somewhat better",
    "totally awesome",
    "absolutely terrible",
    "really really good",
    "so good",
    "SO GOOD",
    "so so good",
    "most excellent",
    "more happy",
    "less happy",
    "little joy",
    "fucking great",
    "friggin awful",
    "hella good",
    "uber cool",
    "effing brilliant",
    # ALL CAPS
    "GOOD",
    "good",
    "I LOVE IT",
    "I LOVE it",
    "i LOVE it",
    "THIS IS TERRIBLE",
    "this is TERRIBLE",
    "WORST. SERVICE. EVER.",
    "worst service EVER",
    "OK",
    "LOL",
    "lol",
    "LMAO this is GREAT",
    "A",
    "Ünïcödé ÜBER GOOD",
    # punctuation emphasis
    "good!",
    "good!!",
    "good!!!",
    "good!!!!",
    "good!!!!!!!!!!",
    "bad!!!",
    "good?",
    "good??",
    "good???",
    "good????",
    "good?!?!",
    "really??? no way!!!",
    "!!!",
    "???",
    "?!",
    "...",
    "!!! ??? !!! ???",
    # emoticons
    ":)",
    ":(",
    ":-)",
    ":-(",
    ";)",
    ":D",
    ":P",
    "<3",
    "</3",
    "xD",
    ":'(",
    "=)",
    "(:",
    "^_^",
    "-_-",
    "o_O",
    "hi :)",
    "sad :( :( :(",
    "love it <3 <3",
    "(-:",
    # emoji
    "😀",
    "💔",
    "🔥",
    "😀😀😀",
    "😀 💔 🔥",
    "good😀",
    "good 😀",
    "😀good",
    "my heart 💔 is broken",
    "this track is 🔥🔥🔥",
    "this track is🔥",
    "🔥 fire 🔥",
    "🔛 now",
    "🆙 next",
    "🆙🔛",
    "I'm 😡 and 🤬 right now",
    "thanks 🙏🏽",
    "👍🏻 great",
    "❤️ it",
    "❤ it",
    "☺️ nice",
    "🇫🇷 vive la France",
    "👨‍👩‍👧 family day",
    "😂😂😂 I can't",
    "😭😭 why",
    "💯 agree",
    "🤔 hmm",
    "© 2024 the brand",
    "tm™ reserved®",
    "🙃🙃 great, just great",
    "🙂\t🙁",
    "no 😀",
    "not 😀",
    "never so 😀",
    "😀 but 💔",
    "\x00 😀 a NUL byte before an emoji",
    "good\x00😀bad 😀\x00",
    "😀😀 great😀 😀 ",
    # URLs, handles, hashtags, HTML entities
    "check https://example.com/good-deals now",
    "http://t.co/abc123 awful",
    "www.best-brand.com is the best",
    "@support your app is broken again",
    "@brand love you guys!!!",
    "@good @bad @ugly",
    "#love #hate #fail",
    "#NotGood #SoHappy",
    "#blessed",
    "what a day &amp; night",
    "&lt;3 this",
    "&quot;great&quot; service",
    "it&#39;s not good",
    "Tom &amp; Jerry &gt; everything",
    "<b>good</b> <i>bad</i>",
    "good\\bad",
    "C:\\Users\\sad\\files",
    # non-English
    "Je suis surpris de voir comment VADER est incroyablement utile !",
    "Ich bin überrascht zu sehen, nur wie erstaunlich nützlich VADER!",
    "Me sorprende ver sólo cómo increíblemente útil VADER!",
    "Sono sorpreso di vedere solo come incredibilmente utile VADER è!",
    "Я удивлен увидеть, как раз как удивительно полезно ВЕЙДЕРА!",
    "私はちょうどどのように驚くほど役に立つベイダーを見て驚いています!",
    "أنا مندهش لرؤية فقط كيف مثير للدهشة فيدر فائدة!",
    "我很惊讶地看到VADER是如此有用!",
    "İSTANBUL ÇOK GÜZEL, good",
    "İyi değil",
    "ΟΔΟΣ ΚΑΛΟΣ good",
    "Straße GROSS ß good",
    "ǅemal is GOOD",
    "ﬁne ﬂowers",
    "ＧＯＯＤ ｇｏｏｄ",
    "café naïve résumé good",
    "e\u0301 good",
    "zero\u200bwidth good",
    "מזל טוב",
    "सुंदर good",
    "한국어 좋아요 good",
    # social-media slang
    "lol this is lit af",
    "smh so bad",
    "tbh it's meh",
    "ngl that slaps",
    "omg omg omg",
    "wtf is this",
    "fml",
    "rofl",
    "lmao dead",
    "sux",
    "gr8 job",
    "yolo",
    "ugh, whatever",
    "booo",
    "yay!!",
    "meh...",
    "idk, maybe",
    "this is sick",
    "that's dope",
    "cringe",
    # ordinary posts, tweet-sized
    "Ordered on Monday, arrived Friday. Box was crushed and the charger is missing. Support chat "
    "closed my ticket twice without answering. Really disappointed, this used to be my favourite "
    "brand. #fail",
    "Shoutout to @brand for the quick refund!! Took less than a day and the agent was super "
    "friendly. Will definitely order again 🙌",
    "Is it just me or has the app gotten slower since the last update? Takes forever to load my "
    "cart and it crashed twice today 🙄",
    "new headphones came today and WOW the sound is incredible. battery life seems decent too, "
    "only complaint is the case feels a bit cheap",
    "Three weeks. THREE WEEKS waiting for a reply from customer service. Not even an automated "
    "email. Absolutely unacceptable.",
    "honestly the price went up again but the quality hasn't changed at all, kinda feels like a "
    "ripoff now tbh",
    "Can't believe how good the new flavor is 😋 my kids love it, we already finished two boxes",
    "@brand your website keeps logging me out at checkout. Tried Chrome, Firefox, Safari. Same "
    "thing. Please fix it, I want to give you my money!",
    "Not sure how I feel about the redesign. Some parts are nice, the search is worse though.",
    "Store staff were rude, the fitting rooms were dirty and the queue took 40 minutes. Never "
    "again.",
    "Got the replacement today, works perfectly. Thanks for sorting it out so fast, really "
    "appreciate it :)",
    "the ad with the dog is so cute lmao I've watched it like 10 times",
    "Why would you remove the dark mode?? Literally the only feature I used. Bring it back pls",
    "I'm not saying it's bad, I'm saying it's not worth $200. There's a difference.",
    "Best customer service I've had in years. Problem solved in 5 minutes, no transfers, no "
    "waiting. More of this please 👏👏",
    "Delivery guy left my package in the rain. Everything soaked. Great job guys, really great "
    "job. 🙃",
    "Meh. It's fine. Does what it says. Nothing special.",
    "lost my order, refunded the wrong amount, and now they say it's my fault? unbelievable 😤",
    "Five stars! Easy setup, looks great, and the app is actually useful for once.",
    "Love the product, hate the packaging. So much plastic for such a tiny thing 😕",
    # whitespace and line oddities
    "good\nbad",
    "good\r\nbad",
    "good\tbad",
    "good\u2028bad",
    "good\u00a0bad",
    "  leading and trailing spaces are good  ",
    "\ttabbed\tgood\t",
    "good\x0bbad\x0cugly",
    "multi\n\nline\n\npost is nice",
    # punctuation stripping (tokens of 2 chars or fewer after stripping keep their punctuation)
    "'good'",
    '"bad"',
    "(great)",
    "[[awful]]",
    "...love...",
    "--hate--",
    "no.",
    "ok!",
    "..ok..",
    "a,b,c good",
    "good,bad,ugly",
    "good.bad",
    "$100 good",
    "100% good",
    "50/50",
    "2 good 4 u",
]

# Fragments combined into many more texts.
OPENERS = [
    "",
    "Honestly,",
    "@brand",
    "OMG",
    "lol",
    "Update:",
    "So",
    "Well",
    "#review",
    "Day 3:",
    "ngl",
    "RT @someone:",
    "😀",
    "Hmm,",
]
SUBJECTS = [
    "the new app",
    "your support team",
    "this phone",
    "the delivery",
    "the update",
    "customer service",
    "the battery",
    "their pricing",
    "the checkout",
    "my order",
    "THE APP",
    "this brand",
]
VERBS = ["is", "was", "isn't", "was not", "has never been", "seems", "looks", "feels", "is NOT"]
MODIFIERS = [
    "",
    "very",
    "really",
    "kind of",
    "sort of",
    "kinda",
    "extremely",
    "barely",
    "so",
    "not",
    "never so",
    "the least",
    "at least",
    "VERY",
    "totally",
    "hardly",
    "no",
    "without doubt",
    "this",
]
ADJECTIVES = [
    "good",
    "great",
    "bad",
    "terrible",
    "awesome",
    "awful",
    "amazing",
    "disappointing",
    "fine",
    "okay",
    "broken",
    "useless",
    "helpful",
    "GREAT",
    "BAD",
    "the bomb",
    "the shit",
    "to die for",
    "bad ass",
    "meh",
    "lit",
    "sick",
    "slow",
    "fast",
]
JOINERS = ["but", "and", "BUT", "though", "yet", "so", "or", "because", ",", "."]
ENDINGS = [
    "",
    "!",
    "!!!",
    "?",
    "??",
    "?!",
    "...",
    " :)",
    " :(",
    " 😀",
    " 💔",
    " 🔥🔥",
    " #fail",
    " #love",
    " https://t.co/xyz",
    " lol",
    " smh",
    " yeah right",
    " kiss of death",
    " cut the mustard",
    " hand to mouth",
]


def _clause(rng: random.Random) -> str:
    parts = [
        rng.choice(SUBJECTS),
        rng.choice(VERBS),
        rng.choice(MODIFIERS),
        rng.choice(ADJECTIVES),
    ]
    return " ".join(p for p in parts if p)


def _post(rng: random.Random) -> str:
    words = [rng.choice(OPENERS), _clause(rng)]
    if rng.random() < 0.6:
        words.append(rng.choice(JOINERS))
        words.append(_clause(rng))
    if rng.random() < 0.25:
        words.append(rng.choice(JOINERS))
        words.append(_clause(rng))
    text = " ".join(w for w in words if w) + rng.choice(ENDINGS)
    roll = rng.random()
    if roll < 0.08:
        text = text.upper()
    elif roll < 0.12:
        text = text.lower()
    return text


def _pairs() -> list[str]:
    """Every modifier before a few adjectives, and negations two and three words back."""
    texts = [f"{m} {a}".strip() for m in MODIFIERS for a in ("good", "bad", "GREAT")]
    for neg in ("not", "never", "isn't", "without", "no", "nor"):
        for filler in ("so", "this", "doubt", "very", "the", "at", "least", "kind of"):
            texts.append(f"it {neg} {filler} good")
            texts.append(f"{neg} really {filler} bad")
    return texts


def _long_post(rng: random.Random, size: int) -> str:
    """A long rambling post of about ``size`` characters built from generated posts."""
    parts: list[str] = []
    total = 0
    while total < size:
        part = rng.choice(HANDWRITTEN[6:]) if rng.random() < 0.3 else _post(rng)
        parts.append(part)
        total += len(part) + 1
    return " ".join(parts)


def escape(text: str) -> str:
    """Encode one text as one line (see the module docstring)."""
    out: list[str] = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    line = "".join(out)
    # Whitespace at the end of the line is escaped so it survives trailing-whitespace strippers.
    stripped = line.rstrip()
    tail = line[len(stripped) :]
    return stripped + "".join(f"\\u{ord(ch):04x}" for ch in tail)


def build() -> list[str]:
    """All corpus texts, in a fixed order."""
    rng = random.Random(SEED)
    texts = list(HANDWRITTEN)
    texts += _pairs()
    texts += [_post(rng) for _ in range(300)]
    texts += [_long_post(rng, size) for size in (5_000, 9_000, 14_000, 19_000)]
    return texts


def main() -> None:
    texts = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(escape(t) + "\n" for t in texts), encoding="utf-8")
    print(f"wrote {len(texts)} texts to {OUT}")


if __name__ == "__main__":
    main()
