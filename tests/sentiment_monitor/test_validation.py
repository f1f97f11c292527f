"""Validate: bad rows quarantined with the expectation named; a bad batch stops the load."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment_monitor.records import SCORED_SCHEMA
from sentiment_monitor.validation import ValidationFailed, validate_parts


def row(i: int, **changes: object) -> dict:
    base = {
        "platform": "mastodon",
        "mention_id": str(i),
        "day": "2026-11-01",
        "author": "a",
        "author_followers": 10,
        "created_at": "2026-11-01 10:00:00.000000+00:00",
        "text": "nice",
        "lang": None,
        "url": None,
        "in_reply_to_id": None,
        "is_brand": False,
        "is_question": False,
        "mentions_brand": False,
        "source": "s",
        "compound": 0.4,
        "pos": 0.5,
        "neu": 0.5,
        "neg": 0.0,
        "label": "positive",
        "score_note": None,
    }
    base.update(changes)
    return base


def part(path: Path, rows: list[dict], schema: pa.Schema = SCORED_SCHEMA) -> str:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return str(path)


def test_bad_rows_are_quarantined_with_the_expectation_named(tmp_path: Path) -> None:
    rows = [
        row(0),
        row(1, author_followers=-5),
        row(2, created_at="2026-11-01"),
        row(3, label="ecstatic"),
        row(4),
    ]
    result = validate_parts([part(tmp_path / "p.parquet", rows)], tmp_path / "out", "2026-11-01")
    assert (result.rows, result.passed, result.rejected) == (5, 2, 3)
    kept = pq.read_table(result.parts[0]).column("mention_id").to_pylist()
    assert kept == ["0", "4"]
    rejects = pq.read_table(result.rejects[0]).to_pylist()
    reasons = {r["record_no"]: r["reason"] for r in rejects}
    assert "expect_column_values_to_be_between(column=author_followers" in reasons[2]
    assert "expect_column_values_to_match_regex(column=created_at" in reasons[3]
    assert "expect_column_values_to_be_in_set(column=label" in reasons[4]
    assert all('"mention_id"' in r["raw"] for r in rejects)
    assert result.suites["mentions_rows"]["success"] is False
    assert result.suites["mentions_batch"]["success"] is True


@pytest.mark.parametrize(
    ("rows", "named"),
    [
        ([row(0, compound=1.7)], "expect_column_values_to_be_between(column=compound"),
        ([row(0), row(0)], "expect_compound_columns_to_be_unique"),
        ([row(0, neg=-0.1)], "expect_column_values_to_be_between(column=neg"),
    ],
)
def test_batch_failures_stop_and_name_the_expectation(tmp_path: Path, rows, named: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        validate_parts([part(tmp_path / "p.parquet", rows)], tmp_path / "out", "2026-11-01")
    assert named in str(error.value)


def test_schema_drift_stops_the_load(tmp_path: Path) -> None:
    schema = SCORED_SCHEMA.append(pa.field("surprise", pa.string()))
    with pytest.raises(ValidationFailed, match="expect_table_columns_to_match_set"):
        validate_parts(
            [part(tmp_path / "p.parquet", [row(0, surprise="x")], schema)],
            tmp_path / "out",
            "2026-11-01",
        )


def test_no_parts_is_an_empty_success(tmp_path: Path) -> None:
    result = validate_parts([], tmp_path / "out", "2026-11-01")
    assert (result.rows, result.parts) == (0, [])
