"""The night's steps as plain functions: what each DAG task calls, and a runner without Airflow.

Every step reads its inputs from files or the warehouse, writes its outputs the same way, and
returns a small JSON-safe dict (paths and counts) - what Airflow keeps in XCom. The staging
folder of a day is ``<staging_path>/<day>/``; each step empties its own sub-folder first, so a
retried or rerun step starts clean.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from sentiment_monitor.config import Config, load_config
from sentiment_monitor.flags import age_flags, flag_day
from sentiment_monitor.marts import build_marts
from sentiment_monitor.normalize import normalize_day
from sentiment_monitor.processes import worker_count
from sentiment_monitor.scoring import ScoreSettings, combine, group_parts, score_parts
from sentiment_monitor.sources import build_source
from sentiment_monitor.sources.base import ConnectionInfo, ExtractResult
from sentiment_monitor.warehouse import load_day, make_engine, record_run

log = logging.getLogger(__name__)


def check_day(day: str) -> str:
    """``YYYY-MM-DD`` or a ValueError that says so."""
    try:
        return dt.date.fromisoformat(day).isoformat()
    except ValueError:
        raise ValueError(f"day must be YYYY-MM-DD, got {day!r}") from None


def staging_dir(config: Config, day: str) -> Path:
    """The day's staging folder."""
    return config.staging_path / day


def _timed(result: dict[str, Any], started: float) -> dict[str, Any]:
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def extract(
    config: Config, day: str, source_name: str, connection: ConnectionInfo | None = None
) -> dict[str, Any]:
    """Run one configured source for ``day``."""
    started = time.perf_counter()
    source = build_source(config.source(source_name), config.brand, config.landing_path, connection)
    result = source.extract(dt.date.fromisoformat(day)).to_dict()
    log.info("source %s: %d file(s) for %s", source_name, len(result["files"]), day)
    return _timed(result, started)


def normalize(config: Config, day: str, extracts: list[dict[str, Any]]) -> dict[str, Any]:
    """Normalize everything the sources landed for ``day``."""
    started = time.perf_counter()
    results = [ExtractResult.from_dict(e) for e in extracts]
    result = normalize_day(config, day, results, staging_dir(config, day)).to_dict()
    result["extract_seconds"] = round(sum(e.get("seconds", 0.0) for e in extracts), 3)
    log.info(
        "normalized %s: read %d, emitted %d, rejected %d, duplicates %d",
        day,
        result["read"],
        result["emitted"],
        result["rejected"],
        result["duplicates"],
    )
    return _timed(result, started)


def score_settings(config: Config) -> ScoreSettings:
    """The scoring settings a worker process needs, from the configuration."""
    scoring = config.scoring
    return ScoreSettings(
        positive_threshold=scoring.positive_threshold,
        negative_threshold=scoring.negative_threshold,
        languages=tuple(scoring.languages),
        max_text_chars=scoring.max_text_chars,
        lexicon=tuple(sorted(scoring.lexicon.items())),
    )


def score_groups(config: Config, day: str, normalized: dict[str, Any]) -> list[dict[str, Any]]:
    """The normalized parts cut into ``scoring.task_groups`` groups, one mapped score task each,
    with the rows each group holds.

    Empties the day's ``scored`` and ``validated`` folders, so a rerun starts clean whatever the
    groups were before.
    """
    for step in ("scored", "validated"):
        folder = staging_dir(config, day) / step
        if folder.exists():
            shutil.rmtree(folder)
    parts, part_rows = normalized["parts"], normalized.get("part_rows")
    groups = group_parts(parts, part_rows, config.scoring.task_groups)
    # Without the parts' rows, each score task counts its own (``score_group``).
    rows = dict(zip(parts, part_rows, strict=True)) if len(part_rows or ()) == len(parts) else None
    return [
        {
            "group": index,
            "parts": group,
            "rows": sum(rows[part] for part in group) if rows is not None else None,
        }
        for index, group in enumerate(groups)
    ]


def score_group(config: Config, day: str, group: dict[str, Any]) -> dict[str, Any]:
    """Score one group of normalized parts across this worker's cores (one mapped task), and
    run the Great Expectations suites over each batch of its scored parts as soon as the batch
    is scored (``validation.AsScored``): the outcomes go with the result, for the validate
    step to decide on."""
    from sentiment_monitor.validation import AsScored, part_rows

    started = time.perf_counter()
    name = f"group-{group['group']:03d}"
    rows = group.get("rows")
    if rows is None:  # a group planned without its rows: count them
        rows = sum(part_rows(group["parts"]))
    with AsScored(staging_dir(config, day) / "validated" / name, day, rows) as checker:
        result = score_parts(
            group["parts"],
            staging_dir(config, day) / "scored" / name,
            score_settings(config),
            worker_count(config.scoring.workers),
            day,
            on_scored=checker.scored,
        ).to_dict()
        scored = time.perf_counter()
        result["validation"] = checker.finish()
    # How long the suites ran on after the last part was scored (the rest ran beside scoring).
    result["validation_tail_seconds"] = round(time.perf_counter() - scored, 3)
    result["group"] = group["group"]
    log.info(
        "scored %s group %d: %s; validation ran %.1f s past the scoring",
        day,
        group["group"],
        result["labels"],
        result["validation_tail_seconds"],
    )
    return _timed(result, started)


def combine_scores(day: str, groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The score step's result from its groups' (the mapped tasks'), parts in the day's order."""
    return combine(day, sorted(groups, key=lambda g: g.get("group", 0)))


def score(config: Config, day: str, normalized: dict[str, Any]) -> dict[str, Any]:
    """Score the normalized parts: every group in turn, through the mapped task's code."""
    started = time.perf_counter()
    groups = [score_group(config, day, g) for g in score_groups(config, day, normalized)]
    return _timed(combine_scores(day, groups), started)


def validate(config: Config, day: str, scored: dict[str, Any]) -> dict[str, Any]:
    """The Great Expectations suites' verdict on the scored parts: the outcomes the score step
    gathered as it scored (``validation.collect``), or, for scored parts without them, the
    suites run here across this worker's cores. Raises ``ValidationFailed`` for a batch-level
    failure, naming the failing expectations."""
    from sentiment_monitor.validation import collect, validate_parts

    started = time.perf_counter()
    if scored.get("validation") is not None:
        result = collect(scored["validation"], day).to_dict()
    else:
        result = validate_parts(
            scored["parts"],
            staging_dir(config, day) / "validated",
            day,
            worker_count(config.scoring.workers),
        ).to_dict()
    log.info("validated %s: %d passed, %d rejected", day, result["passed"], result["rejected"])
    return _timed(result, started)


def load(
    config: Config,
    day: str,
    normalized: dict[str, Any],
    validated: dict[str, Any],
    url: str | None = None,
) -> dict[str, Any]:
    """Load the validated mentions and every reject of the day, all or nothing
    (``warehouse.load_day``); beside it, on another connection, age the earlier nights' flags to
    the day (``flags.age_flags``), which reads no mention of the night. The result has
    ``aged`` (flags aged) and ``age_seconds``; either's error is raised once both have ended."""
    started = time.perf_counter()
    engine = make_engine(url)  # one pool for both (an engine is shared between threads)

    def age() -> tuple[int, float]:
        began = time.perf_counter()
        aged = age_flags(engine, day, config.flags)
        return aged, round(time.perf_counter() - began, 3)

    with concurrent.futures.ThreadPoolExecutor(1) as beside:
        ageing = beside.submit(age)
        result = load_day(
            engine,
            day,
            validated["parts"],
            normalized["rejects"] + validated["rejects"],
            records_read=normalized["read"],
            duplicates=normalized["duplicates"],
            reposts=normalized["reposts"],
            validation=validated["suites"],
            per_source=normalized["per_source"],
        ).to_dict()
        result["aged"], result["age_seconds"] = ageing.result()
    log.info("aged %d flags of earlier nights to %s beside the load", result["aged"], day)
    log.info(
        "loaded %s: read %d = loaded %d + rejected %d + duplicates %d",
        day,
        result["records_read"],
        result["loaded"],
        result["rejected"],
        result["duplicates"],
    )
    return _timed(result, started)


class PartialReloadRefused(RuntimeError):
    """A day would be reloaded without sources that delivered records to it before."""


def refuse_partial_reload(day: str, missing: list[str], url: str | None = None) -> None:
    """Stop a load without ``missing`` sources if an earlier load of ``day`` had their records.

    The load replaces the whole day, so it would delete what those sources delivered before
    (and the flags people set on it). A first load of the day without them goes ahead.
    """
    if not missing:
        return
    import json

    import sqlalchemy as sa

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT per_source FROM load_audit WHERE CAST(day AS VARCHAR(10)) = :day"),
                {"day": day},
            ).first()
    except sa.exc.DBAPIError:
        row = None  # no warehouse schema yet: nothing to lose
    finally:
        engine.dispose()
    before = json.loads(row[0]) if row else {}
    had = [name for name in missing if (before.get(name) or {}).get("read")]
    if had:
        raise PartialReloadRefused(
            f"not loading {day} without {', '.join(had)}: the day was loaded before with "
            "their records, and a partial load would remove them; rerun when they are back"
        )


def flag(config: Config, day: str, url: str | None = None) -> dict[str, Any]:
    """Raise, re-rank and withdraw the day's flags."""
    started = time.perf_counter()
    result = flag_day(make_engine(url), day, config.flags).to_dict()
    log.info("flags %s: raised %s, withdrawn %d", day, result["raised"], result["withdrawn"])
    return _timed(result, started)


def marts(
    config: Config,
    day: str,
    flagged: dict[str, Any],
    url: str | None = None,
) -> dict[str, Any]:
    """Rebuild the marts for the days this run touched."""
    started = time.perf_counter()
    counts = build_marts(
        make_engine(url), flagged["touched_days"], config.flags.detractor_max_compound
    )
    return _timed({"day": day, "days": flagged["touched_days"], "rows": counts}, started)


def finish(
    day: str, run_id: str, steps: dict[str, dict[str, Any]], url: str | None = None
) -> dict[str, Any]:
    """Record the run in ``run_log`` with each step's duration."""
    loaded = steps["load"]
    durations = {"extract": steps["normalize"].get("extract_seconds", 0.0)}
    durations |= {name: step.get("seconds", 0.0) for name, step in steps.items()}
    record_run(make_engine(url), run_id, day, loaded, durations)
    return {"day": day, "run_id": run_id, "durations": durations, **loaded}


def run_day(
    day: str,
    *,
    config: Config | None = None,
    url: str | None = None,
    connections: dict[str, ConnectionInfo] | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """The whole night for one day without Airflow (benchmarks, scripts): same steps, same order."""
    day = check_day(day)
    config = config or load_config()
    connections = connections or {}
    extracts = [
        extract(config, day, options["name"], connections.get(options.get("conn_id", "")))
        for options in config.sources
    ]
    steps: dict[str, dict[str, Any]] = {}
    steps["normalize"] = normalize(config, day, extracts)
    steps["score"] = score(config, day, steps["normalize"])
    steps["validate"] = validate(config, day, steps["score"])
    steps["load"] = load(config, day, steps["normalize"], steps["validate"], url)
    steps["flag"] = flag(config, day, url)
    steps["marts"] = marts(config, day, steps["flag"], url)
    steps["finish"] = finish(day, run_id or f"direct__{day}", steps, url)
    return steps
