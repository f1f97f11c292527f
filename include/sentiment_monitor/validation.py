"""Validate: Great Expectations 1.x suites over the scored mentions, before anything is loaded.

Two suites, defined once here and reviewed like code:

* ``mentions_rows`` - expectations about single rows (keys, author, timestamp shape, text,
  platform, label, followers). A row that fails one is quarantined to ``rejects`` with the names
  of the expectations it failed; the night goes on.
* ``mentions_batch`` - expectations about the data as a whole (the columns are exactly the
  expected ones, scores within VADER's ranges, no duplicate ``(platform, mention_id)``). A failure
  here means something upstream is broken: the task fails, naming the failing expectations, and
  nothing is loaded.

The batch-level column check runs on a frame without rows (GX's own expectation, on the part's
column names), the other expectations on frames of only the columns they read, in batches of up
to ``BATCH_ROWS`` rows made of whole parts (so memory stays bounded; duplicates are caught across
all the parts of a batch). Each suite is first asked only whether the batch passes
(``BOOLEAN_ONLY``); the failing rows' indexes or the batch's counts are gathered only when it
did not. A large day runs in spawned processes, so Great Expectations' memory never joins the
task's own. Great Expectations is imported inside the functions: it costs seconds and hundreds
of MB, and must never load at DAG parse time.

The nightly run validates as it scores (:class:`AsScored`): the score task hands each batch of
scored parts to one Great Expectations process that it started with the scoring (the import,
about 2 s of CPU through :func:`import_great_expectations`, happens meanwhile), and the
validate task decides on the outcomes (:func:`collect`): it quarantines nothing itself, and
fails when a batch failed.
:func:`validate_parts` runs the same suites over parts scored without it.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import sys
import threading
import types
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment_monitor.processes import spawn_pool
from sentiment_monitor.records import LABELS, PLATFORMS, REJECT_SCHEMA, SCORED_SCHEMA, read_part

log = logging.getLogger(__name__)

TIMESTAMP_REGEX = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}\+00:00$"


#: Modules Great Expectations imports at module level for expectations and renderers no suite
#: here uses: ``scipy.stats`` (the KL divergence expectation, about 0.8 s of CPU) and
#: ``altair`` (the same expectation's charts, about 0.1 s and 22 MB). See
#: :func:`import_great_expectations`.
DEFERRED_MODULES: tuple[str, ...] = ("scipy.stats", "altair")

#: Held while a deferred module is imported for real. Re-entrant: that import can read the
#: module again (a submodule of ``scipy.stats`` reading ``scipy.stats`` through its parent).
_deferring = threading.RLock()


class _Deferred(types.ModuleType):
    """A module registered under its name that imports itself on first use.

    Only the attributes the import system reads on ``import x`` / ``from p import x`` are
    set (``__name__``, and ``__spec__`` left None, so the import finds the module done); any
    other read (a function, ``__path__`` for a submodule, ``__version__``) imports the real
    module, which then replaces this one in ``sys.modules``, and answers from it: every read
    through a name bound to this object before is passed on, so it sees the real module as it
    is then. :class:`importlib.util.LazyLoader` cannot do this for a top-level ``import x``:
    Python 3.11's import reads the module's ``__spec__`` to see whether it is still
    initializing, and that read runs the module.
    """

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._real_module(), attribute)

    def _real_module(self) -> types.ModuleType:
        name = self.__name__
        with _deferring:
            if sys.modules.get(name) is self:
                del sys.modules[name]
            return importlib.import_module(name)


def _defer(name: str) -> None:
    """Register ``name`` as a :class:`_Deferred` module, unless it is loaded already or not
    installed (then its import fails where it is used, as it would have)."""
    if name in sys.modules:
        return
    try:
        if importlib.util.find_spec(name) is None:
            return
    except ImportError:
        return
    module = _Deferred(name)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        # ``from scipy import stats`` reads this attribute first; without it, scipy's module
        # __getattr__ would import the submodule for real.
        setattr(sys.modules[parent], child, module)


def import_great_expectations() -> Any:
    """``great_expectations``, imported without running :data:`DEFERRED_MODULES` until
    something reads them.

    Importing Great Expectations imports every core expectation, and one of them, the KL
    divergence expectation (which no suite here uses), imports ``scipy.stats`` and ``altair``
    at module level: without deferring either, a fresh process's import took 2.55-2.84
    CPU-seconds and 283 MB, against 1.66-1.90 and 204 MB (five runs each), paid by every
    process that validates. Each is first registered as a :class:`_Deferred` module: the first
    read of any of its attributes imports it in full, so an expectation that uses it gets the
    real module. Deferring ``altair`` too (``scipy.stats`` was already): a fresh process's
    import took 1.87 CPU-seconds against 1.98 (means of ten runs each, alternating), and
    204 MB against 226 - the Great Expectations worker is the night's largest process.
    """
    for name in DEFERRED_MODULES:
        _defer(name)
    import great_expectations

    return great_expectations


class ValidationFailed(RuntimeError):
    """A batch-level expectation failed; the message names every failing expectation."""


@dataclass
class ValidateResult:
    """Counts, outcome per suite, and output parts of the validate step."""

    day: str
    rows: int = 0
    passed: int = 0
    rejected: int = 0
    parts: list[str] = field(default_factory=list)
    rejects: list[str] = field(default_factory=list)
    suites: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for XCom."""
        return asdict(self)


def _row_expectations() -> list[Any]:
    e = import_great_expectations().expectations
    not_null = [
        e.ExpectColumnValuesToNotBeNull(column=c)
        for c in ("platform", "mention_id", "day", "author", "created_at", "text", "label")
    ]
    return [
        *not_null,
        e.ExpectColumnValuesToBeInSet(column="platform", value_set=list(PLATFORMS)),
        e.ExpectColumnValueLengthsToBeBetween(column="mention_id", min_value=1, max_value=512),
        e.ExpectColumnValueLengthsToBeBetween(column="author", min_value=1, max_value=512),
        e.ExpectColumnValueLengthsToBeBetween(column="text", min_value=1),
        e.ExpectColumnValuesToMatchRegex(column="created_at", regex=TIMESTAMP_REGEX),
        e.ExpectColumnValuesToBeInSet(column="label", value_set=list(LABELS)),
        e.ExpectColumnValuesToBeBetween(column="author_followers", min_value=0),
    ]


def _batch_expectations() -> list[Any]:
    e = import_great_expectations().expectations
    return [
        e.ExpectCompoundColumnsToBeUnique(column_list=["platform", "mention_id"]),
        e.ExpectColumnValuesToBeBetween(column="compound", min_value=-1, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="pos", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="neu", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="neg", min_value=0, max_value=1),
    ]


def _columns_expectations() -> list[Any]:
    e = import_great_expectations().expectations
    return [
        e.ExpectTableColumnsToMatchSet(column_set=list(SCORED_SCHEMA.names), exact_match=True),
    ]


#: The columns each suite's expectations read (GX copies every column of a frame at each row
#: filter it applies, so a suite is given only these).
ROW_COLUMNS: tuple[str, ...] = (
    "platform",
    "mention_id",
    "day",
    "author",
    "created_at",
    "text",
    "label",
    "author_followers",
)
BATCH_COLUMNS: tuple[str, ...] = ("platform", "mention_id", "compound", "pos", "neu", "neg")


class Validator:
    """One ephemeral GX context with the suites, reused for every batch a process validates."""

    def __init__(self) -> None:
        gx = import_great_expectations()
        from great_expectations.execution_engine import pandas_execution_engine

        # GX logs hundreds of lines per run at INFO under Airflow; its progress bars too.
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        # GX fingerprints every in-memory DataFrame under 1 GB (an md5 over a pandas hash of
        # every cell: a third of a row suite's time) only to label the batch in its results;
        # no expectation reads it. Skipping it changes no outcome.
        pandas_execution_engine.HASH_THRESHOLD = 0
        self.context = gx.get_context(mode="ephemeral")
        try:
            from great_expectations.data_context.types.base import ProgressBarsConfig

            self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        except Exception:  # pragma: no cover - cosmetic only
            log.debug("could not turn off GX progress bars", exc_info=True)
        source = self.context.data_sources.add_pandas("staging")
        asset = source.add_dataframe_asset("scored_mentions")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("part")
        self.row_suite = self.context.suites.add(
            gx.ExpectationSuite(name="mentions_rows", expectations=_row_expectations())
        )
        self.batch_suite = self.context.suites.add(
            gx.ExpectationSuite(name="mentions_batch", expectations=_batch_expectations())
        )
        self.columns_suite = self.context.suites.add(
            gx.ExpectationSuite(name="mentions_batch_columns", expectations=_columns_expectations())
        )

    def _validate(self, frame: Any, suite: Any, result_format: str) -> Any:
        batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(suite, result_format={"result_format": result_format})

    def row_failures(self, frame: Any) -> dict[int, list[str]]:
        """Row position -> names of the row-level expectations that row failed.

        Asks first only whether every expectation holds (``BOOLEAN_ONLY``: no unexpected
        values or indexes gathered, about a quarter of the time); only a frame with a failing
        row is validated again for the indexes (``COMPLETE``).
        """
        if self._validate(frame, self.row_suite, "BOOLEAN_ONLY").success:
            return {}
        outcome = self._validate(frame, self.row_suite, "COMPLETE")
        failures: dict[int, list[str]] = {}
        for item in outcome.results:
            if item.success:
                continue
            name = describe(item.expectation_config)
            indexes = item.result.get("unexpected_index_list")
            if indexes is None:
                raise ValidationFailed(f"row expectation {name} failed without row indexes")
            for index in indexes:
                failures.setdefault(int(index), []).append(name)
        return failures

    def columns_failures(self, columns: list[str]) -> list[str]:
        """The column-set expectation, on a frame with no rows and exactly ``columns``."""
        import pandas as pd

        return self._failed(
            self._validate(pd.DataFrame(columns=columns), self.columns_suite, "SUMMARY")
        )

    def batch_failures(self, frame: Any) -> list[str]:
        """Descriptions of the value expectations of the batch suite the frame failed (the
        counts and observed values asked for only when one failed, as in :meth:`row_failures`)."""
        if self._validate(frame, self.batch_suite, "BOOLEAN_ONLY").success:
            return []
        return self._failed(self._validate(frame, self.batch_suite, "SUMMARY"))

    @staticmethod
    def _failed(outcome: Any) -> list[str]:
        failed = []
        for item in outcome.results:
            if not item.success:
                observed = item.result.get("observed_value")
                unexpected = item.result.get("unexpected_count")
                detail = f"observed {observed!r}" if observed is not None else ""
                if unexpected:
                    detail = f"{unexpected} unexpected value(s)"
                failed.append(f"{describe(item.expectation_config)}: {detail}".rstrip(": "))
        return failed


def describe(config: Any) -> str:
    """``expect_column_values_to_not_be_null(column=text)``: an expectation in one line."""
    kwargs = {
        k: v
        for k, v in config.kwargs.items()
        if k in ("column", "column_list", "min_value", "max_value", "regex")
    }
    inner = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{config.type}({inner})"


#: Rows per GX batch at most: GX's cost per call is a fixed ~0.2 s, its memory follows the batch
#: (about +1 KB per row while the row suite runs).
BATCH_ROWS = 200_000
#: Up to this many rows, validate in this process (GX stays in it); above, in spawned workers.
IN_PROCESS_ROWS = 60_000
#: Rows per validation worker in :func:`validate_parts`. Each worker imports GX (3.2-3.5 s of
#: CPU); asked ``BOOLEAN_ONLY`` first, a million clean rows take about 3 s more in one worker.
#: So a second worker saves no time at a million rows (6.5 s with one, 6.6-6.8 s with two, on 2
#: cores) and costs an import: it starts only from a million rows a worker.
WORKER_ROWS = 1_000_000

_validator: Validator | None = None


def _get_validator() -> Validator:
    """This process's validator, built once (a pool worker keeps it for all its batches)."""
    global _validator
    if _validator is None:
        _validator = Validator()
    return _validator


def part_rows(parts: list[str]) -> list[int]:
    """The rows of each Parquet part, from its footer (no data read)."""
    return [pq.ParquetFile(part).metadata.num_rows for part in parts]


def plan_batches(
    parts: list[str], workers: int, rows: list[int] | None = None
) -> list[list[tuple[int, str]]]:
    """Group consecutive parts into batches of about equal rows, ``(number, part)`` each
    (``rows``: each part's, read from the parts when not given).

    About ``BATCH_ROWS`` rows per batch at most (a part is never split), and as few batches as
    that allows but at least one per worker above ``IN_PROCESS_ROWS`` rows. Batches are never
    cut smaller to even out the workers: a worker's peak memory follows its largest batch, so
    a day of a million rows and one of five million peak alike (about ``BATCH_ROWS`` a batch).
    """
    rows = part_rows(parts) if rows is None else rows
    total = sum(rows)
    count = -(-total // BATCH_ROWS)
    if workers > 1 and total > IN_PROCESS_ROWS:
        count = max(count, workers)
    count = max(1, min(count, len(parts)))
    batches: list[list[tuple[int, str]]] = [[] for _ in range(count)]
    seen = 0
    for number, (part, n) in enumerate(zip(parts, rows, strict=True)):
        index = min(count - 1, int((seen + n / 2) * count / total)) if total else 0
        batches[index].append((number, part))
        seen += n
    return [batch for batch in batches if batch]


def _validate_batch(batch: list[tuple[int, str]], out_dir: str, day: str) -> dict[str, Any]:
    """Validate one batch of parts with both suites; write its passing rows and rejects.

    Runs in a pool worker (or in the caller for small days). Returns what the caller adds up;
    ``batch_failed`` is non-empty when a batch-level expectation failed, and then nothing of
    the batch is written.
    """
    validator = _get_validator()
    names = [Path(part).name for _, part in batch]
    # Every part's own column set, checked by GX on a frame without rows.
    schemas = {tuple(pq.read_schema(part).names) for _, part in batch}
    failed: list[str] = []
    for columns in sorted(schemas):
        failed += [f for f in validator.columns_failures(list(columns)) if f not in failed]
    if failed:
        return {"parts": names, "batch_failed": failed}
    needed = sorted(set(ROW_COLUMNS) | set(BATCH_COLUMNS))
    tables = [read_part(part, needed) for _, part in batch]
    sizes = [read.num_rows for read in tables]
    table = pa.concat_tables(tables)
    del tables
    failed = validator.batch_failures(table.select(list(BATCH_COLUMNS)).to_pandas())
    if failed:
        return {"parts": names, "batch_failed": failed}
    failures = validator.row_failures(table.select(list(ROW_COLUMNS)).to_pandas())
    del table
    results = []
    offset = 0
    for (number, part), rows in zip(batch, sizes, strict=True):
        mine = {i - offset: failures[i] for i in failures if offset <= i < offset + rows}
        offset += rows
        results.append(_write_part(number, part, mine, Path(out_dir), day) | {"rows": rows})
    return {"parts": names, "batch_failed": [], "results": results}


def _write_part(
    number: int, part: str, failures: dict[int, list[str]], out_dir: Path, day: str
) -> dict[str, Any]:
    """The part's passing rows into ``mentions/``, its failing rows into ``rejects/``."""
    path = out_dir / "mentions" / Path(part).name
    if not failures:
        # Nothing to drop: the validated part is the scored one (a hard link, no rewrite).
        try:
            os.link(part, path)
        except OSError:
            shutil.copyfile(part, path)
        return {"mentions": str(path), "rejects": None, "rejected": 0, "failed": []}
    table = read_part(part)
    reject_rows = []
    for index in sorted(failures):
        row = table.slice(index, 1).to_pylist()[0]
        reject_rows.append(
            {
                "day": day,
                "source": row.get("source") or "",
                "file": Path(part).name,
                "record_no": index + 1,
                "stage": "validate",
                "reason": "failed " + "; ".join(failures[index]),
                "raw": json.dumps(row, ensure_ascii=False, default=str),
            }
        )
    rejects = out_dir / "rejects" / f"validate-{number:05d}.parquet"
    pq.write_table(pa.Table.from_pylist(reject_rows, schema=REJECT_SCHEMA), rejects)
    keep = [i for i in range(table.num_rows) if i not in failures]
    pq.write_table(table.take(pa.array(keep, pa.int64())), path, compression="zstd")
    return {
        "mentions": str(path),
        "rejects": str(rejects),
        "rejected": len(failures),
        "failed": sorted({n for names in failures.values() for n in names}),
    }


def _prepare(out_dir: Path) -> None:
    """An empty ``out_dir`` with ``mentions/`` and ``rejects/`` in it (a rerun starts clean)."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "mentions").mkdir(parents=True)
    (out_dir / "rejects").mkdir(parents=True)


def collect(outcomes: list[dict[str, Any]], day: str) -> ValidateResult:
    """The validate step's result from its batches' outcomes (``_validate_batch``), in order.

    Raises :class:`ValidationFailed` when a batch-level expectation failed, naming every failing
    expectation of the first such batch; nothing is loaded then.
    """
    result = ValidateResult(day=day)
    if not outcomes:
        return result
    for suite in ("mentions_rows", "mentions_batch"):
        result.suites[suite] = {"parts": 0, "success": True, "failed": []}
    for outcome in outcomes:
        if outcome["batch_failed"]:
            failed = outcome["batch_failed"]
            result.suites["mentions_batch"].update(success=False, failed=failed)
            where = ", ".join(outcome["parts"])
            for line in failed:
                log.error("validation failed on %s: %s", where, line)
            raise ValidationFailed(
                f"batch-level validation failed for day {day} on {where}: " + "; ".join(failed)
            )
    rows_suite = result.suites["mentions_rows"]
    for outcome in outcomes:
        result.suites["mentions_batch"]["parts"] += len(outcome["parts"])
        rows_suite["parts"] += len(outcome["parts"])
        for part in outcome["results"]:
            result.rows += part["rows"]
            result.rejected += part["rejected"]
            result.passed += part["rows"] - part["rejected"]
            result.parts.append(part["mentions"])
            if part["rejects"]:
                result.rejects.append(part["rejects"])
                rows_suite["success"] = False
                rows_suite["failed"] = sorted(set(rows_suite["failed"]) | set(part["failed"]))
    return result


def validate_parts(parts: list[str], out_dir: Path, day: str, workers: int = 1) -> ValidateResult:
    """Validate every scored part; write the passing rows and the row-level rejects to ``out_dir``.

    Parts are validated in batches of up to ``BATCH_ROWS`` rows (only the columns the
    expectations read). A day larger than ``IN_PROCESS_ROWS`` is validated in spawned
    processes (up to ``workers``, one per ``WORKER_ROWS`` rows), so that Great Expectations'
    memory stays out of the calling (task) process. Raises :class:`ValidationFailed` when a
    batch-level expectation failed, naming every failing expectation of the first such batch;
    nothing is loaded then. (The nightly run validates as it scores: :class:`AsScored`.)
    """
    _prepare(out_dir)
    if not parts:
        return ValidateResult(day=day)
    sizes = part_rows(parts)
    rows = sum(sizes)
    # Each worker imports GX (seconds of CPU): one more only for WORKER_ROWS more rows.
    processes = max(1, min(workers, len(parts), -(-rows // WORKER_ROWS)))
    batches = plan_batches(parts, processes, sizes)
    if rows <= IN_PROCESS_ROWS:
        outcomes = [_validate_batch(batch, str(out_dir), day) for batch in batches]
    else:
        with spawn_pool(processes) as pool:
            outcomes = list(
                pool.map(
                    _validate_batch,
                    batches,
                    [str(out_dir)] * len(batches),
                    [day] * len(batches),
                )
            )
    return collect(outcomes, day)


def _warm_up() -> None:
    """Import Great Expectations and build the suites in a validation worker, ahead of its
    first batch (while the parts are still being scored)."""
    _get_validator()


class AsScored:
    """Validates scored parts while the others are still being scored.

    The score step tells it of each part it has written (:meth:`scored`, in any order); whole
    consecutive parts of up to ``BATCH_ROWS`` rows go to one spawned Great Expectations process
    as soon as they are all there (the suites and batch checks of :func:`validate_parts`). That
    process imports the library while the scoring processes work, and one import serves the
    whole group: on two cores the two steps take about the scoring's time plus the last
    batch's, instead of one after the other with an import in each of two workers. Up to
    ``IN_PROCESS_ROWS`` rows the batches run in this process instead, once scoring is done.
    :meth:`finish` returns the batches' outcomes, for :func:`collect`.
    """

    def __init__(self, out_dir: Path, day: str, rows: int) -> None:
        _prepare(out_dir)
        self.out_dir, self.day = str(out_dir), day
        self._pool = spawn_pool(1) if rows > IN_PROCESS_ROWS else None
        # Started now, so the import overlaps the scoring; its error, if any, shows in finish().
        self._import = self._pool.submit(_warm_up) if self._pool is not None else None
        self._futures: list[Any] = []  # one per batch, in the pool
        self._batches: list[list[tuple[int, str]]] = []  # in this process, validated at finish()
        self._done: dict[int, tuple[str, int]] = {}
        self._next = 0
        self._batch: list[tuple[int, str]] = []
        self._rows = 0

    def __enter__(self) -> AsScored:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def scored(self, number: int, path: str, rows: int) -> None:
        """Part ``number`` of the group (its position) is scored into ``path``."""
        self._done[number] = (path, rows)
        while self._next in self._done:
            path, rows = self._done.pop(self._next)
            if self._batch and self._rows + rows > BATCH_ROWS:
                self._submit()  # a batch stays within BATCH_ROWS unless one part is larger
            self._batch.append((self._next, path))
            self._rows += rows
            self._next += 1
            if self._rows >= BATCH_ROWS:
                self._submit()

    def _submit(self) -> None:
        if not self._batch:
            return
        batch, self._batch, self._rows = self._batch, [], 0
        if self._pool is None:
            self._batches.append(batch)
        else:
            self._futures.append(self._pool.submit(_validate_batch, batch, self.out_dir, self.day))

    def finish(self) -> list[dict[str, Any]]:
        """Validate what is left and return every batch's outcome, in the parts' order."""
        if self._done:
            raise ValueError(f"parts scored out of sequence: {sorted(self._done)}")
        self._submit()
        if self._import is not None:
            self._import.result()
        outcomes = [future.result() for future in self._futures]
        return outcomes + [_validate_batch(b, self.out_dir, self.day) for b in self._batches]
