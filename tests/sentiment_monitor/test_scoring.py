"""Score: policies (languages, long posts, labels, lexicon) and parallel == inline."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from sentiment_monitor.records import NORMALIZED_SCHEMA, label_for
from sentiment_monitor.scoring import ScoreSettings, combine, group_parts, score_parts, score_text
from tests.sentiment_monitor.staged import staged_layout

SETTINGS = ScoreSettings()


def test_scores_equal_vader_on_ordinary_posts() -> None:
    reference = SentimentIntensityAnalyzer()
    for text in ("I love it!", "Worst service EVER :(", "It is a coffee.", "not bad at all"):
        scored = score_text(text, "en", SETTINGS)
        expected = reference.polarity_scores(text)
        assert {k: scored[k] for k in expected} == expected


def test_other_languages_are_kept_but_not_scored() -> None:
    scored = score_text("Ich liebe es", "de", SETTINGS)
    assert scored["label"] == "unscored" and scored["compound"] is None
    assert "VADER reads English only" in scored["score_note"]
    assert score_text("I love it", "en-GB", SETTINGS)["label"] == "positive"
    assert score_text("I love it", None, SETTINGS)["label"] == "positive"


def test_long_posts_are_scored_on_their_head() -> None:
    text = "I love this. " * 20_000
    scored = score_text(text, None, ScoreSettings(max_text_chars=1000))
    assert scored["label"] == "positive"
    assert scored["score_note"] == f"scored on the first 1000 of {len(text)} characters"


def test_labels_follow_the_thresholds() -> None:
    assert label_for(0.05, 0.05, -0.05) == "positive"
    assert label_for(-0.05, 0.05, -0.05) == "negative"
    assert label_for(0.0499, 0.05, -0.05) == "neutral"
    assert label_for(None, 0.05, -0.05) == "unscored"


def test_brand_lexicon_changes_the_score_as_documented() -> None:
    """A product called 'Killer Queen' is not a threat; 'sick' is praise among gamers."""
    plain = score_text("The Killer Queen blend is sick", None, SETTINGS)
    tuned = score_text(
        "The Killer Queen blend is sick",
        None,
        ScoreSettings(lexicon=(("killer", 0.0), ("sick", 2.0))),
    )
    # The numbers the README quotes.
    assert (plain["label"], plain["compound"]) == ("negative", -0.8225)
    assert (tuned["label"], tuned["compound"]) == ("positive", 0.4588)


def _part(path: Path, texts: list[str]) -> str:
    rows = [
        {
            "platform": "mastodon",
            "mention_id": str(i),
            "day": "2026-11-01",
            "author": "a",
            "author_followers": None,
            "created_at": "2026-11-01 00:00:00.000000+00:00",
            "text": t,
            "lang": "fr" if i % 5 == 0 else None,
            "url": None,
            "in_reply_to_id": None,
            "is_brand": False,
            "is_question": False,
            "mentions_brand": False,
            "source": "s",
        }
        for i, t in enumerate(texts)
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=NORMALIZED_SCHEMA), path)
    return str(path)


def test_parallel_scoring_equals_inline(tmp_path: Path) -> None:
    texts = ["good", "bad", "meh", "GREAT!!!", "awful :(", "fine I guess"] * 5
    parts = [_part(tmp_path / f"part-{i}.parquet", texts[i::3]) for i in range(3)]
    told: dict[int, list[tuple[int, str, int]]] = {1: [], 2: []}
    inline, spread = (
        score_parts(
            parts,
            tmp_path / f"workers-{workers}",
            SETTINGS,
            workers,
            "2026-11-01",
            on_scored=lambda *part, workers=workers: told[workers].append(part),
        )
        for workers in (1, 2)
    )
    assert inline.labels == spread.labels and inline.rows == 30
    # Each part is told once, with its position, its scored file and its rows, as it is written
    # (in the pool, in the order the parts finish).
    assert told[1] == [(i, inline.parts[i], 10) for i in range(3)]
    assert sorted(told[2]) == [(i, spread.parts[i], 10) for i in range(3)]
    assert inline.unscored == 6
    for a, b in zip(inline.parts, spread.parts, strict=True):
        assert pq.read_table(a).equals(pq.read_table(b))
        dictionary, statistics = staged_layout(a)
        assert dictionary == {"platform", "day", "lang", "source", "label", "score_note"}
        assert statistics == set()


def test_score_skips_the_rows_normalize_marked_as_later_copies(tmp_path: Path) -> None:
    import numpy as np

    from sentiment_monitor.normalize import drop_path

    part = _part(tmp_path / "part-00000-000.parquet", ["good", "dup", "bad", "dup", "fine"])
    np.save(drop_path(part), np.array([1, 3]))
    result = score_parts([part], tmp_path / "scored", SETTINGS, 1, "2026-11-01")
    kept = pq.read_table(result.parts[0]).column("mention_id").to_pylist()
    assert kept == ["0", "2", "4"] and result.rows == 3


def test_groups_keep_the_order_and_share_the_rows() -> None:
    parts = [f"p{i}" for i in range(7)]
    rows = [50, 50, 10, 50, 50, 50, 5]
    for groups in range(1, 10):
        cut = group_parts(parts, rows, groups)
        assert [p for g in cut for p in g] == parts
        assert len(cut) == min(groups, len(parts)) and all(cut)
    assert group_parts(parts, rows, 2) == [parts[:4], parts[4:]]
    assert group_parts([], [], 3) == [[]]


def test_mapped_groups_combine_to_the_single_task_result(tmp_path: Path) -> None:
    texts = ["good", "bad", "meh", "GREAT!!!", "awful :(", "fine I guess"] * 5
    parts = [_part(tmp_path / f"part-{i}.parquet", texts[i::4]) for i in range(4)]
    whole = score_parts(parts, tmp_path / "whole", SETTINGS, 1, "2026-11-01").to_dict()
    groups = group_parts(parts, None, 3)
    results = [
        score_parts(g, tmp_path / f"group-{i}", SETTINGS, 1, "2026-11-01").to_dict() | {"group": i}
        for i, g in enumerate(groups)
    ]
    combined = combine("2026-11-01", results)
    for key in ("rows", "scored", "unscored", "truncated", "labels"):
        assert combined[key] == whole[key]
    assert "validation" not in combined  # only when every group validated as it scored
    outcomes = [[{"batch": i}] for i in range(len(results))]
    combined = combine(
        "2026-11-01", [r | {"validation": o} for r, o in zip(results, outcomes, strict=True)]
    )
    assert combined["validation"] == [{"batch": i} for i in range(len(results))]
    assert [Path(p).name for p in combined["parts"]] == [Path(p).name for p in whole["parts"]]


def test_each_score_group_knows_its_rows_or_counts_them(config) -> None:
    """The rows decide whether a score task validates in a process of its own; without the
    parts' rows they are left to the task to count, never taken for zero."""
    from sentiment_monitor.pipeline import score_groups

    normalized = {"parts": ["a", "b", "c"], "part_rows": [1, 2, 3]}
    assert [g["rows"] for g in score_groups(config, "2026-11-01", normalized)] == [6]
    assert score_groups(config, "2026-11-01", {"parts": ["a", "b"]})[0]["rows"] is None
    assert score_groups(config, "2026-11-01", {"parts": [], "part_rows": []})[0]["rows"] == 0
