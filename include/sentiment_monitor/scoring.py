"""Score: VADER sentiment for every normalized mention, in chunks, across cores.

Each Parquet part from normalize is scored as a unit by one process (one analyzer per process,
built once), so a day of a million mentions streams through in bounded memory and a 2-core
worker uses both cores. The DAG maps its score task over ``scoring.task_groups`` groups of
parts (:func:`group_parts`), and each mapped task runs :func:`score_parts` with its own pool;
``pipeline.score`` runs the same per group, so spreading parts over workers and over cores is
one code path. :func:`combine` joins the groups' results in order.

Policies, documented in the README:

* Posts whose declared ``lang`` is not in ``scoring.languages`` are kept but not scored
  (VADER reads English only); ``label`` is ``unscored`` and ``score_note`` says why. Posts
  without a declared language are scored.
* Posts longer than ``scoring.max_text_chars`` are scored on their first that many characters,
  and ``score_note`` says so. The scorer is linear in text length, so this guards time, not
  correctness.
"""

from __future__ import annotations

import collections
import concurrent.futures
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from sentiment_monitor.processes import spawn_pool
from sentiment_monitor.records import SCORED_SCHEMA, label_for, write_staged_part

_ANALYZERS: dict[tuple[tuple[str, float], ...], Any] = {}


@dataclass(frozen=True)
class ScoreSettings:
    """What a scoring process needs to know; plain data so it can cross process boundaries."""

    positive_threshold: float = 0.05
    negative_threshold: float = -0.05
    languages: tuple[str, ...] = ("en",)
    max_text_chars: int = 20_000
    lexicon: tuple[tuple[str, float], ...] = ()


@dataclass
class ScoreResult:
    """Counts and output parts of the score step."""

    day: str
    rows: int = 0
    scored: int = 0
    unscored: int = 0
    truncated: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for XCom."""
        return asdict(self)


def analyzer(lexicon: tuple[tuple[str, float], ...] = ()) -> Any:
    """This process's analyzer for the given lexicon overrides, built once."""
    found = _ANALYZERS.get(lexicon)
    if found is None:
        from sentiment_monitor.native import fast_analyzer_class

        found = fast_analyzer_class()(lexicon_overrides=dict(lexicon) or None)
        _ANALYZERS[lexicon] = found
    return found


#: The scored columns, in the order of :data:`Scored`.
_SCORED_FIELDS: tuple[str, ...] = ("compound", "pos", "neu", "neg", "label", "score_note")
#: One post's ``compound, pos, neu, neg, label, score_note``.
Scored = tuple[float | None, float | None, float | None, float | None, str, str | None]


def _scorer(settings: ScoreSettings, polarity: Any) -> Callable[[str, str | None], Scored]:
    """The policies of the module docstring as a function of one post's text and language,
    with ``polarity`` the analyzer's (the settings bound once: it runs once per post)."""
    languages, limit = settings.languages, settings.max_text_chars
    positive, negative = settings.positive_threshold, settings.negative_threshold

    def score(text: str, lang: str | None) -> Scored:
        if lang and lang.split("-")[0] not in languages:
            return None, None, None, None, "unscored", f"lang {lang!r}: VADER reads English only"
        note = None
        if len(text) > limit:
            note = f"scored on the first {limit} of {len(text)} characters"
            text = text[:limit]
        scores = polarity(text)
        compound = scores["compound"]
        label = label_for(compound, positive, negative)
        return compound, scores["pos"], scores["neu"], scores["neg"], label, note

    return score


def score_text(text: str, lang: str | None, settings: ScoreSettings) -> dict[str, Any]:
    """Scores, label and note for one post, following the policies in the module docstring."""
    values = _scorer(settings, analyzer(settings.lexicon).polarity_scores)(text, lang)
    return dict(zip(_SCORED_FIELDS, values, strict=True))


def score_part(in_path: str, out_path: str, settings: ScoreSettings) -> dict[str, Any]:
    """Score one normalized Parquet part into ``out_path``; return its counts.

    :func:`score_text`'s policies, one tuple per post and one list per column (no dict per
    row); the part is read through :func:`read_normalized`, so later copies are skipped.
    """
    from sentiment_monitor.normalize import read_normalized

    table = read_normalized(in_path)
    texts = table.column("text").to_pylist()
    langs = table.column("lang").to_pylist()
    score = _scorer(settings, analyzer(settings.lexicon).polarity_scores)
    columns: tuple[list[Any], ...] = ([], [], [], [], [], [])
    compounds, pos, neu, neg, labels, notes = columns
    truncated = 0
    for text, lang in zip(texts, langs, strict=True):
        compound, positive, neutral, negative, label, note = score(text, lang)
        compounds.append(compound)
        pos.append(positive)
        neu.append(neutral)
        neg.append(negative)
        labels.append(label)
        notes.append(note)
        if note is not None and compound is not None:
            truncated += 1
    for name, values in zip(_SCORED_FIELDS, columns, strict=True):
        column = SCORED_SCHEMA.field(name)
        table = table.append_column(column, pa.array(values, column.type))
    write_staged_part(table.select(SCORED_SCHEMA.names), out_path)
    counted = collections.Counter(labels)
    return {
        "rows": len(texts),
        "scored": len(texts) - counted["unscored"],
        "unscored": counted["unscored"],
        "truncated": truncated,
        "labels": dict(counted),
    }


def group_parts(parts: list[str], rows: list[int] | None, groups: int) -> list[list[str]]:
    """Cut ``parts`` (in order) into at most ``groups`` runs of about the same number of rows.

    Always at least one group (maybe empty), never an empty group otherwise; the concatenation
    of the groups is ``parts``, so the scored parts keep the day's order.
    """
    if not parts:
        return [[]]
    sizes = rows if rows is not None and len(rows) == len(parts) else [1] * len(parts)
    groups = max(1, min(groups, len(parts)))
    total = sum(sizes)
    result: list[list[str]] = [[]]
    done = 0
    for index, (part, size) in enumerate(zip(parts, sizes, strict=True)):
        left_parts, left_groups = len(parts) - index, groups - len(result)
        # Start the next group once this one has its share, or when every remaining part is
        # needed to give each remaining group one.
        if (
            result[-1]
            and left_groups
            and (done >= total * len(result) / groups or left_parts <= left_groups)
        ):
            result.append([])
        result[-1].append(part)
        done += size
    return result


def _add_counts(total: ScoreResult, part: dict[str, Any]) -> None:
    """Add one part's (or one group's) row and label counts to ``total``."""
    total.rows += part["rows"]
    total.scored += part["scored"]
    total.unscored += part["unscored"]
    total.truncated += part["truncated"]
    for label, number in part["labels"].items():
        total.labels[label] = total.labels.get(label, 0) + number


def combine(day: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    """One score result from those of several groups (mapped tasks), parts in group order."""
    combined = ScoreResult(day=day)
    for part in results:
        _add_counts(combined, part)
        combined.parts += part["parts"]
    out = combined.to_dict()
    out["groups"] = len(results)
    # The groups' validation outcomes (``validation.AsScored``), in the parts' order.
    outcomes = [part.get("validation") for part in results]
    if results and all(outcome is not None for outcome in outcomes):
        out["validation"] = [batch for outcome in outcomes for batch in outcome]
    # The groups run side by side: the step took as long as the slowest.
    out["seconds"] = max((part.get("seconds", 0.0) for part in results), default=0.0)
    return out


def score_parts(
    parts: list[str],
    out_dir: Path,
    settings: ScoreSettings,
    workers: int,
    day: str,
    on_scored: Callable[[int, str, int], None] | None = None,
) -> ScoreResult:
    """Score every part into ``out_dir`` (emptied first), spreading parts over ``workers``.

    ``on_scored(number, path, rows)`` is called here as each part is written (part ``number``
    of ``parts``, in the order they finish), so the next step can start on it meanwhile.
    """
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    outputs = [str(out_dir / Path(part).name) for part in parts]
    result = ScoreResult(day=day, parts=outputs)
    counts: list[dict[str, Any]] = [{}] * len(parts)

    def done(number: int, part: dict[str, Any]) -> None:
        counts[number] = part
        if on_scored is not None:
            on_scored(number, outputs[number], part["rows"])

    if workers > 1 and len(parts) > 1:
        with spawn_pool(min(workers, len(parts))) as pool:
            futures = {
                pool.submit(score_part, part, output, settings): number
                for number, (part, output) in enumerate(zip(parts, outputs, strict=True))
            }
            for future in concurrent.futures.as_completed(futures):
                done(futures[future], future.result())
    else:
        for number, (part, output) in enumerate(zip(parts, outputs, strict=True)):
            done(number, score_part(part, output, settings))
    for part in counts:
        _add_counts(result, part)
    return result
