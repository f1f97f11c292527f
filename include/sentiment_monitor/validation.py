"""Validate: Great Expectations 1.x suites over the scored mentions, before anything is loaded.

Two suites, defined once here and reviewed like code:

* ``mentions_rows`` - expectations about single rows (keys, author, timestamp shape, text,
  platform, label, followers). A row that fails one is quarantined to ``rejects`` with the names
  of the expectations it failed; the night goes on.
* ``mentions_batch`` - expectations about the data as a whole (the columns are exactly the
  expected ones, scores within VADER's ranges, no duplicate ``(platform, mention_id)``). A failure
  here means something upstream is broken: the task fails, naming the failing expectations, and
  nothing is loaded.

Validation runs part by part, so memory stays bounded. Great Expectations is imported inside the
functions: it costs seconds and hundreds of MB, and must never load at DAG parse time.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment_monitor.records import LABELS, PLATFORMS, REJECT_SCHEMA, SCORED_SCHEMA

log = logging.getLogger(__name__)

TIMESTAMP_REGEX = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}\+00:00$"


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
    import great_expectations as gx

    e = gx.expectations
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
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectTableColumnsToMatchSet(column_set=list(SCORED_SCHEMA.names), exact_match=True),
        e.ExpectCompoundColumnsToBeUnique(column_list=["platform", "mention_id"]),
        e.ExpectColumnValuesToBeBetween(column="compound", min_value=-1, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="pos", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="neu", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="neg", min_value=0, max_value=1),
    ]


class Validator:
    """One ephemeral GX context with both suites, reused for every part of a day."""

    def __init__(self) -> None:
        import great_expectations as gx

        # GX logs hundreds of lines per run at INFO under Airflow; its progress bars too.
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
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

    def _validate(self, frame: Any, suite: Any, result_format: str) -> Any:
        batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(suite, result_format={"result_format": result_format})

    def row_failures(self, frame: Any) -> dict[int, list[str]]:
        """Row position -> names of the row-level expectations that row failed."""
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

    def batch_failures(self, frame: Any) -> list[str]:
        """Descriptions of the batch-level expectations the frame failed."""
        outcome = self._validate(frame, self.batch_suite, "SUMMARY")
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


def validate_parts(parts: list[str], out_dir: Path, day: str) -> ValidateResult:
    """Validate every scored part; write the passing rows and the row-level rejects to ``out_dir``.

    Raises :class:`ValidationFailed` on the first batch-level failure, after logging every
    failing expectation of that part.
    """
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "mentions").mkdir(parents=True)
    (out_dir / "rejects").mkdir(parents=True)
    result = ValidateResult(day=day)
    if not parts:
        return result
    validator = Validator()
    for suite in ("mentions_rows", "mentions_batch"):
        result.suites[suite] = {"parts": 0, "success": True, "failed": []}
    for number, part in enumerate(parts):
        table = pq.read_table(part)
        frame = table.to_pandas()
        result.rows += len(frame)
        failed = validator.batch_failures(frame)
        result.suites["mentions_batch"]["parts"] += 1
        if failed:
            result.suites["mentions_batch"].update(success=False, failed=failed)
            for line in failed:
                log.error("validation failed on %s: %s", Path(part).name, line)
            raise ValidationFailed(
                f"batch-level validation failed for day {day} on {Path(part).name}: "
                + "; ".join(failed)
            )
        failures = validator.row_failures(frame)
        result.suites["mentions_rows"]["parts"] += 1
        if failures:
            names = sorted({n for names in failures.values() for n in names})
            result.suites["mentions_rows"]["failed"] = sorted(
                set(result.suites["mentions_rows"]["failed"]) | set(names)
            )
            result.suites["mentions_rows"]["success"] = False
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
            path = out_dir / "rejects" / f"validate-{number:05d}.parquet"
            pq.write_table(pa.Table.from_pylist(reject_rows, schema=REJECT_SCHEMA), path)
            result.rejects.append(str(path))
            keep = [i for i in range(table.num_rows) if i not in failures]
            table = table.take(pa.array(keep, pa.int64()))
            result.rejected += len(failures)
        path = out_dir / "mentions" / Path(part).name
        pq.write_table(table, path, compression="zstd")
        result.parts.append(str(path))
        result.passed += table.num_rows
    return result
