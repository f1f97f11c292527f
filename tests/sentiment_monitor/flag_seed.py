"""Warehouse rows for the flags page tests: a few flags, one whose post is a script tag."""

from __future__ import annotations

import sqlalchemy as sa

from sentiment_monitor.warehouse import ensure_schema, make_engine

SCRIPT_TEXT = "<script>alert(1)</script>"

MENTIONS = [
    # (mention_id, author, text, in_reply_to_id, thread_root_id, is_brand, compound)
    ("m1", "alice", "Where is my order?", None, None, False, 0.0),
    ("m2", "lumencoffee", "We are on it, Alice.", "m1", "m1", True, 0.0),
    ("m3", "mallory", SCRIPT_TEXT, None, None, False, -0.8),
    ("m4", "bob", "Best coffee in town, thank you!", None, None, False, 0.9),
]
FLAGS = [("m1", "question", 60), ("m3", "detractor", 90), ("m4", "promoter", 70)]


def seed(url: str) -> None:
    """Create the schema and insert the mentions and flags above for 2026-11-01."""
    engine = make_engine(url)
    ensure_schema(engine)
    with engine.begin() as conn:
        for mention_id, author, text, reply_to, root, is_brand, compound in MENTIONS:
            conn.execute(
                sa.text(
                    """
                    INSERT INTO mentions (platform, mention_id, day, author, created_at, text,
                        url, in_reply_to_id, thread_root_id, is_brand, is_question,
                        mentions_brand, compound, label, source)
                    VALUES ('mastodon', :id, '2026-11-01', :author, :created, :text, :url,
                        :reply_to, :root, :is_brand, FALSE, TRUE, :compound, 'neutral', 'test')
                    """
                ),
                {
                    "id": mention_id,
                    "author": author,
                    "created": f"2026-11-01 10:0{mention_id[-1]}:00+00:00",
                    "text": text,
                    "url": f"https://social.example/@{author}/{mention_id}",
                    "reply_to": reply_to,
                    "root": root,
                    "is_brand": is_brand,
                    "compound": compound,
                },
            )
        for mention_id, kind, priority in FLAGS:
            conn.execute(
                sa.text(
                    """
                    INSERT INTO flags (platform, mention_id, kind, day, author, created_at,
                        compound, priority, reason, status)
                    SELECT platform, mention_id, :kind, day, author, created_at, compound,
                        :priority, 'test', 'open'
                    FROM mentions WHERE mention_id = :id
                    """
                ),
                {"id": mention_id, "kind": kind, "priority": priority},
            )
