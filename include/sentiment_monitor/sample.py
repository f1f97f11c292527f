"""Deterministic, realistic file exports: the committed sample, test fixtures and benchmark input.

One call of :func:`generate_day` writes one UTC day of export records (the format of DESIGN.md) as
``<out_dir>/<YYYY-MM-DD>/export-NN.jsonl`` and ``export-NN.csv`` for a fictional brand: the brand's
own posts and its replies to customers, threads under them, questions (some answered by the brand,
some not), promoters and detractors (a few of them regulars), neutral chatter, reposts, exact
duplicates, posts in German, French, Spanish and Japanese, Mastodon HTML with entities, and - when
asked - a handful of malformed records and one very long post. :class:`DayStats` says what was
written, so tests can check a pipeline against the truth.

Determinism: the output depends only on the arguments. Every random draw comes from
``random.Random`` seeded with a string built from the seed and the day (string seeds are hashed
with SHA-512, independent of ``PYTHONHASHSEED``); no wall clock, no set iteration. Same arguments,
byte-identical files.

Memory stays bounded: records are written as they are made; only short windows of recent posts
(for replies, reposts and duplicates), pending replies and the author pool are kept.

The committed sample is ``generate_sample(SAMPLE_DIR, SAMPLE_START, SAMPLE_DAYS, SAMPLE_PER_DAY,
SAMPLE_SEED)``; regenerate it with ``python -m sentiment_monitor.sample`` (or
``scripts/generate_sample.py``). Benchmark input: ``python -m sentiment_monitor.sample --out
data/bench/exports --mentions 1000000 --days 1 --files 4``.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import hashlib
import heapq
import json
import random
import string
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

#: Export fields in file order; the same as ``sentiment_monitor.records.EXPORT_FIELDS`` (checked by
#: the tests; repeated here so the generator needs nothing outside the standard library).
FIELDS: tuple[str, ...] = (
    "platform",
    "id",
    "author",
    "created_at",
    "text",
    "in_reply_to_id",
    "url",
    "author_followers",
    "lang",
    "repost_of_id",
)

FORMATS: tuple[str, ...] = ("jsonl", "csv")

#: The committed sample under ``data/sample/exports``: these parameters, nothing else.
SAMPLE_DIR = Path("data/sample/exports")
SAMPLE_START = dt.date(2026, 11, 1)
SAMPLE_DAYS = 7
SAMPLE_PER_DAY = 300
SAMPLE_SEED = 42
SAMPLE_MALFORMED = 3
#: Offsets (from the start) of days with an incident: an app outage that double-charges customers,
#: 13:00-17:00 UTC - more volume, a burst of detractors, two status posts by the brand.
SAMPLE_INCIDENT_DAYS: tuple[int, ...] = (4,)
#: (day offset, characters): one pasted-in post longer than ``scoring.max_text_chars``.
SAMPLE_LONG_POST: tuple[int, int] | None = (2, 25_000)

#: The most people per platform (bounds memory and set-up time of very large days).
AUTHORS_MAX = 25_000
#: Volume of an incident day relative to a normal one.
INCIDENT_VOLUME = 1.25
INCIDENT_HOURS = (13, 17)

#: The malformed kinds, used in this order (each day starts further along, so a week sees all).
MALFORMED_KINDS: tuple[str, ...] = (
    "not_json",
    "missing_text",
    "bad_created_at",
    "empty_text",
    "unknown_platform",
    "bad_followers",
    "short_csv_row",
)

_T = TypeVar("_T")
_DAY_MS = 86_400_000
#: Regulars (detractors waiting for a refund, superfans on a streak) count days from here.
_GRUDGE_BASE = dt.date(2026, 10, 25).toordinal()
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class BrandSpec:
    """The fictional brand: its name, its handles and what people talk about."""

    name: str = "Lumen Coffee"
    #: Mastodon username; the brand's account lives on ``instance``, so it appears without domain.
    mastodon: str = "lumencoffee"
    bluesky: str = "lumencoffee.bsky.social"
    instance: str = "mastodon.social"
    website: str = "lumencoffee.example"
    #: What people drink ({drink}), the coffees sold by the bag ({beans}), other goods ({item}).
    drinks: tuple[str, ...] = (
        "espresso",
        "flat white",
        "oat latte",
        "cold brew",
        "maple pecan latte",
        "chai latte",
        "cortado",
    )
    beans: tuple[str, ...] = (
        "house blend",
        "Ethiopia Guji",
        "Colombia decaf",
        "Kenya AA",
        "Sumatra dark roast",
    )
    goods: tuple[str, ...] = ("pour-over kit", "subscription box", "travel mug", "gift box")
    cities: tuple[str, ...] = (
        "Portland",
        "Seattle",
        "Denver",
        "Austin",
        "Chicago",
        "Brooklyn",
        "Toronto",
        "Boston",
    )
    followers: tuple[int, int] = (8_240, 23_910)  # mastodon, bluesky

    @classmethod
    def from_handles(cls, name: str, handles: Mapping[str, str]) -> BrandSpec:
        """A brand with the configuration's name and handles (``brand.handles``), other defaults."""
        base = cls()
        mastodon = handles.get("mastodon", base.mastodon).lstrip("@")
        instance = base.instance
        if "@" in mastodon:
            mastodon, instance = mastodon.split("@", 1)
        return cls(
            name=name,
            mastodon=mastodon,
            bluesky=handles.get("bluesky", base.bluesky).lstrip("@"),
            instance=instance,
        )

    def handle(self, platform: str) -> str:
        """The brand's ``author`` value on ``platform``."""
        return self.mastodon if platform == "mastodon" else self.bluesky


DEFAULT_BRAND = BrandSpec()


@dataclass
class DayStats:
    """What :func:`generate_day` wrote for one day (the truth a pipeline can be checked against).

    ``records_written`` counts every JSONL line and CSV data row, malformed ones and duplicates
    included: ``records_written == distinct + duplicates + malformed``. ``distinct`` counts the
    well-formed records once each. ``brand_posts`` counts the distinct records authored by the
    brand that are not reposts (its posts and its replies; ``brand_replies`` of them are replies).
    ``questions`` are customers' questions to the brand (each ends in ``?`` or ``？``);
    ``questions_answered`` of them have a reply by the brand in the same day's files.
    """

    day: dt.date
    records_written: int = 0
    malformed: int = 0
    duplicates: int = 0
    reposts: int = 0
    brand_posts: int = 0
    questions: int = 0
    questions_answered: int = 0
    distinct: int = 0
    brand_replies: int = 0
    files: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (day as ``YYYY-MM-DD``)."""
        data = asdict(self)
        data["day"] = self.day.isoformat()
        data["files"] = list(self.files)
        return data


# --------------------------------------------------------------------------------------------
# Text: templates with {placeholders}. {m} is the brand (a mention or its name), {u} the person
# replied to (Mastodon only), {link} a link to the brand's site; the rest are filled from lists.
# Mastodon texts are rendered as the HTML Mastodon serves; Bluesky texts stay plain.
# Only questions to the brand end with "?" (so DayStats.questions is checkable).
# --------------------------------------------------------------------------------------------

PROMOTER_EN: tuple[str, ...] = (
    "Best {drink} I've had all year, thank you {m}! 😍",
    "{m} you absolutely nailed the {drink} this week. Smooth, sweet, perfect ☕✨",
    "Shoutout to the baristas at {m} in {city}, so friendly and fast even with the morning rush 🙌",
    "My {beans} from {m} arrived a day early and the bag smells amazing. Love you guys ❤️",
    "Honestly {m} is the best part of my commute. Great coffee, great people.",
    "Tried the new {drink} at {m} and wow. Just wow. 🤩",
    "The {beans} from {m} is incredible, highly recommend!!",
    "Thank you {m} for fixing my order so quickly, great customer service 👏",
    "{m} never misses. The {drink} was perfect again today 😊",
    "I love that the team at {m} remembers my order. Little things matter 💛",
    "Five stars for the {beans} from {m}: rich, balanced, zero bitterness ⭐⭐⭐⭐⭐",
    "Can't stop drinking the {drink} from {m}, it's so good 😋",
    "Rainy day fixed by {a_drink} & a cardamom bun from {m}. Perfect combo 🥰",
    'Gifted my dad a bag of {beans} from {m} and now he calls it "the good stuff". Great job!',
    "Switched to {m} last month and I'm never going back. Wonderful beans, lovely packaging 🌿",
    "The {item} from {m} is so well made. Worth every penny 👌",
    'The barista at {m} wrote "have a great day" and drew a tiny heart on my cup 🥹',
)

SUPERFAN_EN: tuple[str, ...] = (
    "Day {n} of my {drink} streak at {m} ☕ still the best thing about my mornings!",
    "{m} {drink} number {n} this month and it's still perfect 😍",
    "Morning ritual: {drink} from {m}. Day {n}, still in love ☕💛",
)

DETRACTOR_EN: tuple[str, ...] = (
    "Worst customer service ever. Still no refund. {m}",
    "{m} my order #{order} is two weeks late and nobody answers my emails. Really disappointed 😡",
    "Paid for a large {drink} and got a lukewarm, watery mess. Not okay, {m}.",
    "{m} your app charged me twice again. This is ridiculous.",
    "Third time this month the {city} store got my order wrong. Done with {m}. 👎",
    "The {beans} from {m} tasted burnt and stale. Such a disappointment.",
    "Cancelled my subscription. Beans arrived crushed and the bag was open. Terrible, {m}.",
    "Waited {minutes} minutes for {a_drink} at {m} {city}. Rude staff, dirty tables. Never again",
    "{m} still no refund after 3 weeks. Awful.",
    "WORST. SERVICE. EVER. {m} 😤",
    "Great, another {minutes} minute wait at {m}. Love that for me 🙄",
    "Thanks {m} for the cold {drink} and the attitude. Really made my day 🙃",
    "{m} I'm so angry. Wrong order, no apology, and the manager just shrugged.",
    "Hate to say it but {m} has gone downhill. Overpriced & bland {drink} now 😞",
    "{m} the {item} I ordered arrived broken. Twice. Still waiting for a replacement.",
    'Was told "online orders are not our problem" at {m} {city}. Wow. Just wow.',
)

REGULAR_DETRACTOR_EN: tuple[str, ...] = (
    "Day {n} of waiting for my refund from {m}. Still nothing. Order #{order}.",
    "Reminder {m}: still no refund for order #{order}. 3 emails, 2 DMs, zero answers. Pathetic.",
    "{m} it has been {n} days. Where is my money? Order #{order}. Unacceptable.",
    "Still waiting, {m}. Order #{order}, day {n}. Worst company I've ever dealt with.",
)

INCIDENT_DETRACTOR_EN: tuple[str, ...] = (
    "{m} your app just charged me twice for one {drink}. Fix this now 😡",
    "Can't log in to the {m} app. Again. Useless.",
    "Double charged by {m} AGAIN. $11.50 twice for a single {drink}. Not acceptable.",
    "{m} app crashed at checkout and took my money anyway. Terrible.",
    "The {m} outage means no mobile orders and a huge line in {city}. What a mess.",
)

#: (question, the brand's answer). Answers start after an optional greeting {hi}.
QUESTIONS_EN: tuple[tuple[str, str], ...] = (
    (
        "{m} do you ship to {country}?",
        "{hi}Yes, we ship to {country}! Delivery takes 5-7 business days ☕",
    ),
    (
        "{m} is the {city} store open on Sundays?",
        "{hi}Yes, our {city} café is open 8am to 6pm on Sundays.",
    ),
    (
        "Hey {m}, when will the {beans} be back in stock?",
        "{hi}It's back on Thursday! We'll post here as soon as it's live.",
    ),
    (
        "{m} does the {drink} have dairy in it?",
        "{hi}It's made with oat milk by default, so it's dairy-free 🌱",
    ),
    (
        "{m} how do I cancel my subscription?",
        "{hi}You can cancel anytime under Account > Subscriptions. Let us know if you need a hand!",
    ),
    (
        "{m} can I change the delivery address on order #{order}?",
        "{hi}Yes - we've sent you a DM to update the address before it ships.",
    ),
    (
        "Do you have a decaf version of the {drink}, {m}?",
        "{hi}We do! Ask for it with our Colombia decaf at any café.",
    ),
    (
        "{m} any plans to open a store in {city}?",
        "{hi}Nothing to announce yet, but {city} is high on our list 👀",
    ),
    (
        "Is the {drink} vegan, {m}?",
        "{hi}Yes, it's 100% vegan.",
    ),
    (
        "{m} my gift card isn't working in the app, what should I do?",
        "{hi}Sorry about that! Please send us a DM with the card number and we'll sort it out.",
    ),
    (
        "{m} what's the caffeine content of the {drink}?",
        "{hi}About 150 mg in a regular size. Full details are on {link}",
    ),
    (
        "Hi {m}! Are you hiring in {city}?",
        "{hi}We are! Openings are listed on {link}",
    ),
    (
        "{m} is the {city} store wheelchair accessible?",
        "{hi}Yes, step-free entrance and an accessible restroom.",
    ),
    (
        "{m} where can I find the roast date on the bag?",
        "{hi}It's printed on the bottom seam of every bag.",
    ),
)

INCIDENT_QUESTIONS_EN: tuple[tuple[str, str], ...] = (
    (
        "Is the {m} app down for everyone?",
        "{hi}Yes, we're having an outage right now. Our team is on it, sorry!",
    ),
    (
        "{m} I was charged twice for one order, will I get a refund?",
        "{hi}Yes, every duplicate charge will be refunded automatically within 3-5 days. So sorry!",
    ),
)

NEUTRAL_EN: tuple[str, ...] = (
    "Picking up {a_drink} at {m} before the meeting.",
    "{m} in {city} is busy this morning.",
    "Working from {m} on {street} today.",
    "New {drink} at {m} this week, will report back.",
    "Currently drinking: {beans} from {m}, brewed at home.",
    "Meeting friends at {m} at 3.",
    "Saw that {m} is opening a new place near {street}.",
    "{m} changed their cup design.",
    "Morning routine: walk the dog, {drink} from {m}, emails.",
    "Comparing the {m} house blend with my home setup this weekend.",
    "Line at {m} {city} is out the door again.",
    "Reading about how {m} sources their beans: {link}",
    "Just ordered the {item} from {m}.",
    '{m} calls the {beans} "bright and juicy". We\'ll see.',
    "Okay, ordering {a_drink} from {m} and getting back to work.",
    "{m} has a pop-up at the {city} farmers market on Saturday.",
    "Two {drink}s from {m} & a long to-do list. Let's go.",
)

#: Customers replying to one of the brand's posts.
REPLY_TO_BRAND: dict[str, tuple[str, ...]] = {
    "positive": (
        "Love this! Can't wait to try it 😍",
        "Yes!! Finally 🙌",
        "Best news all week.",
        "Ooh, this looks delicious 🤤",
        "You guys are the best ❤️",
        "Already had one this morning, it's fantastic.",
    ),
    "neutral": (
        "Noted, will check it out this weekend.",
        "Interesting.",
        "Saving this for later.",
        "Hm, might try it.",
        "Tagging my sister for this one.",
    ),
    "negative": (
        "Maybe fix the app before launching new stuff.",
        "Still waiting on my refund, but sure, new drinks 🙄",
        "Prices went up again though. Not great.",
        "The last seasonal one was awful, not getting my hopes up.",
        "Nobody answers DMs but you have time to post this. Disappointing.",
    ),
    "question": (
        "Is it available online too?",
        "Will it be in the {city} store?",
        "Does it come in decaf?",
        "How long will it be around?",
        "Is there an oat milk option?",
    ),
}

#: Customers answering other customers inside a thread.
REPLY_TO_REPLY: tuple[str, ...] = (
    "Same here, mine arrived damaged too.",
    "Agreed, the {drink} is great.",
    "Try the {city} store, they're much better.",
    "100% this 👆",
    "Honestly it's been fine for me.",
    "lol same",
    "They sorted mine out after a DM, give it a day.",
    "Can confirm, it's really good.",
    "Nope, not for me. Too sweet.",
)

COMMUNITY_ANSWERS: tuple[str, ...] = (
    "Pretty sure they do, I got mine last month.",
    "Following, I want to know too 👀",
    "I had the same question last week, they answered me by DM.",
    "Not sure, but their website has an FAQ: {link}",
)

BRAND_POSTS: tuple[str, ...] = (
    "New on the menu: the {drink} ☕🍁 Available in all our cafés from today.",
    "Good morning! What's everyone drinking today?",
    "We're hiring baristas in {city}! Apply at {link}",
    "Our {beans} is back in stock. Thanks for your patience!",
    "Weekend special: 20% off every bag of {beans} with code LUMEN20 🎉",
    "Behind the scenes: meet the team roasting your {beans} every morning. {link}",
    "Our {city} café turns 3 this week! Free cookies with every drink on Saturday 🍪",
    "Tip: store your beans in an airtight container, away from light & heat ☕",
    "Thank you for 10 years of coffee & community. Here's to the next 10 💛",
    'Your "barista\'s choice" for this week: the {drink}.',
)

INCIDENT_BRAND_POSTS: tuple[str, ...] = (
    "We're aware of problems with the app and duplicate charges this afternoon. Our team is on it "
    "and every duplicate charge will be refunded automatically. Sorry for the trouble 🙏",
    "Update: the app is working again and refunds for duplicate charges are on their way. "
    "Thank you for your patience, and sorry again.",
)

BRAND_THANKS: tuple[str, ...] = (
    "{hi}Thank you so much! 💛 We'll pass this on to the team.",
    "{hi}This made our day! ☕✨",
    "{hi}So glad you enjoyed it 😊",
    "{hi}Thanks for the love! See you soon ☕",
)

BRAND_APOLOGIES: tuple[str, ...] = (
    "{hi}We're really sorry. That's not the experience we want for you. Please DM us your order "
    "number and we'll make it right.",
    "{hi}So sorry about this! Our support team is looking into it now and will email you today.",
    "{hi}That's not okay, and we apologise. We've passed this on to the {city} store manager.",
    "{hi}We're sorry for the wait. Your refund has been issued and should arrive within 3-5 days.",
)

BRAND_FOLLOWUPS: tuple[str, ...] = (
    "{hi}We've found your messages and escalated this. You'll hear from a manager today.",
    "{hi}Sorry again. A full refund is on its way, and we've added a credit to your account.",
)

CUSTOMER_FOLLOWUPS: dict[str, tuple[str, ...]] = {
    "positive": (
        "Thanks for the quick reply!",
        "Perfect, thank you! 🙏",
        "Great, thanks 😊",
        "DM sent 👍",
        "Good to know, thank you.",
    ),
    "negative": (
        "I already DMed you twice. Nothing.",
        "That's what you said last week. Still no refund.",
        "Copy-paste answer. Not helpful at all.",
    ),
}

GREETINGS: tuple[str, ...] = ("Hi {name}! ", "Hey {name}! ", "", "")

#: Non-English posts (lang set). Questions end with "?" or the full-width "？".
FOREIGN: dict[str, dict[str, tuple[str, ...]]] = {
    "de": {
        "promoter": (
            "Bester Kaffee der Stadt, danke {m}! 😍",
            "Ich liebe {m}: super freundliches Team und toller Kaffee ☕",
            "Die neue Röstung von {m} ist einfach großartig.",
        ),
        "detractor": (
            "{m} Meine Bestellung ist seit zwei Wochen nicht angekommen. Sehr enttäuschend.",
            "Schlechtester Kundenservice überhaupt. Immer noch keine Erstattung. {m} 😡",
        ),
        "question": (
            "{m} liefert ihr auch nach Österreich?",
            "{m} Wann gibt es den {beans} wieder?",
        ),
        "neutral": (
            "Heute im {m} in {city}, ziemlich voll.",
            "Kurzer Kaffee bei {m} vor der Arbeit.",
        ),
        "answer": ("Danke für deine Nachricht! Wir haben dir eine DM geschickt ☕",),
    },
    "fr": {
        "promoter": (
            "Meilleur café de la ville, merci {m} ! 😍",
            "J'adore le {drink} de {m}, vraiment excellent.",
        ),
        "detractor": (
            "Service client catastrophique, toujours pas de remboursement {m} 😡",
            "{m} commande arrivée en retard et le paquet était ouvert. Très déçu.",
        ),
        "question": (
            "{m} vous livrez en Belgique ?",
            "{m} le magasin de {city} est ouvert le dimanche ?",
        ),
        "neutral": (
            "Petit café chez {m} avant le boulot.",
            "Réunion au {m} de {city} cet après-midi.",
        ),
        "answer": ("Merci pour votre message ! Nous vous avons envoyé un DM ☕",),
    },
    "es": {
        "promoter": (
            "¡El mejor café que he probado, gracias {m}! 😍",
            "Me encanta el {drink} de {m}, buenísimo.",
        ),
        "detractor": (
            "Pésimo servicio, todavía sin reembolso. {m} 😡",
            "{m} mi pedido llegó tarde y frío. Muy decepcionado.",
        ),
        "question": (
            "{m} ¿hacen envíos a México?",
            "{m} ¿cuándo vuelve el {beans}?",
        ),
        "neutral": (
            "Tomando un café en {m} antes del trabajo.",
            "Hoy toca {drink} de {m}.",
        ),
        "answer": ("¡Gracias por escribirnos! Te enviamos un mensaje directo ☕",),
    },
    "ja": {
        "promoter": (
            "{m} のエスプレッソ、今年一番おいしかった！ありがとう😍",
            "{m} の新しいブレンド最高です☕",
        ),
        "detractor": (
            "{m} 注文した商品がまだ届きません。返金もまだです。最悪です。",
            "{m} のアプリでまた二重請求された。ひどい。",
        ),
        "question": (
            "{m} 日本への発送はありますか？",
            "{m} {beans}はいつ再入荷しますか？",
        ),
        "neutral": (
            "今日は{m}で作業中。",
            "{m}の{beans}を買って帰宅。",
        ),
        "answer": ("お問い合わせありがとうございます！DMをお送りしました☕",),
    },
}

LONG_POST_SENTENCES: tuple[str, ...] = (
    "I have been a customer for six years and I want to explain exactly what happened this month.",
    "On the first I ordered two bags of beans and a grinder through the app.",
    "The grinder never arrived and the tracking page has said in transit for nineteen days.",
    "I emailed support four times and got the same automated reply every time.",
    "When I called the store they told me online orders are not their problem.",
    "I was charged twice and the second charge is still on my card statement today.",
    "I am not angry about one mistake but about how nobody seems to care.",
    "Please read this and tell me who I can actually talk to about getting my money back.",
)

HASHTAGS: dict[str, tuple[str, ...]] = {
    "positive": ("coffee", "coffeelover", "espresso", "latte", "specialtycoffee", "morning"),
    "negative": ("customerservice", "fail", "refund", "coffee"),
    "neutral": ("coffee", "wfh", "morning", "coldbrew"),
}

EMOJI: dict[str, tuple[str, ...]] = {
    "positive": ("😍", "☕", "🙌", "💛", "✨", "😊", "🥰", "👏", "🔥"),
    "negative": ("😡", "🙄", "👎", "😤", "😞", "💸"),
    "neutral": ("☕", "📍", "🙂", "💻"),
}

COUNTRIES: tuple[str, ...] = ("Canada", "Mexico", "the UK", "Germany", "Australia", "Ireland")
STREETS: tuple[str, ...] = (
    "Main St",
    "5th Ave",
    "Elm Street",
    "Pine & 3rd",
    "Division St",
    "Harbor Road",
)
PREFIXES: tuple[str, ...] = ("Honestly, ", "Ok so ", "Ngl ", "Not gonna lie, ", "Update: ")

# --------------------------------------------------------------------------------------------
# Authors
# --------------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "en": _words(
        "anna ben carla dmitri emma farah gabriel hana isaac jules kenji lena marco nora oscar "
        "priya quinn rosa sam tomas uma victor wen zoe ahmed bea chloe diego elif grace hugo ines "
        "jamal kate liam maya noah olivia rahul sofia theo yusuf ava eli jade leo mila ruth sean "
        "tara"
    ),
    "de": _words("jonas lena felix greta lukas marie paul sophie jan frieda"),
    "fr": _words("camille louis amelie hugo lea jules manon theo chloe remi"),
    "es": _words("mateo lucia pablo sofia diego valentina javier carmen ana"),
    "ja": _words("yuki haruto sakura sora ren aoi hina kaito mei riku"),
}
SURNAMES: tuple[str, ...] = _words(
    "koch martin nguyen garcia smith lee mueller dubois rossi tanaka kim silva novak berg okafor "
    "walsh patel ito moreau lopez"
)
HANDLE_WORDS: tuple[str, ...] = _words(
    "coffee bean latte night sleepy urban pixel quiet retro cosmic otter fox owl cat cyclist "
    "reader maker nerd dev garden"
)
INSTANCES: dict[str, tuple[str, ...]] = {
    "en": _words(
        "fosstodon.org hachyderm.io mastodon.online mas.to mstdn.social toot.community "
        "social.coop infosec.exchange mastodon.world"
    ),
    "de": ("chaos.social", "troet.cafe", "norden.social"),
    "fr": ("piaille.fr", "mamot.fr"),
    "es": ("masto.es", "mastodon.uy"),
    "ja": ("mstdn.jp", "pawoo.net"),
}
CUSTOM_DOMAINS: tuple[str, ...] = ("com", "dev", "net", "xyz", "me")
INFLUENCERS: tuple[str, ...] = ("coffeereviewdaily", "beanjournal", "thecaffeinebeat")

#: Language of an author (cumulative weights); their posts are mostly in it.
_LANGS: tuple[str, ...] = ("en", "de", "fr", "es", "ja")
_LANG_CUM: tuple[float, ...] = (0.89, 0.925, 0.952, 0.982, 1.0)
#: Fixed UTC offsets some clients write timestamps in, by language.
_OFFSETS: dict[str, tuple[int, ...]] = {
    "en": (-300, -480, -360, 60, 330, 600, 120),
    "de": (60,),
    "fr": (60,),
    "es": (60, -360, -180),
    "ja": (540,),
}
#: Activity in each UTC hour (mixed North American and European audience).
HOUR_WEIGHTS: tuple[float, ...] = tuple(
    float(w) for w in _words("6 5 4 3 2.5 2.5 3 4 5 6 6 6.5 7 8 9 10 10 10 9.5 9 8.5 8 7 6.5")
)


@dataclass(frozen=True, slots=True)
class _Author:
    platform: str
    handle: str
    #: First name the brand greets them with ("" when the handle is not a name).
    name: str
    followers: int | None
    lang: str
    #: How their client writes created_at: "utc" (+00:00), "zulu" (.mmmZ) or a fixed offset.
    clock: str | dt.timezone
    #: Mastodon: the instance their posts live on. Bluesky: their DID.
    home: str


@dataclass(frozen=True, slots=True)
class _Post:
    """What later records need to know about an emitted post."""

    platform: str
    id: str
    author: _Author
    lang: str | None
    text: str
    depth: int


def _base32(alphabet: str) -> Callable[[int, int], str]:
    """An encoder of the low ``5 * chars`` bits of a number, most significant first (fast: two
    characters per lookup)."""
    pairs = [a + b for a in alphabet for b in alphabet]

    def encode(value: int, chars: int) -> str:
        out = []
        if chars % 2:
            out.append(alphabet[value & 31])
            value >>= 5
        for _ in range(chars // 2):
            out.append(pairs[value & 1023])
            value >>= 10
        return "".join(reversed(out))

    return encode


_did_chars = _base32("abcdefghijklmnopqrstuvwxyz234567")
#: Bluesky TIDs (record keys): 13 characters of sortable base32 of a 64-bit number.
_tid = _base32("234567abcdefghijklmnopqrstuvwxyz")


def _plc(handle: str) -> str:
    """A stable did:plc for a handle (24 characters of base32, like the real ones)."""
    digest = hashlib.sha256(handle.encode()).digest()
    return "did:plc:" + _did_chars(int.from_bytes(digest[:15]), 24)


def _choose(rng: random.Random, items: Sequence[_T]) -> _T:
    """``rng.choice`` without its overhead (a different but equally deterministic stream)."""
    return items[int(rng.random() * len(items))]


def _followers(rng: random.Random) -> int:
    """Heavy-tailed: median about 30, about 8% above 500, a few above 50,000."""
    return min(int(rng.paretovariate(0.85) * 25) - 25, 2_000_000)


def _author_pool(seed: int, platform: str, size: int, brand: BrandSpec) -> list[_Author]:
    """The platform's people; the first ``k`` are the same for any ``size >= k`` (prefix-stable)."""
    rng = random.Random(f"authors:{seed}:{platform}")
    taken = {brand.handle(platform)}
    pool: list[_Author] = []
    while len(pool) < size:
        author = _new_author(rng, platform, taken, brand)
        pool.append(author)
    return pool


def _new_author(
    rng: random.Random,
    platform: str,
    taken: set[str],
    brand: BrandSpec,
    lang: str | None = None,
    followers: int | None = None,
    user: str | None = None,
) -> _Author:
    if lang is None:
        lang = _LANGS[bisect.bisect_right(_LANG_CUM, rng.random())]
    first = _choose(rng, FIRST_NAMES[lang])
    name = first.capitalize()
    if user is None:
        style = rng.random()
        if style < 0.25:
            user = first
        elif style < 0.55:
            user = first + _choose(rng, ("", "_", ".")) + _choose(rng, SURNAMES)
        elif style < 0.75:
            user = f"{first}{rng.randint(1, 99)}"
        else:
            user = _choose(rng, HANDLE_WORDS) + _choose(rng, ("", "_")) + _choose(rng, HANDLE_WORDS)
            name = ""
    else:
        name = ""
    if platform == "mastodon":
        user = user.replace(".", "_")
        if rng.random() < 0.15:
            user = user.capitalize()
    else:
        user = user.replace("_", "-").replace(".", "-")
    while True:
        if platform == "mastodon":
            local = lang == "en" and rng.random() < 0.3
            home = brand.instance if local else _choose(rng, INSTANCES[lang])
            handle = user if local else f"{user}@{home}"
        else:
            if rng.random() < 0.05:
                handle = f"{user.replace('-', '')}.{_choose(rng, CUSTOM_DOMAINS)}"
            else:
                handle = f"{user}.bsky.social"
            home = "did:plc:" + _did_chars(rng.getrandbits(120), 24)
        if handle.lower() not in taken:
            taken.add(handle.lower())
            break
        user = f"{user}{rng.randint(2, 999)}"
    if followers is None:
        followers = _followers(rng) if rng.random() > 0.04 else None
    clock: str | dt.timezone
    draw = rng.random()
    offset_share = 0.12 if platform == "bluesky" else 0.15
    if lang != "en":
        offset_share = 0.7
    if draw < offset_share:
        clock = dt.timezone(dt.timedelta(minutes=_choose(rng, _OFFSETS[lang])))
    elif platform == "bluesky" and draw < offset_share + 0.5:
        clock = "zulu"
    else:
        clock = "utc"
    return _Author(platform, handle, name, followers, lang, clock, home)


@dataclass(frozen=True)
class _Cast:
    """Everyone on one platform: the pool, the brand and the people with a role."""

    pool: list[_Author]
    brand: _Author
    regular_detractors: list[_Author]
    superfans: list[_Author]
    influencers: list[_Author]


def _cast(seed: int, platform: str, size: int, brand: BrandSpec) -> _Cast:
    rng = random.Random(f"cast:{seed}:{platform}")
    taken = {brand.handle(platform).lower()}
    followers = brand.followers[0] if platform == "mastodon" else brand.followers[1]
    home = brand.instance if platform == "mastodon" else _plc(brand.bluesky)
    brand_author = _Author(platform, brand.handle(platform), "", followers, "en", "utc", home)
    regular = [_new_author(rng, platform, taken, brand, lang="en") for _ in range(3)]
    superfans = [_new_author(rng, platform, taken, brand, lang="en") for _ in range(3)]
    influencers = [
        _new_author(rng, platform, taken, brand, "en", rng.randint(52_000, 180_000), user)
        for user in INFLUENCERS[:2]
    ]
    pool = _author_pool(seed, platform, size, brand)
    special = {a.handle.lower() for a in regular + superfans + influencers}
    pool = [a for a in pool if a.handle.lower() not in special]
    return _Cast(pool, brand_author, regular, superfans, influencers)


# --------------------------------------------------------------------------------------------
# Ids, timestamps, HTML
# --------------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Escape text the way Mastodon serves it (``&#39;`` for the apostrophe)."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _decapitalize(text: str) -> str:
    """``"Best coffee"`` -> ``"best coffee"`` (not ``"I'm"``, ``"WORST"`` or a placeholder)."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _hcard(profile_url: str, username: str) -> str:
    return (
        f'<span class="h-card" translate="no"><a href="{profile_url}" class="u-url mention">'
        f"@<span>{username}</span></a></span>"
    )


def _html_link(url: str) -> str:
    return (
        f'<a href="https://{url}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">https://</span><span class="">{url}</span>'
        '<span class="invisible"></span></a>'
    )


def _html_tag(instance: str, tag: str) -> str:
    return (
        f'<a href="https://{instance}/tags/{tag}" class="mention hashtag" rel="tag">'
        f"#<span>{tag}</span></a>"
    )


_FORMATTER = string.Formatter()
_FIELDS_OF: dict[str, tuple[str, ...]] = {}


_ESCAPED: dict[str, str] = {}


def _escaped_template(template: str) -> str:
    """``template`` with its literal text escaped for Mastodon HTML (cached)."""
    escaped = _ESCAPED.get(template)
    if escaped is None:
        escaped = _ESCAPED[template] = _escape(template)
    return escaped


def _fields_of(template: str) -> tuple[str, ...]:
    names = _FIELDS_OF.get(template)
    if names is None:
        names = tuple(name for _, name, _, _ in _FORMATTER.parse(template) if name)
        _FIELDS_OF[template] = names
    return names


# --------------------------------------------------------------------------------------------
# One day
# --------------------------------------------------------------------------------------------

#: What a new (not scheduled) record is, and how often: on a normal day, in an incident.
_KINDS = _words("brand_post reply_brand reply_reply question promoter detractor neutral repost")
_NORMAL_WEIGHTS = (0.02, 0.13, 0.05, 0.09, 0.17, 0.09, 0.39, 0.06)
_INCIDENT_WEIGHTS = (0.0, 0.10, 0.04, 0.15, 0.05, 0.40, 0.20, 0.06)


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = sum(weights)
    out, run = [], 0.0
    for w in weights:
        run += w
        out.append(run / total)
    out[-1] = 1.0
    return out


class _Writer:
    """The day's output files; records go to a random one of them."""

    def __init__(self, day_dir: Path, formats: Sequence[str], files: int) -> None:
        self.names: list[str] = []
        self.kinds: list[str] = []
        self.handles: list[TextIO] = []
        self.csv: list[Any] = []
        encoder = json.JSONEncoder(ensure_ascii=False)
        self.encode = encoder.encode
        for number in range(1, files + 1):
            for fmt in formats:
                name = f"export-{number:02d}.{fmt}"
                handle = open(day_dir / name, "w", encoding="utf-8", newline="", buffering=1 << 20)  # noqa: SIM115
                self.names.append(name)
                self.kinds.append(fmt)
                self.handles.append(handle)
                if fmt == "csv":
                    writer = csv.writer(handle)
                    writer.writerow(FIELDS)
                    self.csv.append(writer)
                else:
                    self.csv.append(None)
        self.jsonl = [i for i, k in enumerate(self.kinds) if k == "jsonl"]
        self.csvs = [i for i, k in enumerate(self.kinds) if k == "csv"]

    def write(self, index: int, record: dict[str, Any]) -> None:
        writer = self.csv[index]
        if writer is None:
            self.handles[index].write(self.encode(record) + "\n")
        else:
            writer.writerow([record.get(name) for name in FIELDS])

    def write_raw_line(self, index: int, line: str) -> None:
        self.handles[index].write(line + "\n")

    def write_row(self, index: int, row: list[str]) -> None:
        self.csv[index].writerow(row)

    def close(self) -> None:
        for handle in self.handles:
            handle.close()


class _Day:
    """Makes one day's records in time order and writes them as it goes."""

    def __init__(
        self,
        day: dt.date,
        mentions: int,
        seed: int,
        brand: BrandSpec,
        incident: bool,
        writer: _Writer,
    ) -> None:
        self.day = day
        self.mentions = mentions
        self.brand = brand
        self.incident = incident
        self.writer = writer
        self.rng = random.Random(f"sample:{seed}:{day.isoformat()}")
        self.random = self.rng.random
        self.stats = DayStats(day=day, files=tuple(writer.names))
        self.day_start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        self.day_ms = int((self.day_start - _EPOCH).total_seconds()) * 1000
        self.day_text = day.isoformat()
        # People per platform: grows with volume (prefix-stable, so days share their regulars).
        size = min(max(mentions * 3, 60), AUTHORS_MAX)
        self.cast = {p: _cast(seed, p, size, brand) for p in ("mastodon", "bluesky")}
        home = self.cast["mastodon"].brand.home
        #: How posts name the brand: a mention (the default) or just its name.
        self.brand_mentions = {
            "mastodon": _hcard(f"https://{home}/@{brand.mastodon}", brand.mastodon),
            "bluesky": "@" + brand.bluesky,
        }
        self.brand_names = {"mastodon": _escape(brand.name), "bluesky": brand.name}
        weights = list(HOUR_WEIGHTS)
        if incident:
            for hour in range(*INCIDENT_HOURS):
                weights[hour] *= 2.2
        self.hour_cum = [0.0, *_cumulative(weights)]
        self.normal_cum = _cumulative(_NORMAL_WEIGHTS)
        self.incident_cum = _cumulative(_INCIDENT_WEIGHTS)
        # Recent posts per platform, for replies and reposts (bounded).
        self.brand_recent = {p: deque[_Post](maxlen=20) for p in ("mastodon", "bluesky")}
        self.threads = {p: deque[_Post](maxlen=60) for p in ("mastodon", "bluesky")}
        self.shareable = {p: deque[_Post](maxlen=100) for p in ("mastodon", "bluesky")}
        self.promoters = {p: deque[_Post](maxlen=30) for p in ("mastodon", "bluesky")}
        # Pending replies: (due ms, sequence, kind, target, extra).
        self.events: list[tuple[int, int, str, _Post | None, Any]] = []
        self.sequence = 0
        # Pending exact duplicates: (slot, sequence, file index, record).
        self.dups: list[tuple[int, int, int, dict[str, Any]]] = []
        self.last_id = {"mastodon": 0, "bluesky": 0}
        self.t_ms = 0
        if incident:
            start = INCIDENT_HOURS[0] * 3_600_000 + 40 * 60_000
            end = INCIDENT_HOURS[1] * 3_600_000 - 10 * 60_000
            for platform in ("mastodon", "bluesky"):
                self._schedule(start, "status", None, (platform, INCIDENT_BRAND_POSTS[0]))
                self._schedule(end, "status", None, (platform, INCIDENT_BRAND_POSTS[1]))

    # ---- helpers -------------------------------------------------------------------------

    def _schedule(self, due: int, kind: str, target: _Post | None, extra: Any = None) -> None:
        if due < _DAY_MS:
            self.sequence += 1
            heapq.heappush(self.events, (due, self.sequence, kind, target, extra))

    def _delay(self, median_minutes: float, sigma: float) -> int:
        return int(self.rng.lognormvariate(0, sigma) * median_minutes * 60_000) + 30_000

    def _slot_time(self, slot: int) -> int:
        u = (slot + self.rng.random()) / self.mentions
        cum = self.hour_cum
        hour = min(bisect.bisect_right(cum, u) - 1, 23)
        frac = (u - cum[hour]) / (cum[hour + 1] - cum[hour])
        return min(int((hour + frac) * 3_600_000), _DAY_MS - 1)

    def _pick(self, items: Sequence[_T]) -> _T:
        return items[int(self.random() * len(items))]

    def _days_since(self, offset: int) -> int:
        """A regular's running count ("day 23 of ..."): one more each day, never below 2."""
        return max(2, offset + self.day.toordinal() - _GRUDGE_BASE)

    def _customer(self, platform: str) -> _Author:
        pool = self.cast[platform].pool
        return pool[int(len(pool) * self.random() ** 1.4)]  # a few people post a lot

    def _new_id(self, platform: str, author: _Author, collection: str = "post") -> str:
        ms = self.day_ms + self.t_ms
        draw = self.random()
        if platform == "mastodon":
            value = (ms << 16) | int(draw * 32_768)
            if value <= self.last_id[platform]:
                value = self.last_id[platform] + 1
            self.last_id[platform] = value
            return str(value)
        # microseconds << 10 | a clock id below 512 (older, dangling parents use 512-1023)
        value = ((ms * 1000 + int(draw * 1000)) << 10) | int(self.random() * 512)
        if value <= self.last_id[platform]:
            value = self.last_id[platform] + 1
        self.last_id[platform] = value
        return f"at://{author.home}/app.bsky.feed.{collection}/{_tid(value, 13)}"

    def _old_id(self, platform: str, author: _Author) -> str:
        """The id of an older post (before this day), not in the files: a dangling parent."""
        ms = self.day_ms - self.rng.randint(3_600_000, 5 * _DAY_MS)
        if platform == "mastodon":
            return str((ms << 16) | self.rng.randrange(32_768, 65_536))
        value = ((ms * 1000 + self.rng.randrange(1000)) << 10) | self.rng.randrange(512, 1024)
        return f"at://{author.home}/app.bsky.feed.post/{_tid(value, 13)}"

    def _timestamp(self, author: _Author) -> str:
        t = self.t_ms
        clock = author.clock
        if clock == "utc" or clock == "zulu":
            seconds, ms = divmod(t, 1000)
            minutes, sec = divmod(seconds, 60)
            hour, minute = divmod(minutes, 60)
            base = f"{self.day_text}T{hour:02d}:{minute:02d}:{sec:02d}"
            return f"{base}.{ms:03d}Z" if clock == "zulu" else f"{base}+00:00"
        assert isinstance(clock, dt.timezone)
        moment = self.day_start + dt.timedelta(milliseconds=t)
        return moment.astimezone(clock).isoformat(timespec="seconds")

    def _url(self, platform: str, author: _Author, post_id: str) -> str:
        if platform == "mastodon":
            user = author.handle.split("@", 1)[0]
            return f"https://{author.home}/@{user}/{post_id}"
        return f"https://bsky.app/profile/{author.handle}/post/{post_id.rsplit('/', 1)[1]}"

    def _fill(self, name: str, author: _Author) -> str:
        rng = self.rng
        if name == "drink":
            return self._pick(self.brand.drinks)
        if name == "a_drink":
            drink = self._pick(self.brand.drinks)
            return ("an " if drink[0] in "aeiou" else "a ") + drink
        if name == "beans":
            return self._pick(self.brand.beans)
        if name == "item":
            return self._pick(self.brand.goods)
        if name == "city":
            return self._pick(self.brand.cities)
        if name == "country":
            return self._pick(COUNTRIES)
        if name == "order":
            return f"LC-{10_000 + int(rng.random() * 90_000)}"
        if name == "minutes":
            return str(self._pick((25, 30, 40, 45, 50)))
        if name == "street":
            return self._pick(STREETS)
        if name == "n":
            return str(rng.randint(3, 40))
        if name == "name":
            return author.name
        raise KeyError(name)

    def _render(
        self,
        platform: str,
        template: str,
        author: _Author,
        *,
        reply_to: _Author | None = None,
        by_name: bool = False,
        values: dict[str, str] | None = None,
        mood: str | None = None,
        extras: bool = True,
        english: bool = True,
    ) -> str:
        """Fill ``template`` for ``platform``; Mastodon gets HTML, Bluesky plain text."""
        rng = self.rng
        given = values or {}
        mastodon = platform == "mastodon"
        # Decorations: a prefix or all lower case (English, top-level posts), hashtags (top-level
        # posts), a trailing emoji (any). Questions get none, so they end with "?".
        decorate = extras and mood is not None
        top_level = reply_to is None
        if decorate and top_level and english:
            draw = rng.random()
            if draw < 0.08:
                template = self._pick(PREFIXES) + _decapitalize(template)
            elif draw < 0.14:
                template = template.lower()
        filled: dict[str, str] = {}
        for name in _fields_of(template):
            if name in filled:
                continue
            if name == "m":
                filled["m"] = (self.brand_names if by_name else self.brand_mentions)[platform]
                continue
            if name == "link":
                path = self._pick(("menu", "careers", "faq", "story", "shop"))
                url = f"{self.brand.website}/{path}"
                filled["link"] = _html_link(url) if mastodon else url
                continue
            if name in given:
                value = given[name]
            elif name == "hi":
                greeting = self._pick(GREETINGS)
                if "{name}" in greeting and not author.name:
                    greeting = "Hi! "
                value = greeting.replace("{name}", author.name)
            else:
                value = self._fill(name, author)
            filled[name] = _escape(value) if mastodon else value
        tags: list[str] = []
        if decorate and top_level and mood is not None and rng.random() < 0.18:
            tags = rng.sample(HASHTAGS[mood], rng.randint(1, 2))
        emoji = ""
        if decorate and mood is not None and rng.random() < 0.15:
            emoji = " " + self._pick(EMOJI[mood])
        if not mastodon:
            text = template.format_map(filled) + emoji
            if tags:
                sep = "\n\n" if rng.random() < 0.5 else " "
                text += sep + " ".join("#" + t for t in tags)
            return text
        body = _escaped_template(template).format_map(filled) + emoji
        if reply_to is not None:
            user = reply_to.handle.split("@", 1)[0]
            body = _hcard(f"https://{reply_to.home}/@{user}", user) + " " + body
        paragraphs = [body]
        if tags:
            instance = self.brand.instance
            paragraphs.append(" ".join(_html_tag(instance, t) for t in tags))
        return "".join(f"<p>{p}</p>" for p in paragraphs)

    def _record(
        self,
        platform: str,
        author: _Author,
        text: str,
        lang: str | None,
        *,
        reply_to: str | None = None,
        repost_of: str | None = None,
        depth: int = 0,
    ) -> tuple[dict[str, Any], _Post]:
        rng = self.rng
        post_id = self._new_id(platform, author, "repost" if repost_of else "post")
        record: dict[str, Any] = {
            "platform": platform,
            "id": post_id,
            "author": author.handle,
            "created_at": self._timestamp(author),
            "text": text,
        }
        if platform == "mastodon":
            record["in_reply_to_id"] = reply_to  # Mastodon exports carry an explicit null
        elif reply_to is not None:
            record["in_reply_to_id"] = reply_to
        if repost_of is None and rng.random() < 0.92:
            record["url"] = self._url(platform, author, post_id)
        if author.followers is not None:
            record["author_followers"] = author.followers
        if lang is not None:
            record["lang"] = lang
        if repost_of is not None:
            record["repost_of_id"] = repost_of
        return record, _Post(platform, post_id, author, lang, text, depth)

    def _english_lang(self) -> str | None:
        return "en" if self.rng.random() < 0.7 else None

    def _language(self, author: _Author) -> str:
        """The language this post is written in (foreign authors sometimes write English)."""
        if author.lang != "en" and self.rng.random() < 0.85:
            return author.lang
        return "en"

    # ---- the kinds of records ------------------------------------------------------------

    def _k_brand_post(self, platform: str) -> dict[str, Any]:
        brand = self.cast[platform].brand
        text = self._render(platform, self._pick(BRAND_POSTS), brand)
        record, post = self._record(platform, brand, text, "en")
        self.brand_recent[platform].append(post)
        self.shareable[platform].extend((post, post))  # the brand's posts are reposted most
        self.stats.brand_posts += 1
        return record

    def _pick_root_author(self, platform: str, role: str) -> tuple[_Author, bool]:
        cast = self.cast[platform]
        draw = self.rng.random()
        if role == "detractor" and draw < 0.3:
            return self._pick(cast.regular_detractors), True
        if role == "promoter" and draw < 0.2:
            return self._pick(cast.superfans), True
        if role in ("promoter", "neutral") and draw > 0.97:
            return self._pick(cast.influencers), False
        return self._customer(platform), False

    def _k_question(self, platform: str) -> dict[str, Any]:
        rng = self.rng
        author = self._customer(platform)
        lang = self._language(author)
        if lang != "en":
            template = self._pick(FOREIGN[lang]["question"])
            answer = self._pick(FOREIGN[lang]["answer"])
            field_lang: str | None = lang
        else:
            bank = QUESTIONS_EN
            if self.incident and self._in_incident() and rng.random() < 0.6:
                bank = INCIDENT_QUESTIONS_EN
            template, answer = self._pick(bank)
            field_lang = self._english_lang()
        values = {name: self._fill(name, author) for name in ("city", "country", "drink", "beans")}
        text = self._render(platform, template, author, values=values, mood="neutral", extras=False)
        record, post = self._record(platform, author, text, field_lang)
        self._ask(post, answer, values)
        return record

    def _ask(self, post: _Post, answer: str, values: dict[str, str]) -> None:
        """A customer's question to the brand: maybe answered by the brand, maybe by others."""
        rng = self.rng
        self.stats.questions += 1
        answer_share = 0.5 if self.incident else 0.65
        if rng.random() < answer_share:
            self._schedule(self.t_ms + self._delay(40, 1.1), "answer", post, (answer, values))
        if rng.random() < 0.12:
            self._schedule(self.t_ms + self._delay(15, 1.0), "community", post)

    def _k_promoter(self, platform: str) -> dict[str, Any]:
        rng = self.rng
        author, regular = self._pick_root_author(platform, "promoter")
        lang = self._language(author)
        values: dict[str, str] = {}
        if lang != "en":
            template = self._pick(FOREIGN[lang]["promoter"])
            field_lang: str | None = lang
        elif regular:
            template = self._pick(SUPERFAN_EN)
            index = self.cast[platform].superfans.index(author)
            values["n"] = str(self._days_since(20 + 7 * index))
            field_lang = self._english_lang()
        else:
            template = self._pick(PROMOTER_EN)
            field_lang = self._english_lang()
        by_name = rng.random() < 0.12
        text = self._render(
            platform,
            template,
            author,
            by_name=by_name,
            values=values,
            mood="positive",
            english=lang == "en",
        )
        record, post = self._record(platform, author, text, field_lang)
        self.shareable[platform].append(post)
        self.promoters[platform].append(post)
        if rng.random() < 0.25:
            self._schedule(self.t_ms + self._delay(60, 1.0), "thanks", post)
        return record

    def _k_detractor(self, platform: str) -> dict[str, Any]:
        rng = self.rng
        author, regular = self._pick_root_author(platform, "detractor")
        lang = self._language(author)
        values: dict[str, str] = {}
        if lang != "en":
            template = self._pick(FOREIGN[lang]["detractor"])
            field_lang: str | None = lang
        else:
            if regular:
                template = self._pick(REGULAR_DETRACTOR_EN)
                # A regular keeps complaining about the same order, one day more each day.
                index = self.cast[platform].regular_detractors.index(author)
                values["order"] = f"LC-{31_407 + 1_111 * index + 50_000 * (platform == 'bluesky')}"
                values["n"] = str(self._days_since(9 + 4 * index))
            elif self.incident and self._in_incident() and rng.random() < 0.7:
                template = self._pick(INCIDENT_DETRACTOR_EN)
            else:
                template = self._pick(DETRACTOR_EN)
            field_lang = self._english_lang()
        by_name = not regular and rng.random() < 0.12
        text = self._render(
            platform,
            template,
            author,
            by_name=by_name,
            values=values,
            mood="negative",
            english=lang == "en",
        )
        record, post = self._record(platform, author, text, field_lang)
        if rng.random() < 0.4:
            self.shareable[platform].append(post)
        if rng.random() < (0.3 if regular else 0.5):
            self._schedule(self.t_ms + self._delay(50, 1.2), "apology", post)
        return record

    def _k_neutral(self, platform: str) -> dict[str, Any]:
        rng = self.rng
        author, _ = self._pick_root_author(platform, "neutral")
        lang = self._language(author)
        if lang != "en":
            template = self._pick(FOREIGN[lang]["neutral"])
            field_lang: str | None = lang
        else:
            template = self._pick(NEUTRAL_EN)
            field_lang = self._english_lang()
        by_name = rng.random() < 0.2
        text = self._render(
            platform, template, author, by_name=by_name, mood="neutral", english=lang == "en"
        )
        if platform == "bluesky" and rng.random() < 0.05:
            text += "\n\n" + self._pick(("Anyway.", "More later.", "📍" + self._pick(STREETS)))
        record, post = self._record(platform, author, text, field_lang)
        if rng.random() < 0.3:
            self.shareable[platform].append(post)
        return record

    def _k_reply_brand(self, platform: str) -> dict[str, Any]:
        rng = self.rng
        cast = self.cast[platform]
        recent = self.brand_recent[platform]
        if recent and rng.random() < 0.9:
            target = recent[int(len(recent) * rng.random() ** 0.5)]  # newer posts more often
        else:
            old_id = self._old_id(platform, cast.brand)
            target = _Post(platform, old_id, cast.brand, "en", "", 0)
        author = self._customer(platform)
        draw = rng.random()
        if self.incident and self._in_incident():
            mood = "negative" if draw < 0.5 else "question" if draw < 0.75 else "neutral"
        else:
            mood = (
                "positive"
                if draw < 0.38
                else "neutral"
                if draw < 0.66
                else "question"
                if draw < 0.86
                else "negative"
            )
        template = self._pick(REPLY_TO_BRAND[mood])
        sentiment = "neutral" if mood == "question" else mood
        text = self._render(
            platform,
            template,
            author,
            reply_to=target.author,
            mood=sentiment,
            extras=mood != "question",
        )
        record, post = self._record(
            platform, author, text, self._english_lang(), reply_to=target.id, depth=1
        )
        self.threads[platform].append(post)
        if mood == "question":
            self._ask(post, "{hi}" + self._pick(("Yes, it is!", "Good question - yes.")), {})
        elif mood == "negative" and rng.random() < 0.4:
            self._schedule(self.t_ms + self._delay(50, 1.2), "apology", post)
        return record

    def _k_reply_reply(self, platform: str) -> dict[str, Any]:
        threads = [p for p in self.threads[platform] if p.depth < 3]
        if not threads:
            return self._k_reply_brand(platform)
        target = self._pick(threads)
        author = self._customer(platform)
        if author is target.author:
            author = self._customer(platform)
        text = self._render(
            platform, self._pick(REPLY_TO_REPLY), author, reply_to=target.author, mood="neutral"
        )
        record, post = self._record(
            platform,
            author,
            text,
            self._english_lang(),
            reply_to=target.id,
            depth=target.depth + 1,
        )
        if post.depth < 3:
            self.threads[platform].append(post)
        return record

    def _k_repost(self, platform: str) -> dict[str, Any]:
        rng = self.rng
        cast = self.cast[platform]
        if self.promoters[platform] and rng.random() < 0.1:
            author = cast.brand  # the brand boosts a happy customer
            target = self._pick(self.promoters[platform])
        else:
            author = self._customer(platform)
            if self.shareable[platform]:
                target = self._pick(self.shareable[platform])
            else:
                text = self._render(platform, self._pick(BRAND_POSTS), cast.brand)
                target = _Post(
                    platform, self._old_id(platform, cast.brand), cast.brand, "en", text, 0
                )
        record, _ = self._record(platform, author, target.text, target.lang, repost_of=target.id)
        self.stats.reposts += 1
        return record

    def _in_incident(self) -> bool:
        return INCIDENT_HOURS[0] * 3_600_000 <= self.t_ms < INCIDENT_HOURS[1] * 3_600_000

    # ---- replies that were scheduled -----------------------------------------------------

    def _event(self, kind: str, target: _Post | None, extra: Any) -> dict[str, Any]:
        rng = self.rng
        if kind == "status":
            platform, template = extra
            brand = self.cast[platform].brand
            text = self._render(platform, template, brand)
            record, post = self._record(platform, brand, text, "en")
            self.brand_recent[platform].append(post)
            self.shareable[platform].append(post)
            self.stats.brand_posts += 1
            return record
        assert target is not None
        platform = target.platform
        cast = self.cast[platform]
        if kind in ("answer", "thanks", "apology", "brand_followup"):
            values: dict[str, str] = {}
            lang: str | None = "en"
            if kind == "answer":
                template, values = extra
                if not template.startswith("{hi}"):
                    lang = target.lang  # answered in the customer's language
            elif kind == "thanks":
                template = self._pick(BRAND_THANKS)
            elif kind == "apology":
                template = self._pick(BRAND_APOLOGIES)
            else:
                template = self._pick(BRAND_FOLLOWUPS)
            text = self._render(
                platform, template, target.author, reply_to=target.author, values=values
            )
            record, post = self._record(
                platform, cast.brand, text, lang, reply_to=target.id, depth=target.depth + 1
            )
            self.stats.brand_posts += 1
            self.stats.brand_replies += 1
            if kind == "answer":  # only questions are answered with "answer", once each
                self.stats.questions_answered += 1
            if kind != "brand_followup" and post.depth < 3 and rng.random() < 0.3:
                mood = "negative" if kind == "apology" and rng.random() < 0.5 else "positive"
                self._schedule(
                    self.t_ms + self._delay(20, 1.0), "followup", post, (target.author, mood)
                )
            return record
        if kind == "followup":
            author, mood = extra
            text = self._render(
                platform,
                self._pick(CUSTOMER_FOLLOWUPS[mood]),
                author,
                reply_to=target.author,
                mood=mood,
            )
            record, post = self._record(
                platform,
                author,
                text,
                self._english_lang(),
                reply_to=target.id,
                depth=target.depth + 1,
            )
            if mood == "negative" and post.depth < 4 and rng.random() < 0.5:
                self._schedule(self.t_ms + self._delay(45, 1.0), "brand_followup", post)
            return record
        # community: another customer answers a question (the brand still has not)
        author = self._customer(platform)
        text = self._render(
            platform,
            self._pick(COMMUNITY_ANSWERS),
            author,
            reply_to=target.author,
            mood="neutral",
        )
        record, post = self._record(
            platform,
            author,
            text,
            self._english_lang(),
            reply_to=target.id,
            depth=target.depth + 1,
        )
        return record

    # ---- malformed and long ----------------------------------------------------------------

    def _malformed(self, kind: str) -> None:
        rng = self.rng
        writer = self.writer
        if kind == "not_json" and not writer.jsonl:
            kind = "short_csv_row"
        elif kind == "short_csv_row" and not writer.csvs:
            kind = "not_json"
        platform = "mastodon" if rng.random() < 0.45 else "bluesky"
        author = self._customer(platform)
        text = self._render(platform, self._pick(NEUTRAL_EN), author, mood="neutral")
        record, _ = self._record(platform, author, text, self._english_lang())
        self.stats.malformed += 1
        self.stats.records_written += 1
        if kind == "not_json":
            line = writer.encode(record)
            writer.write_raw_line(self._pick(writer.jsonl), line[: len(line) // 2])
            return
        if kind == "short_csv_row":
            row = [record.get(name) or "" for name in FIELDS[:3]]
            writer.write_row(self._pick(writer.csvs), row)
            return
        if kind == "missing_text":
            del record["text"]
        elif kind == "bad_created_at":
            record["created_at"] = "yesterday"
        elif kind == "empty_text":
            record["text"] = ""
        elif kind == "unknown_platform":
            record["platform"] = "myspace"
            record["id"] = f"myspace-{rng.randrange(10**9)}"
            record.pop("url", None)
        elif kind == "bad_followers":
            record["author_followers"] = "lots"
        writer.write(rng.randrange(len(writer.names)), record)

    def _long_post(self, chars: int) -> dict[str, Any]:
        """One pasted-in Mastodon rant of exactly ``chars`` characters of text (HTML included)."""
        author = self._customer("mastodon")
        inner: list[str] = []
        size, index = 0, 0
        while size < chars:
            sentence = LONG_POST_SENTENCES[index % len(LONG_POST_SENTENCES)]
            inner.append(sentence)
            size += len(sentence) + 1
            index += 1
        body = " ".join(inner)[: max(chars - 7, 0)]
        text = ("<p>" + body + "</p>")[:chars]
        record, _ = self._record("mastodon", author, text, "en")
        return record

    # ---- the day ---------------------------------------------------------------------------

    def run(self, malformed: int, long_post_chars: int | None) -> DayStats:
        """Write the day: one slot per mention in time order. A slot is a scheduled reply when
        one is due, else a new record of a random kind; malformed records and re-emitted
        duplicates are written between slots."""
        rng = self.rng
        writer = self.writer
        stats = self.stats
        mentions = self.mentions
        slots = max(mentions, 1)
        first = (self.day.toordinal() * 3) % len(MALFORMED_KINDS)
        bad_kinds = [MALFORMED_KINDS[(first + j) % len(MALFORMED_KINDS)] for j in range(malformed)]
        bad_slots = sorted(rng.randrange(slots) for _ in range(malformed))
        bad_at = 0
        long_slot = rng.randrange(slots) if long_post_chars and mentions else -1
        nfiles = len(writer.names)
        makers: list[Callable[[str], dict[str, Any]]] = [getattr(self, "_k_" + k) for k in _KINDS]
        dups = self.dups
        events = self.events
        for slot in range(mentions):
            self.t_ms = self._slot_time(slot)
            while bad_at < len(bad_slots) and bad_slots[bad_at] == slot:
                self._malformed(bad_kinds[bad_at])
                bad_at += 1
            while dups and dups[0][0] <= slot:
                _, _, index, old = heapq.heappop(dups)
                writer.write(index, old)
                stats.duplicates += 1
            if slot == long_slot:
                assert long_post_chars is not None
                record = self._long_post(long_post_chars)
            elif events and events[0][0] <= self.t_ms:
                _, _, kind, target, extra = heapq.heappop(events)
                record = self._event(kind, target, extra)
            else:
                platform = "mastodon" if rng.random() < 0.45 else "bluesky"
                cum = self.normal_cum
                if self.incident and self._in_incident():
                    cum = self.incident_cum
                record = makers[bisect.bisect_right(cum, rng.random())](platform)
            index = int(rng.random() * nfiles)
            writer.write(index, record)
            stats.distinct += 1
            if rng.random() < 0.015:
                # Exact re-emit a little later: in another file or again in the same one.
                again = index
                if nfiles > 1 and rng.random() < 0.6:
                    again = (index + rng.randrange(1, nfiles)) % nfiles
                self.sequence += 1
                heapq.heappush(dups, (slot + rng.randint(1, 40), self.sequence, again, record))
        while bad_at < len(bad_slots):
            self._malformed(bad_kinds[bad_at])
            bad_at += 1
        while dups:
            _, _, index, old = heapq.heappop(dups)
            writer.write(index, old)
            stats.duplicates += 1
        stats.records_written += stats.distinct + stats.duplicates
        return stats


def _clean(day_dir: Path) -> None:
    """Remove this generator's earlier files in ``day_dir`` (``export-*.jsonl|csv`` only)."""
    for pattern in ("export-*.jsonl", "export-*.csv"):
        for path in day_dir.glob(pattern):
            path.unlink()


def generate_day(
    day: dt.date,
    mentions: int,
    seed: int,
    brand: BrandSpec = DEFAULT_BRAND,
    *,
    malformed: int = 0,
    out_dir: Path,
    formats: Sequence[str] = FORMATS,
    files: int = 1,
    long_post_chars: int | None = None,
    incident: bool = False,
) -> DayStats:
    """Write UTC ``day`` as ``<out_dir>/<day>/export-NN.<fmt>`` (``files`` files per format).

    ``mentions`` well-formed distinct records are written (the brand's posts and replies
    included), plus about 1.5% exact duplicates and ``malformed`` broken records. Earlier
    ``export-*`` files in the day folder are replaced; other files are left alone.
    ``incident`` adds an afternoon outage (more detractors, status posts by the brand).
    """
    if mentions < 0 or malformed < 0:
        raise ValueError("mentions and malformed must be >= 0")
    if files < 1:
        raise ValueError("files must be >= 1")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats or len(set(formats)) != len(formats):
        raise ValueError(f"formats must be distinct values of {FORMATS}, got {tuple(formats)}")
    if long_post_chars is not None and long_post_chars < 8:
        raise ValueError("long_post_chars must be >= 8")
    day_dir = Path(out_dir) / day.isoformat()
    day_dir.mkdir(parents=True, exist_ok=True)
    _clean(day_dir)
    writer = _Writer(day_dir, list(formats), files)
    try:
        return _Day(day, mentions, seed, brand, incident, writer).run(malformed, long_post_chars)
    finally:
        writer.close()


def generate_sample(
    out_dir: Path,
    start: dt.date = SAMPLE_START,
    days: int = SAMPLE_DAYS,
    per_day: int = SAMPLE_PER_DAY,
    seed: int = SAMPLE_SEED,
    *,
    brand: BrandSpec = DEFAULT_BRAND,
    malformed: int = SAMPLE_MALFORMED,
    formats: Sequence[str] = FORMATS,
    files: int = 1,
    incident_days: Sequence[int] = SAMPLE_INCIDENT_DAYS,
    long_post: tuple[int, int] | None = SAMPLE_LONG_POST,
) -> list[DayStats]:
    """Write ``days`` consecutive days from ``start``: ``per_day`` mentions a day, more on the
    ``incident_days`` (offsets from ``start``), one long post on day ``long_post[0]``.

    With the defaults this is the committed sample.
    """
    out: list[DayStats] = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        incident = offset in incident_days
        mentions = round(per_day * INCIDENT_VOLUME) if incident else per_day
        long_chars = long_post[1] if long_post and long_post[0] == offset else None
        out.append(
            generate_day(
                day,
                mentions,
                seed,
                brand,
                malformed=malformed,
                out_dir=out_dir,
                formats=formats,
                files=files,
                long_post_chars=long_chars,
                incident=incident,
            )
        )
    return out


def totals(stats: Sequence[DayStats]) -> dict[str, int]:
    """The sum of every count over ``stats``."""
    keys = [k for k, v in asdict(DayStats(day=dt.date.min)).items() if isinstance(v, int)]
    return {k: sum(getattr(s, k) for s in stats) for k in keys}


def _project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: the committed sample by default, benchmark input with ``--mentions``."""
    parser = argparse.ArgumentParser(
        prog="python -m sentiment_monitor.sample",
        description="Write deterministic export files (one folder per UTC day). Without "
        "--mentions: the sample shape (incident day, long post); the defaults reproduce "
        "data/sample/exports. With --mentions N: exactly N mentions a day, plain days.",
    )
    parser.add_argument("--out", type=Path, default=_project_root() / SAMPLE_DIR)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=SAMPLE_START)
    parser.add_argument("--days", type=int, default=SAMPLE_DAYS)
    parser.add_argument("--per-day", type=int, default=SAMPLE_PER_DAY)
    parser.add_argument("--seed", type=int, default=SAMPLE_SEED)
    parser.add_argument("--mentions", type=int, help="benchmark mode: N mentions per day")
    parser.add_argument("--files", type=int, default=1, help="files per format and day")
    parser.add_argument("--formats", default="jsonl,csv", help="comma-separated: jsonl,csv")
    parser.add_argument("--malformed", type=int, default=SAMPLE_MALFORMED)
    parser.add_argument("--long-post", type=int, default=None, help="bench mode: chars")
    args = parser.parse_args(argv)
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    began = time.perf_counter()
    if args.mentions is None:
        stats = generate_sample(
            args.out,
            args.start,
            args.days,
            args.per_day,
            args.seed,
            malformed=args.malformed,
            formats=formats,
            files=args.files,
        )
    else:
        stats = [
            generate_day(
                args.start + dt.timedelta(days=offset),
                args.mentions,
                args.seed,
                malformed=args.malformed,
                out_dir=args.out,
                formats=formats,
                files=args.files,
                long_post_chars=args.long_post,
            )
            for offset in range(args.days)
        ]
    elapsed = time.perf_counter() - began
    for day in stats:
        print(json.dumps(day.to_dict()))
    total = totals(stats)
    print(json.dumps({"total": total}))
    rate = total["records_written"] / elapsed if elapsed > 0 else float("inf")
    print(
        f"wrote {total['records_written']:,} records to {args.out} in {elapsed:.1f} s "
        f"({rate:,.0f} records/s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
