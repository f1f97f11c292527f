"""The throughput and memory benchmark behind ``make bench``.

``python -m sentiment_monitor.bench --mentions 1000000`` generates one realistic day of N
mentions in the export format (the generator of :mod:`sentiment_monitor.sample`), then measures,
on that same data and in one run:

* the whole night (:func:`sentiment_monitor.pipeline.run_day`: normalize, score, validate, load,
  flag, marts) into a fresh PostgreSQL database it creates and drops (``SENTIMENT_BENCH_PG`` names
  the server, default ``postgresql://postgres@127.0.0.1:5432``), and into a fresh SQLite file;
  each run is a child process so that its peak RSS (largest process, and the whole process tree
  with the scoring workers) is sampled with psutil from a thread here;
* optionally (``--dag``) the real Airflow DAG through ``python -m sentiment_monitor.cli run-dag``
  on a second fresh database (the honest end-to-end number, with Airflow's overhead);
* optionally (``--prefill M``) the same night on a warehouse already holding M mentions of
  earlier days and their flags (cost must grow with the night, not with the warehouse); with
  ``--pairs K``, the empty night and the prefilled night K times each, alternating (each
  prefilled night on a copy of the same prefilled database), and the median of the K ratios:
  this machine's speed drifts by more than the margin between minutes;
* for each step of the PostgreSQL night, the CPU the whole machine spent (pool workers and
  PostgreSQL's backends included), the cores it kept busy, and the floor those core-seconds
  allow on this machine's cores;
* the night's bare writes (:func:`write_floor`): its mentions and flags inserted again into
  empty copies of their tables, and the floor of this design that follows (:func:`design_floor`:
  the Python steps' CPU plus those writes, every other statement free);
* two references: vaderSentiment 3.3.2's own scoring loop in one process (texts/s), which also
  produces the reference score of every scored mention of the run, compared with what the
  pipeline stored; and a typical "pandas apply + to_sql" pipeline on a subset (per second).

It prints a table that ends with each target of ``shared/DESIGN.md`` the run can judge, met or
not (:func:`judge`: for the 8x line, also what it asks of this run and whether the night's CPU
allows it on this machine's cores), and, as its last line, one JSON object with the numbers.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DAY = "2026-11-10"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432"


class TreeSampler:
    """Samples the RSS of a process and of its whole tree in a thread until stopped."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_process = 0
        self.peak_tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            sizes = []
            for process in processes:
                try:
                    sizes.append(process.memory_info().rss)
                except psutil.Error:
                    continue
            if sizes:
                self.peak_process = max(self.peak_process, max(sizes))
                self.peak_tree = max(self.peak_tree, sum(sizes))
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _env() -> dict[str, str]:
    """The environment for child processes: this checkout first on the path."""
    env = dict(os.environ)
    include = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (include, str(Path(include).parent), env.get("PYTHONPATH", "")) if p
    )
    return env


def run_measured(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``command``; return its seconds, peak RSS (MB, largest process and tree), stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env or _env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with TreeSampler(process.pid) as sampler:
        out, err = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({process.returncode}):\n{out[-3000:]}\n{err[-5000:]}"
        )
    return {
        "seconds": seconds,
        "peak_rss_mb": round(sampler.peak_process / 2**20, 1),
        "tree_rss_mb": round(sampler.peak_tree / 2**20, 1),
        "stdout": out,
    }


def write_config(path: Path, exports: Path, staging: Path) -> Path:
    """A bench configuration: the default brand, one file source, its own staging folder."""
    path.write_text(
        "brand:\n"
        "  name: Lumen Coffee\n"
        "  handles: {mastodon: lumencoffee, bluesky: lumencoffee.bsky.social}\n"
        "sources:\n"
        f"  - {{type: file, name: exports, path: {json.dumps(str(exports))}}}\n"
        f"staging_path: {json.dumps(str(staging))}\n"
        f"landing_path: {json.dumps(str(staging.parent / 'landing'))}\n"
        f"reports_path: {json.dumps(str(staging.parent / 'reports'))}\n"
    )
    return path


def _admin(server: str) -> Any:
    import psycopg

    return psycopg.connect(
        server.replace("postgresql+psycopg://", "postgresql://") + "/postgres", autocommit=True
    )


def create_database(server: str, name: str, template: str | None = None) -> str:
    """Create a fresh database ``name`` on ``server``, empty or a copy of ``template``; return
    its SQLAlchemy URL. A copy is made file by file between two checkpoints (PostgreSQL 15's
    default writes the copy through the WAL, gigabytes of it for the night after to share the
    disk with)."""
    with _admin(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template is None:
            conn.execute(f'CREATE DATABASE "{name}"')
        else:
            strategy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
    return f"{server}/{name}"


def settle(server: str) -> None:
    """Put the writes made before a measured run on the disk first: a checkpoint of the
    server's dirty buffers, then the kernel's dirty pages (``sync``).

    A night runs a day after the last, with that night's writes long on the disk. Here the
    run before it, or a 5 GB file copy of the prefilled database, left gigabytes to write back
    while the next night ran, and that writeback's CPU and disk time was counted to the night:
    prefilled nights after a copy cost 4.1-5.6 core-seconds more than their empty pair, the last
    one (no copy) 0.8.
    """
    with _admin(server) as conn:
        conn.execute("CHECKPOINT")
    os.sync()


def drop_database(server: str, name: str) -> None:
    """Drop the bench database ``name``."""
    with _admin(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prefill(url: str, rows: int, day: str) -> tuple[float, int]:
    """Fill the warehouse with ``rows`` mentions on the 60 days before ``day``; return the
    seconds it took and the flags it made.

    Rows are made by PostgreSQL itself (generate_series), ten authors per thousand, one reply in
    five, scores spread over VADER's range: a plausible earlier history for the indexes to carry.
    Day after day, as nightly loads append them: a day's mentions, and a day's flags, share
    pages (rows of every day on every page would make reading one day read the whole table).
    About one in four of those posts holds a flag, as the flag step would have raised them (one
    per post, kind by the default rules): those of the last week open and still decaying, the
    older ones mostly resolved or dismissed by people, some left open. The night's flag step
    reads and re-ranks them; its cost must not grow with them either.
    """
    import datetime as dt

    import psycopg

    from sentiment_monitor.warehouse import ensure_schema, make_engine

    engine = make_engine(url)
    ensure_schema(engine)
    first = dt.date.fromisoformat(day) - dt.timedelta(days=60)
    # Row i's day: the rows in 60 runs of consecutive days, as the nights appended them.
    day_of_i = "%(first)s::date + CAST((i - 1)::bigint * 60 / %(rows)s AS INTEGER)"
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            f"""
            INSERT INTO mentions (platform, mention_id, day, author, author_followers, created_at,
                text, lang, url, in_reply_to_id, thread_root_id, is_brand, is_question,
                mentions_brand, compound, pos, neu, neg, label, score_note, source)
            SELECT CASE WHEN i %% 2 = 0 THEN 'mastodon' ELSE 'bluesky' END,
                   'old-' || i, {day_of_i},
                   'user' || (i %% 100000), i %% 5000,
                   {day_of_i} + make_interval(secs => i %% 86400),
                   'an earlier post number ' || i, 'en', NULL,
                   CASE WHEN i %% 5 = 0 AND i > 10 THEN 'old-' || (i - 7) END,
                   CASE WHEN i %% 5 = 0 AND i > 10 THEN 'old-' || (i - 7) END,
                   i %% 50 = 0, i %% 11 = 0, i %% 3 = 0,
                   ((i %% 2001) - 1000) / 1000.0, 0.2, 0.6, 0.2,
                   CASE WHEN (i %% 2001) - 1000 >= 50 THEN 'positive'
                        WHEN (i %% 2001) - 1000 <= -50 THEN 'negative' ELSE 'neutral' END,
                   NULL, 'prefill'
            FROM generate_series(1, %(rows)s) AS i
            """,
            {"first": first, "rows": rows},
        )
        cursor.execute(
            """
            INSERT INTO flags (platform, mention_id, kind, day, author, created_at, compound,
                priority, reason, status, status_changed_at, thread_root_id, posts,
                latest_mention_id, latest_at, latest_day, author_followers, repeats, recency)
            SELECT m.platform, m.mention_id, k.kind, m.day, m.author, m.created_at, m.compound,
                   50, 'prefill',
                   CASE WHEN m.day > %(day)s::date - 7 OR hashtext(m.mention_id) %% 5 = 0
                        THEN 'open'
                        WHEN hashtext(m.mention_id) %% 5 = 1 THEN 'dismissed'
                        ELSE 'resolved' END,
                   CASE WHEN m.day <= %(day)s::date - 7 AND hashtext(m.mention_id) %% 5 <> 0
                        THEN m.created_at + INTERVAL '1 day' END,
                   COALESCE(m.thread_root_id, m.mention_id), 1, m.mention_id, m.created_at,
                   m.day, m.author_followers, 1,
                   GREATEST(0.0, 1.0 - (%(day)s::date - m.day) / 7.0)
            FROM mentions m
            JOIN (VALUES ('promoter'), ('detractor'), ('question')) AS k (kind)
              ON (k.kind = 'promoter' AND m.compound >= 0.6)
              OR (k.kind = 'detractor' AND m.compound <= -0.5)
              OR (k.kind = 'question' AND m.is_question)
            WHERE NOT m.is_brand AND hashtext(m.mention_id) & 1 = 0
            ORDER BY m.day
            """,
            {"day": day},
        )
        flags = cursor.rowcount
        raw.commit()
        cursor.execute("ANALYZE mentions")
        cursor.execute("ANALYZE flags")
        raw.commit()
        # Gigabytes of the prefill's pages are still to be written out, by checkpoints paced
        # over minutes: the night measured next would share the machine with that (every step
        # of one such run took twice its time, normalize and score too). A checkpoint now
        # writes them before the night starts, as a warehouse filled over weeks has them.
        try:
            cursor.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege as error:  # measure anyway, and say so
            raw.rollback()
            print(f"prefill: no CHECKPOINT ({error}): it may slow the night", file=sys.stderr)
    finally:
        raw.close()
        engine.dispose()  # no pooled connection left: the database is copied next (--pairs)
    return time.perf_counter() - started, flags


def vader_reference(
    scored_parts: list[str], max_text_chars: int, fast_limit: int
) -> dict[str, Any]:
    """vaderSentiment 3.3.2's own loop over every scored text; compare each score with ours.

    The project's scorer, as the pipeline runs it (compiled where ``make`` built it, see
    :mod:`sentiment_monitor.native`), and its Python source are timed on the same texts right
    after each part (up to ``fast_limit`` texts), so the per-core rates are measured under the
    same load.
    """
    import pyarrow.parquet as pq
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from sentiment_monitor import native
    from sentiment_monitor.scoring import analyzer
    from sentiment_monitor.vader_fast import FastSentimentAnalyzer

    reference, fast = SentimentIntensityAnalyzer(), analyzer()
    python = FastSentimentAnalyzer()
    texts_done, mismatches, seconds = 0, 0, 0.0
    paired = {"texts": 0, "vader_seconds": 0.0, "fast_seconds": 0.0, "python_seconds": 0.0}
    examples: list[dict[str, Any]] = []
    for part in scored_parts:
        table = pq.read_table(part, columns=["mention_id", "text", "compound", "pos", "neu", "neg"])
        ids = table.column("mention_id").to_pylist()
        ours = [table.column(c).to_pylist() for c in ("compound", "pos", "neu", "neg")]
        texts = [
            text[:max_text_chars] if ours[0][i] is not None else None
            for i, text in enumerate(table.column("text").to_pylist())
        ]
        del table
        started = time.perf_counter()
        theirs = [reference.polarity_scores(t) if t is not None else None for t in texts]
        elapsed = time.perf_counter() - started
        seconds += elapsed
        if paired["texts"] < fast_limit:
            scored = [t for t in texts if t is not None]
            for key, timed in (("fast_seconds", fast), ("python_seconds", python)):
                started = time.perf_counter()
                for text in scored:
                    timed.polarity_scores(text)
                paired[key] += time.perf_counter() - started
            paired["vader_seconds"] += elapsed
            paired["texts"] += len(scored)
        for i, scores in enumerate(theirs):
            if scores is None:
                continue
            texts_done += 1
            mine = (ours[0][i], ours[1][i], ours[2][i], ours[3][i])
            expected = (scores["compound"], scores["pos"], scores["neu"], scores["neg"])
            if mine != expected:
                mismatches += 1
                if len(examples) < 5:
                    examples.append({"mention_id": ids[i], "ours": mine, "vader": expected})
    return {
        "texts": texts_done,
        "seconds": seconds,
        "per_s": texts_done / seconds if seconds else 0.0,
        "mismatches": mismatches,
        "examples": examples,
        "fast": {
            "texts": paired["texts"],
            "per_s": paired["texts"] / paired["fast_seconds"] if paired["fast_seconds"] else 0.0,
            "implementation": native.implementation(),
            "python_per_s": (
                paired["texts"] / paired["python_seconds"] if paired["python_seconds"] else 0.0
            ),
            "vader_per_s": (
                paired["texts"] / paired["vader_seconds"] if paired["vader_seconds"] else 0.0
            ),
        },
    }


def baseline(exports: Path, url: str, rows: int) -> dict[str, Any]:
    """A typical "pandas apply + to_sql" pipeline on the first ``rows`` JSONL records."""
    import pandas as pd
    import sqlalchemy as sa
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    started = time.perf_counter()
    files = sorted(exports.glob("*.jsonl"))
    per_file = max(1, rows // max(1, len(files)))
    records: list[dict[str, Any]] = []
    for path in files:  # the export holds a few malformed lines, which pandas.read_json rejects
        with open(path, encoding="utf-8") as handle:
            for line in itertools.islice(handle, per_file):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
    frame = pd.DataFrame.from_records(records)
    del records
    frame = frame[frame["text"].notna()]
    analyzer = SentimentIntensityAnalyzer()
    scores = frame["text"].astype(str).apply(analyzer.polarity_scores).apply(pd.Series)
    frame = pd.concat([frame, scores], axis=1)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, errors="coerce")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    frame.to_sql("baseline_mentions", engine, if_exists="replace", index=False, chunksize=5000)
    engine.dispose()
    seconds = time.perf_counter() - started
    return {"rows": len(frame), "seconds": seconds, "per_s": len(frame) / seconds}


#: psutil's CPU time fields that are work done on this machine. ``guest`` is already inside
#: ``user``; ``steal`` is time the hypervisor gave to other machines, reported on its own.
BUSY_FIELDS: tuple[str, ...] = ("user", "nice", "system", "irq", "softirq")


def machine_cpu() -> dict[str, float]:
    """CPU seconds the whole machine has been busy since boot, summed over cores (every
    process: the pool workers and PostgreSQL's backends too), seconds stolen from it, and
    seconds its cores sat idle waiting on the disk (files the page cache had let go)."""
    import psutil

    times = psutil.cpu_times()
    return {
        "busy": sum(getattr(times, name, 0.0) for name in BUSY_FIELDS),
        "steal": getattr(times, "steal", 0.0),
        "iowait": getattr(times, "iowait", 0.0),
    }


def cpu_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What :func:`machine_cpu` counted between two readings."""
    return {key: round(after[key] - before[key], 2) for key in before}


def _run_day_child(day: str, config_path: Path, url: str) -> dict[str, Any]:
    """``pipeline.run_day``'s steps in its order, with this process's RSS high-water mark after
    each (the steps share one process here, so the mark only grows; under Airflow each task is
    a process of its own)."""
    import resource

    from sentiment_monitor import pipeline
    from sentiment_monitor.config import load_config

    config = load_config(config_path)
    extracts = [pipeline.extract(config, day, o["name"]) for o in config.sources]
    steps: dict[str, dict[str, Any]] = {}
    rss: dict[str, float] = {}
    cpu: dict[str, dict[str, float]] = {}
    reading = machine_cpu()

    def mark(name: str) -> None:
        nonlocal reading
        rss[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        now = machine_cpu()
        cpu[name] = cpu_between(reading, now)
        reading = now

    steps["normalize"] = pipeline.normalize(config, day, extracts)
    mark("normalize")
    steps["score"] = pipeline.score(config, day, steps["normalize"])
    mark("score")
    steps["validate"] = pipeline.validate(config, day, steps["score"])
    mark("validate")
    # The ageing of the earlier nights' flags runs beside the load, in its time.
    steps["load"] = pipeline.load(config, day, steps["normalize"], steps["validate"], url)
    mark("load")
    steps["flag"] = pipeline.flag(config, day, url)
    mark("flag")
    steps["marts"] = pipeline.marts(config, day, steps["flag"], url)
    mark("marts")
    pipeline.finish(day, f"bench__{day}", steps, url)
    seconds = {name: step.get("seconds", 0.0) for name, step in steps.items()}
    # Not RUSAGE_CHILDREN: a spawned worker's ru_maxrss starts from the forked parent's size,
    # so it would report the parent; the psutil sampler in the bench process sees the workers.
    return {"seconds": seconds, "rss_mb_after": rss, "cpu": cpu}


#: The steps whose work runs in Python processes; the others' work is PostgreSQL's.
PYTHON_STEPS: tuple[str, ...] = ("normalize", "score", "validate")
#: The tables the night writes most rows to, with the key its rows are inserted in.
FLOOR_TABLES: tuple[tuple[str, str], ...] = (
    ("mentions", "platform, mention_id"),
    ("flags", "platform, mention_id, kind"),
)


def write_floor(url: str, day: str) -> dict[str, dict[str, Any]]:
    """What the night's bare writes cost on this server: the rows the night stored in each of
    :data:`FLOOR_TABLES`, inserted again (in key order, as the load and flag steps insert them)
    into an empty copy of the table (its columns, indexes and storage options), on one
    connection, then one platform per connection side by side (as the load's shares write).

    No staging, thread linking, authors, flag logic or marts: the least that writing these rows
    into these tables, indexes and WAL included, costs here. Per table: ``rows``, ``platforms``,
    the storage ``options`` copied, and for ``one`` and ``side_by_side`` the seconds and the
    machine's busy core-seconds (:func:`machine_cpu`). The copies are dropped afterwards.
    """
    import sqlalchemy as sa

    from sentiment_monitor.warehouse import make_engine, side_by_side

    engine = make_engine(url)
    measured: dict[str, dict[str, Any]] = {}
    try:
        for table, key in FLOOR_TABLES:

            def insert(conn: Any, platforms: list[str], table: str = table, key: str = key) -> None:
                conn.execute(
                    sa.text(
                        f"INSERT INTO floor_{table} SELECT * FROM {table}"
                        " WHERE day = CAST(:day AS DATE) AND platform = ANY(:platforms)"
                        f" ORDER BY {key}"
                    ),
                    {"day": day, "platforms": platforms},
                )

            with engine.begin() as conn:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS floor_{table}")
                conn.exec_driver_sql(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
                options = conn.execute(
                    sa.text("SELECT reloptions FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                    {"t": table},
                ).scalar_one()
                if options:  # e.g. the flags' fillfactor, which LIKE does not copy
                    conn.exec_driver_sql(f"ALTER TABLE floor_{table} SET ({', '.join(options)})")
                per_platform = dict(
                    conn.execute(
                        sa.text(
                            f"SELECT platform, COUNT(*) FROM {table}"
                            " WHERE day = CAST(:day AS DATE) GROUP BY platform ORDER BY platform"
                        ),
                        {"day": day},
                    ).all()
                )
            platforms, rows = list(per_platform), sum(per_platform.values())
            entry: dict[str, Any] = {
                "rows": rows,
                "platforms": len(platforms),
                "options": list(options or []),
            }
            ways = [("one", [platforms])]
            if len(platforms) > 1:
                ways.append(("side_by_side", [[p] for p in platforms]))
            for way, units in ways:
                with engine.begin() as conn:
                    conn.exec_driver_sql(f"TRUNCATE floor_{table}")
                before, started = machine_cpu(), time.perf_counter()
                with side_by_side(engine, insert, units) as futures:
                    for future in futures:
                        future.result()
                seconds = time.perf_counter() - started
                cpu = cpu_between(before, machine_cpu())
                entry[way] = {"seconds": round(seconds, 3), "cpu_seconds": cpu["busy"]}
            with engine.begin() as conn:
                written = conn.exec_driver_sql(f"SELECT COUNT(*) FROM floor_{table}").scalar_one()
                conn.exec_driver_sql(f"DROP TABLE floor_{table}")
            if written != rows:
                raise AssertionError(f"floor_{table} holds {written} rows, not {rows}")
            measured[table] = entry
    finally:
        engine.dispose()
    return measured


def history_pairs(
    server: str,
    history: str,
    pairs: int,
    *,
    empty_night: Callable[[str], dict[str, Any]],
    history_night: Callable[[str], dict[str, Any]],
    keep: bool = False,
    log: Callable[[str], None] = lambda _message: None,
) -> list[dict[str, Any]]:
    """``--pairs``: the night on an empty warehouse and on the ``history`` database, ``pairs``
    times, alternating; each night ``{"empty": ..., "prefilled": ...}``, from the night
    functions (given a database URL).

    Each empty night runs on a new empty database, each history night on a fresh copy of
    ``history`` (file by file), so every pair starts from the same warehouse. Each night runs
    right after a 5 GB copy of the history: the empty night's is made only for that and dropped
    after it. A copy slows the night that follows it (measured on normalize, which never reads
    the warehouse: made between the two nights, +0.35-0.5 s on the history night in every pair
    of three sets, -0.14 to +0.09 s in pairs without a copy; made before both, the empty night
    was the slower one by 0.44-0.66 s), so each night gets one. A pair's databases are dropped
    once its night is measured (unless ``keep``): kept to the end they filled the page cache
    the later nights ran with (11 GB after three pairs).
    """
    nights: list[dict[str, Any]] = []
    for pair in range(1, pairs + 1):
        made: list[str] = []

        def database(name: str, template: str | None = None, made: list[str] = made) -> str:
            made.append(name)  # listed first: a copy that fails halfway is dropped too
            return create_database(server, name, template=template)

        try:
            database(f"{history}_ballast{pair}", template=history)
            log(f"run_day into an empty warehouse, pair {pair}")
            empty = empty_night(database(f"{history}_empty{pair}"))
            url = database(f"{history}{pair}", template=history)
            log(f"run_day on the prefilled warehouse  load {os.getloadavg()[0]:.2f}")
            nights.append({"empty": empty, "prefilled": history_night(url)})
        finally:
            if not keep:
                for name in made:
                    drop_database(server, name)
    return nights


def design_floor(
    cpu: dict[str, dict[str, float]], floor: dict[str, dict[str, Any]], cores: int
) -> dict[str, Any]:
    """The least this design's night can take on ``cores`` cores: the CPU its Python steps
    spent (:data:`PYTHON_STEPS`, as measured) plus the cheaper way of the bare writes
    (:func:`write_floor`), all cores busy all the time, every other statement free."""
    python = round(sum(cpu[step]["busy"] for step in PYTHON_STEPS if step in cpu), 1)
    ways = ("one", "side_by_side")
    writes = round(
        sum(min(entry[w]["cpu_seconds"] for w in ways if w in entry) for entry in floor.values()),
        1,
    )
    return {
        "python_cpu_seconds": python,
        "write_cpu_seconds": writes,
        "seconds": round((python + writes) / max(1, cores), 1),
    }


def _child(args: argparse.Namespace) -> int:
    """Child-process entry points, so each measured thing has its own peak RSS."""
    if args.child == "run-day":
        print(json.dumps(_run_day_child(args.day, Path(args.config), args.url)))
        return 0
    if args.child == "baseline":
        print(json.dumps(baseline(Path(args.exports), args.url, args.rows)))
        return 0
    raise SystemExit(f"unknown child {args.child}")


def machine() -> dict[str, Any]:
    """What the numbers ran on."""
    import psutil

    model = platform.processor()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "load": [round(x, 2) for x in os.getloadavg()],
    }


#: Server settings that move bulk-load speed; printed with the results so they can be compared.
PG_SETTINGS: tuple[str, ...] = ("shared_buffers", "max_wal_size", "work_mem", "autovacuum")


def _pg_version(url: str) -> str:
    """The server's version and the settings in :data:`PG_SETTINGS`, in one line."""
    import sqlalchemy as sa

    from sentiment_monitor.warehouse import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        version = str(conn.execute(sa.text("SHOW server_version")).scalar_one())
        settings = [
            f"{name}={conn.exec_driver_sql(f'SHOW {name}').scalar_one()}" for name in PG_SETTINGS
        ]
    engine.dispose()
    return f"{version}; {', '.join(settings)}"


def _run_day(config: Path, url: str, server: str) -> dict[str, Any]:
    """``run_day`` into ``url`` in a measured child, once ``server`` has settled."""
    settle(server)
    command = [
        sys.executable,
        "-m",
        "sentiment_monitor.bench",
        "--child",
        "run-day",
        "--config",
        str(config),
        "--url",
        url,
        "--day",
        BENCH_DAY,
    ]
    measured = run_measured(command)
    child = json.loads(measured.pop("stdout").strip().splitlines()[-1])
    measured["steps"] = child["seconds"]
    measured["rss_mb_after"] = child["rss_mb_after"]
    measured["cpu"] = child["cpu"]
    return measured


def _run_dag(config: Path, url: str, server: str) -> dict[str, Any]:
    """The Airflow DAG into ``url`` in a measured child, once ``server`` has settled."""
    settle(server)
    env = _env()
    env["SENTIMENT_CONFIG"] = str(config)
    env["AIRFLOW_CONN_SENTIMENT_WAREHOUSE"] = url
    command = [sys.executable, "-m", "sentiment_monitor.cli", "run-dag", BENCH_DAY]
    measured = run_measured(command, env)
    measured.pop("stdout")
    return measured


def main(argv: list[str] | None = None) -> int:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m sentiment_monitor.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--mentions", type=int, default=200_000)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument(
        "--pg",
        default=os.environ.get("SENTIMENT_BENCH_PG", DEFAULT_PG),
        help="PostgreSQL server URL without database (SENTIMENT_BENCH_PG)",
    )
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--fast-rows", type=int, default=100_000)
    parser.add_argument("--prefill", type=int, default=0, help="earlier mentions, second run")
    parser.add_argument(
        "--pairs",
        type=int,
        default=1,
        help="with --prefill: the empty and the prefilled night this many times, alternating"
        " (the ratio reported is their median)",
    )
    parser.add_argument("--dag", action="store_true", help="also run the real Airflow DAG")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--day", default=BENCH_DAY, help=argparse.SUPPRESS)
    parser.add_argument("--exports", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pairs < 1:
        parser.error("--pairs must be 1 or more")
    if args.child:
        return _child(args)

    from sentiment_monitor.config import load_config

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sentiment-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    exports = workdir / "exports"
    day_dir = exports / BENCH_DAY
    n = args.mentions
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    marker = day_dir / f".n{n}"
    if not marker.exists():
        log(f"generating {n:,} mentions into {day_dir}")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sentiment_monitor.sample",
                "--out",
                str(exports),
                "--mentions",
                str(n),
                "--days",
                "1",
                "--files",
                "4",
                "--start",
                BENCH_DAY,
            ],
            env=_env(),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        marker.touch()
    started = time.perf_counter()
    pg_config = write_config(workdir / "bench-pg.yaml", exports, workdir / "staging-pg")
    max_chars = load_config(pg_config).scoring.max_text_chars
    result: dict[str, Any] = {"mentions": n, "machine": machine()}
    databases: list[str] = []
    try:
        name = f"sentiment_bench_{os.getpid()}"
        url = create_database(args.pg, name)
        databases.append(name)
        result["postgresql_version"] = _pg_version(url)
        log(f"run_day into PostgreSQL ({url})  load {os.getloadavg()[0]:.2f}")
        pg = _run_day(pg_config, url, args.pg)
        result["postgresql"] = pg
        log(
            "the night's bare writes into empty copies of its tables"
            f"  load {os.getloadavg()[0]:.2f}"
        )
        settle(args.pg)
        result["write_floor"] = write_floor(url, BENCH_DAY)
        if args.prefill:
            name2 = f"sentiment_bench_{os.getpid()}_prefill"
            url2 = create_database(args.pg, name2)
            databases.append(name2)
            log(f"prefilling {args.prefill:,} earlier mentions")
            fill, flags = prefill(url2, args.prefill, BENCH_DAY)
            cfg = write_config(workdir / "bench-prefill.yaml", exports, workdir / "staging-pf")
            nights = history_pairs(
                args.pg,
                name2,
                args.pairs,
                empty_night=lambda url_e: _run_day(pg_config, url_e, args.pg),
                history_night=lambda url_h: _run_day(cfg, url_h, args.pg),
                keep=args.keep,
                log=log,
            )
            pre = nights[0]["prefilled"]
            pre["prefill_rows"] = args.prefill
            pre["prefill_seconds"] = round(fill, 1)
            pre["prefill_flags"] = flags
            pre["pairs"] = [
                {
                    "empty_seconds": round(night["empty"]["seconds"], 2),
                    "prefilled_seconds": round(night["prefilled"]["seconds"], 2),
                    "vs_empty": round(night["prefilled"]["seconds"] / night["empty"]["seconds"], 3),
                    "cpu_seconds_total": [
                        cpu_summary(night[k]["cpu"], night[k]["steps"], None)["cpu_seconds_total"]
                        for k in ("empty", "prefilled")
                    ],
                    # Which step a pair's difference sits in.
                    "steps": {k: night[k]["steps"] for k in ("empty", "prefilled")},
                }
                for night in nights
            ]
            result["prefilled"] = pre
        if args.dag:
            name3 = f"sentiment_bench_{os.getpid()}_dag"
            url3 = create_database(args.pg, name3)
            databases.append(name3)
            log(f"the Airflow DAG (cli run-dag)  load {os.getloadavg()[0]:.2f}")
            cfg = write_config(workdir / "bench-dag.yaml", exports, workdir / "staging-dag")
            result["dag"] = _run_dag(cfg, url3, args.pg)
        if not args.no_sqlite:
            log(f"run_day into SQLite  load {os.getloadavg()[0]:.2f}")
            db = workdir / "warehouse.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            cfg = write_config(workdir / "bench-sqlite.yaml", exports, workdir / "staging-sqlite")
            result["sqlite"] = _run_day(cfg, f"sqlite:///{db}", args.pg)
        log(f"vaderSentiment reference loop over every scored text  load {os.getloadavg()[0]:.2f}")
        scored = sorted(
            str(p) for p in (workdir / "staging-pg" / BENCH_DAY / "scored").rglob("*.parquet")
        )
        result["vader"] = vader_reference(scored, max_chars, args.fast_rows)
        result["fast"] = result["vader"]["fast"]
        log(f"pandas apply + to_sql baseline on {args.baseline_rows:,} records")
        base = run_measured(
            [
                sys.executable,
                "-m",
                "sentiment_monitor.bench",
                "--child",
                "baseline",
                "--exports",
                str(day_dir),
                "--url",
                url,
                "--rows",
                str(args.baseline_rows),
            ]
        )
        base |= json.loads(base.pop("stdout").strip().splitlines()[-1])
        result["baseline"] = base
    finally:
        if not args.keep:
            for name in databases:
                drop_database(args.pg, name)
    result["bench_seconds"] = round(time.perf_counter() - started, 1)
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    summary = summarize(result)
    print(table(result, summary))
    print(json.dumps(summary, sort_keys=True))
    return 0


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON line: the headline (run_day into PostgreSQL) and the other numbers."""
    n = result["mentions"]
    pg = result["postgresql"]
    summary: dict[str, Any] = {
        "mentions": n,
        "headline": "run_day into PostgreSQL (the DAG's steps without Airflow)",
        "seconds": round(pg["seconds"], 2),
        "mentions_per_s": round(n / pg["seconds"]),
        "peak_rss_mb": pg["peak_rss_mb"],
        "tree_rss_mb": pg["tree_rss_mb"],
        "steps": pg["steps"],
        "rss_mb_after": pg["rss_mb_after"],
        **cpu_summary(pg["cpu"], pg["steps"], result["machine"]["cores"]),
        "vader_loop_per_s": round(result["vader"]["per_s"]),
        "fast_per_core_per_s": round(result["fast"]["per_s"]),
        "fast_vs_vader": round(result["fast"]["per_s"] / result["fast"]["vader_per_s"], 2),
        "fast_implementation": result["fast"]["implementation"],
        "fast_python_per_core_per_s": round(result["fast"]["python_per_s"]),
        "scores_compared": result["vader"]["texts"],
        "score_mismatches": result["vader"]["mismatches"],
        "baseline_per_s": round(result["baseline"]["per_s"]),
        "baseline_rows": result["baseline"]["rows"],
        "baseline_peak_rss_mb": result["baseline"]["peak_rss_mb"],
        "vs_baseline": round(n / pg["seconds"] / result["baseline"]["per_s"], 2),
        "machine": result["machine"],
        "postgresql_version": result.get("postgresql_version"),
        "load_after": result["load_after"],
    }
    if "write_floor" in result:
        summary["write_floor"] = result["write_floor"]
        floor = design_floor(pg["cpu"], result["write_floor"], result["machine"]["cores"])
        summary["design_floor_seconds"] = floor["seconds"]
        summary["design_floor_per_s"] = round(n / floor["seconds"]) if floor["seconds"] else None
        summary["design_floor"] = floor
    for key in ("sqlite", "prefilled", "dag"):
        if key in result:
            run = result[key]
            summary[key] = {
                "seconds": round(run["seconds"], 2),
                "mentions_per_s": round(n / run["seconds"]),
                "peak_rss_mb": run["peak_rss_mb"],
                "tree_rss_mb": run["tree_rss_mb"],
                **{k: run[k] for k in ("steps", "rss_mb_after") if k in run},
            }
            if "cpu" in run:  # what the machine spent, and lost to the disk or the hypervisor
                cpu = cpu_summary(run["cpu"], run["steps"], result["machine"]["cores"])
                summary[key] |= {
                    k: cpu[k] for k in ("cpu_seconds_total", "steal_seconds", "iowait_seconds")
                }
    if "prefilled" in result:
        for key in ("prefill_rows", "prefill_flags"):
            summary["prefilled"][key] = result["prefilled"][key]
        pairs = result["prefilled"].get("pairs") or [
            {"vs_empty": round(result["prefilled"]["seconds"] / pg["seconds"], 3)}
        ]
        summary["prefilled"]["pairs"] = pairs
        summary["prefilled"]["vs_empty"] = round(statistics.median(p["vs_empty"] for p in pairs), 3)
    summary["targets"] = judge(summary)
    return summary


#: The targets of ``shared/DESIGN.md`` (and issue 6) that one run can judge. The throughput
#: and the 8x line are set for the full run, N = 1,000,000; a peak RSS at 5M within 10% of the
#: 1M run's takes two runs, and is judged from both in ``docs/benchmark.md``.
TARGET_PER_S = 30_000
TARGET_VS_BASELINE = 8.0
TARGET_PEAK_RSS_MB = 768.0
TARGET_FAST_VS_VADER = 2.0
TARGET_VS_EMPTY = 1.15


def judge(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target this run can judge: its value, the target, and whether it is met.

    The 8x line also says what it asks of this run: ``needs_per_s`` (8 times the baseline
    measured here), the seconds that leaves the night (``needs_seconds``), and whether the
    night's own CPU allows that many seconds on this machine's cores at all
    (``within_cpu_floor``, against ``cpu_floor_seconds``). When it does not, no scheduling of
    the same work meets the line: only less CPU does.
    """
    n = summary["mentions"]
    per_s = summary["mentions_per_s"]
    needs = summary["baseline_per_s"] * TARGET_VS_BASELINE
    needs_seconds = round(n / needs, 1) if needs else None
    floor = summary.get("cpu_floor_seconds")
    verdict: dict[str, dict[str, Any]] = {
        "mentions_per_s": {"value": per_s, "target": TARGET_PER_S, "met": per_s >= TARGET_PER_S},
        "vs_baseline": {
            "value": summary["vs_baseline"],
            "target": TARGET_VS_BASELINE,
            # Against the unrounded throughput: a ratio of 7.996 shows as 8.0, but is not 8x.
            "met": bool(needs) and n / summary["seconds"] >= needs,
            "needs_per_s": round(needs),
            "needs_seconds": needs_seconds,
            "cpu_floor_seconds": floor,
            "within_cpu_floor": (
                None if floor is None or needs_seconds is None else needs_seconds >= floor
            ),
        },
        "peak_rss_mb": {
            "value": summary["peak_rss_mb"],
            "target": TARGET_PEAK_RSS_MB,
            "met": summary["peak_rss_mb"] < TARGET_PEAK_RSS_MB,
        },
        "score_mismatches": {
            "value": summary["score_mismatches"],
            "target": 0,
            "met": summary["score_mismatches"] == 0 and summary["scores_compared"] > 0,
        },
        "fast_vs_vader": {
            "value": summary["fast_vs_vader"],
            "target": TARGET_FAST_VS_VADER,
            "met": summary["fast_vs_vader"] >= TARGET_FAST_VS_VADER,
        },
    }
    if "prefilled" in summary:
        ratio = summary["prefilled"]["vs_empty"]
        verdict["vs_empty"] = {
            "value": ratio,
            "target": TARGET_VS_EMPTY,
            "met": ratio <= TARGET_VS_EMPTY,
        }
    return verdict


def targets_line(summary: dict[str, Any], cores: int | None) -> str:
    """The table's line of :func:`judge`'s verdicts, in words."""

    def said(entry: dict[str, Any]) -> str:
        return "met" if entry["met"] else "NOT met"

    t = summary["targets"]
    base = t["vs_baseline"]
    asks = f"it asks {base['needs_per_s']:,}/s here, {base['needs_seconds']} s"
    if base["within_cpu_floor"] is not None:
        asks += (
            f", where the night's CPU allows {base['cpu_floor_seconds']} s at best on {cores} cores"
        )
        if not base["within_cpu_floor"]:
            asks += ": only less CPU can meet it"
    parts = [
        f"{TARGET_PER_S:,} mentions/s {said(t['mentions_per_s'])} "
        f"({t['mentions_per_s']['value']:,})",
        f"{TARGET_VS_BASELINE:g}x the pandas baseline {said(base)} ({base['value']}x; {asks})",
        f"peak RSS < {TARGET_PEAK_RSS_MB:,.0f} MB {said(t['peak_rss_mb'])} "
        f"({t['peak_rss_mb']['value']:,.0f})",
        f"scores equal {said(t['score_mismatches'])} ({t['score_mismatches']['value']} mismatches)",
        f"scorer >= {TARGET_FAST_VS_VADER:g}x {said(t['fast_vs_vader'])} "
        f"({t['fast_vs_vader']['value']}x)",
    ]
    if "vs_empty" in t:
        parts.append(
            f"history within {TARGET_VS_EMPTY - 1:.0%} {said(t['vs_empty'])} "
            f"({t['vs_empty']['value']}x)"
        )
    scale = "" if summary["mentions"] == 1_000_000 else ", set for N = 1,000,000"
    return f"targets (throughput and 8x{scale}): " + "; ".join(parts)


def cpu_summary(
    cpu: dict[str, dict[str, float]], steps: dict[str, float], cores: int | None
) -> dict[str, Any]:
    """Per step, the machine's busy core-seconds and how many cores that kept busy on average;
    in all, the busy core-seconds and what they allow at best on ``cores`` cores (all of them
    busy all the time): the floor of this work on this machine, whatever the scheduling."""
    busy = {name: value["busy"] for name, value in cpu.items()}
    total = round(sum(busy.values()), 1)
    return {
        "cpu_seconds": busy,
        "cores_busy": {
            name: round(busy[name] / steps[name], 2) for name in busy if steps.get(name)
        },
        "cpu_seconds_total": total,
        "cpu_floor_seconds": round(total / (cores or 1), 1),
        "steal_seconds": round(sum(value["steal"] for value in cpu.values()), 1),
        "iowait_seconds": round(sum(value["iowait"] for value in cpu.values()), 1),
    }


def table(result: dict[str, Any], summary: dict[str, Any]) -> str:
    """The human-readable table."""
    n = result["mentions"]
    lines = [
        f"benchmark: {n:,} mentions, one day, {result['machine']['cpu']}, "
        f"{result['machine']['cores']} cores, load {result['machine']['load']}",
        f"PostgreSQL {result.get('postgresql_version')}",
        f"{'run':<34}{'seconds':>10}{'mentions/s':>12}{'peak RSS MB':>13}{'tree MB':>10}",
    ]
    runs = [("run_day -> PostgreSQL (headline)", result["postgresql"])]
    runs += [
        (label, result[key])
        for key, label in (
            (
                "prefilled",
                f"  same, {result.get('prefilled', {}).get('prefill_rows', 0):,} earlier"
                f" ({result.get('prefilled', {}).get('prefill_flags', 0):,} flags)",
            ),
            ("dag", "Airflow DAG -> PostgreSQL"),
            ("sqlite", "run_day -> SQLite"),
        )
        if key in result
    ]
    for label, run in runs:
        lines.append(
            f"{label:<34}{run['seconds']:>10.1f}{n / run['seconds']:>12,.0f}"
            f"{run['peak_rss_mb']:>13,.0f}{run['tree_rss_mb']:>10,.0f}"
        )
    base = result["baseline"]
    lines.append(
        f"{'pandas apply + to_sql (subset)':<34}{base['seconds']:>10.1f}"
        f"{base['per_s']:>12,.0f}{base['peak_rss_mb']:>13,.0f}{base['tree_rss_mb']:>10,.0f}"
    )
    lines.append(
        "steps (PostgreSQL): "
        + ", ".join(f"{k} {v:.1f}s" for k, v in result["postgresql"]["steps"].items())
        + " (the suites run inside score, beside the scoring; validate collects their outcomes)"
    )
    lines.append(
        "RSS high-water mark after each step (MB, one process): "
        + ", ".join(f"{k} {v:,.0f}" for k, v in result["postgresql"]["rss_mb_after"].items())
    )
    lines.append(
        "CPU of the whole machine per step (core-seconds, cores kept busy): "
        + ", ".join(
            f"{k} {v:.1f} ({summary['cores_busy'].get(k, 0):.1f})"
            for k, v in summary["cpu_seconds"].items()
        )
    )
    lines.append(
        f"CPU in all: {summary['cpu_seconds_total']:.1f} core-seconds, so at best "
        f"{summary['cpu_floor_seconds']:.1f} s on {result['machine']['cores']} cores; "
        f"stolen by the hypervisor: {summary['steal_seconds']:.1f} s; "
        f"waiting on the disk: {summary['iowait_seconds']:.1f} s"
    )
    if "write_floor" in summary:
        parts = []
        for name, entry in summary["write_floor"].items():
            ways = [
                f"{way['seconds']:.1f} s ({way['cpu_seconds']:.1f} core-s) {label}"
                for label, way in (
                    ("on one connection", entry.get("one")),
                    ("side by side", entry.get("side_by_side")),
                )
                if way
            ]
            parts.append(f"{name} {entry['rows']:,} rows " + ", ".join(ways))
        floor = summary["design_floor"]
        lines.append(
            "bare writes of the night's rows (empty copies of the tables): " + "; ".join(parts)
        )
        lines.append(
            f"design floor: Python steps {floor['python_cpu_seconds']:.1f} + bare writes "
            f"{floor['write_cpu_seconds']:.1f} core-seconds = at best {floor['seconds']:.1f} s "
            f"({summary['design_floor_per_s']:,} mentions/s) with every other statement free"
        )
    if "prefilled" in result:
        pre = summary["prefilled"]
        lines.append(
            "steps (prefilled):  "
            + ", ".join(f"{k} {v:.1f}s" for k, v in pre["steps"].items())
            + f"; CPU {pre['cpu_seconds_total']:.1f} core-seconds, stolen"
            f" {pre['steal_seconds']:.1f} s, waiting on the disk {pre['iowait_seconds']:.1f} s;"
            f" {pre['vs_empty']}x the empty warehouse's time"
            + (
                " (median of "
                + ", ".join(
                    f"{p['prefilled_seconds']:.1f}/{p['empty_seconds']:.1f} s = {p['vs_empty']}"
                    for p in pre["pairs"]
                )
                + ")"
                if len(pre["pairs"]) > 1
                else ""
            )
        )
    if "sqlite" in result:
        lines.append(
            "steps (SQLite):     "
            + ", ".join(f"{k} {v:.1f}s" for k, v in result["sqlite"]["steps"].items())
        )
    vader, fast = result["vader"], result["fast"]
    lines.append(
        f"vaderSentiment 3.3.2 loop, one core: {vader['per_s']:,.0f} texts/s; "
        f"project scorer ({fast['implementation']}), one core: {fast['per_s']:,.0f} texts/s "
        f"({summary['fast_vs_vader']}x on the same texts, timed back to back; its Python "
        f"source {fast['python_per_s']:,.0f} texts/s)"
    )
    lines.append(
        f"scores compared with vaderSentiment: {vader['texts']:,}, "
        f"mismatches: {vader['mismatches']}"
    )
    lines.append(f"vs pandas baseline: {summary['vs_baseline']}x")
    lines.append(targets_line(summary, result["machine"]["cores"]))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
