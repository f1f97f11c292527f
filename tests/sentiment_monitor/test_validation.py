"""Validate: bad rows quarantined with the expectation named; a bad batch stops the load."""

from __future__ import annotations

import builtins
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment_monitor import validation
from sentiment_monitor.records import SCORED_SCHEMA
from sentiment_monitor.validation import AsScored, ValidationFailed, collect, validate_parts
from tests.sentiment_monitor.fresh import assert_runs_fresh


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


def test_suites_get_the_columns_their_expectations_read() -> None:
    from sentiment_monitor import validation

    def columns(expectations) -> set[str]:
        found = set()
        for expectation in expectations:
            kwargs = expectation.configuration.kwargs
            found |= {kwargs["column"]} if "column" in kwargs else set()
            found |= set(kwargs.get("column_list") or ())
        return found

    assert columns(validation._row_expectations()) == set(validation.ROW_COLUMNS)
    assert columns(validation._batch_expectations()) == set(validation.BATCH_COLUMNS)


def test_batches_are_whole_consecutive_parts_of_about_equal_rows(
    tmp_path: Path, monkeypatch
) -> None:
    from sentiment_monitor import validation

    monkeypatch.setattr(validation, "BATCH_ROWS", 5)
    monkeypatch.setattr(validation, "IN_PROCESS_ROWS", 4)
    sizes = [3, 3, 3, 3, 3, 1]
    parts = [
        part(tmp_path / f"p{i}.parquet", [row(i * 10 + j) for j in range(n)])
        for i, n in enumerate(sizes)
    ]
    batches = validation.plan_batches(parts, 2)
    assert [number for batch in batches for number, _ in batch] == list(range(len(parts)))
    assert len(batches) == 4  # 16 rows, at most about 5 a batch
    assert [sum(sizes[number] for number, _ in batch) for batch in batches] == [3, 6, 3, 4]
    # Batches stay as large as BATCH_ROWS allows, not cut to a multiple of the workers.
    assert len(validation.plan_batches(parts[:4], 2)) == 3  # 12 rows
    assert len(validation.plan_batches(parts[:2], 2)) == 2  # at least one per worker
    assert validation.plan_batches(parts[:1], 2) == [[(0, parts[0])]]


def test_rows_of_a_batch_of_parts_map_back_to_their_part(tmp_path: Path, monkeypatch) -> None:
    """Several parts in one GX batch: each reject names its own part and line."""
    from sentiment_monitor import validation

    monkeypatch.setattr(validation, "IN_PROCESS_ROWS", 1_000)
    parts = [
        part(tmp_path / "part-00000.parquet", [row(0), row(1, label="meh")]),
        part(tmp_path / "part-00001.parquet", [row(2), row(3), row(4, text="")]),
    ]
    result = validate_parts(parts, tmp_path / "out", "2026-11-01", workers=2)
    assert (result.rows, result.passed, result.rejected) == (5, 3, 2)
    rejects = [r for path in result.rejects for r in pq.read_table(path).to_pylist()]
    assert {(r["file"], r["record_no"]) for r in rejects} == {
        ("part-00000.parquet", 2),
        ("part-00001.parquet", 3),
    }
    kept = [pq.read_table(p).column("mention_id").to_pylist() for p in result.parts]
    assert kept == [["0"], ["2", "3"]]
    assert result.suites["mentions_batch"]["parts"] == 2


def test_duplicates_across_parts_of_a_batch_stop_the_load(tmp_path: Path) -> None:
    parts = [part(tmp_path / "a.parquet", [row(0)]), part(tmp_path / "b.parquet", [row(0)])]
    with pytest.raises(ValidationFailed, match="expect_compound_columns_to_be_unique"):
        validate_parts(parts, tmp_path / "out", "2026-11-01")


def test_a_large_day_is_validated_in_a_spawned_worker(tmp_path: Path, monkeypatch) -> None:
    """Above IN_PROCESS_ROWS the suites run in a spawned process: same outcome, no GX here."""
    from sentiment_monitor import validation

    monkeypatch.setattr(validation, "IN_PROCESS_ROWS", 2)
    monkeypatch.setattr(validation, "_validator", None)
    parts = [
        part(tmp_path / "part-00000.parquet", [row(0), row(1, author_followers=-1)]),
        part(tmp_path / "part-00001.parquet", [row(2), row(3)]),
    ]
    result = validate_parts(parts, tmp_path / "out", "2026-11-01", workers=2)
    assert (result.rows, result.passed, result.rejected) == (4, 3, 1)
    assert validation._validator is None  # the suites ran in the worker
    (failed,) = result.suites["mentions_rows"]["failed"]
    assert failed.startswith("expect_column_values_to_be_between(column=author_followers")


def test_a_clean_batch_is_only_asked_whether_it_passes(tmp_path: Path, monkeypatch) -> None:
    """Without a failing row the suites run once each, in ``BOOLEAN_ONLY`` (no unexpected
    values or indexes gathered); a batch with a bad row is validated again for its indexes."""
    from sentiment_monitor import validation

    validator = validation._get_validator()
    asked: list[tuple[str, str]] = []
    validate = validator._validate

    def spy(frame, suite, result_format):
        asked.append((suite.name, result_format))
        return validate(frame, suite, result_format)

    monkeypatch.setattr(validator, "_validate", spy)
    clean = part(tmp_path / "clean.parquet", [row(0), row(1)])
    result = validate_parts([clean], tmp_path / "out", "2026-11-01")
    assert (result.passed, result.rejected) == (2, 0)
    assert [a for a in asked if a[0] != "mentions_batch_columns"] == [
        ("mentions_batch", "BOOLEAN_ONLY"),
        ("mentions_rows", "BOOLEAN_ONLY"),
    ]
    asked.clear()
    bad = part(tmp_path / "bad.parquet", [row(0), row(1, label="meh")])
    result = validate_parts([bad], tmp_path / "out2", "2026-11-01")
    assert (result.passed, result.rejected) == (1, 1)
    assert ("mentions_rows", "COMPLETE") in asked


def _as_scored(parts: list[tuple[str, int]], out: Path, order: list[int]) -> list[dict]:
    """The outcomes of :class:`AsScored` told of ``parts`` in ``order``."""
    with AsScored(out, "2026-11-01", sum(rows for _, rows in parts)) as checker:
        for number in order:
            checker.scored(number, *parts[number])
        return checker.finish()


def test_parts_validated_as_they_are_scored_give_the_whole_days_result(
    tmp_path: Path, monkeypatch
) -> None:
    """Parts told in any order are validated in whole consecutive batches within BATCH_ROWS;
    the collected result is the one ``validate_parts`` gives for the same parts."""
    from sentiment_monitor import validation

    monkeypatch.setattr(validation, "BATCH_ROWS", 5)
    sizes = [3, 3, 3, 3, 1]
    parts = []
    for i, n in enumerate(sizes):
        rows = [row(i * 10 + j) for j in range(n)]
        if i == 2:
            rows[1] = row(21, label="meh")
        parts.append((part(tmp_path / f"part-{i:05d}.parquet", rows), n))
    outcomes = _as_scored(parts, tmp_path / "streamed", order=[2, 0, 4, 1, 3])
    # [0] [1] [2] [3, 4]: a part that would take a batch past BATCH_ROWS starts the next one.
    assert [len(outcome["parts"]) for outcome in outcomes] == [1, 1, 1, 2]
    streamed = collect(outcomes, "2026-11-01")
    whole = validate_parts([p for p, _ in parts], tmp_path / "whole", "2026-11-01")
    assert (streamed.rows, streamed.passed, streamed.rejected) == (13, 12, 1)
    assert (whole.rows, whole.passed, whole.rejected) == (13, 12, 1)
    assert [Path(p).name for p in streamed.parts] == [Path(p).name for p in whole.parts]
    for mine, theirs in zip(streamed.parts, whole.parts, strict=True):
        assert pq.read_table(mine).equals(pq.read_table(theirs))
    assert streamed.suites == whole.suites
    (reject,) = [r for path in streamed.rejects for r in pq.read_table(path).to_pylist()]
    assert (reject["file"], reject["record_no"]) == ("part-00002.parquet", 2)


def test_a_day_validated_as_scored_runs_the_suites_in_one_spawned_process(
    tmp_path: Path, monkeypatch
) -> None:
    """Above IN_PROCESS_ROWS the suites run in one spawned process, started with the scoring
    (it imports Great Expectations meanwhile): same outcome, no GX in this process."""
    from sentiment_monitor import validation

    monkeypatch.setattr(validation, "IN_PROCESS_ROWS", 2)
    monkeypatch.setattr(validation, "_validator", None)
    parts = [
        (part(tmp_path / "part-00000.parquet", [row(0), row(1, author_followers=-1)]), 2),
        (part(tmp_path / "part-00001.parquet", [row(2), row(3)]), 2),
    ]
    result = collect(_as_scored(parts, tmp_path / "out", order=[1, 0]), "2026-11-01")
    assert (result.rows, result.passed, result.rejected) == (4, 3, 1)
    assert validation._validator is None  # the suites ran in the worker


def test_a_bad_batch_found_while_scoring_stops_the_validate_step(tmp_path: Path) -> None:
    """The score step only gathers the outcomes; collecting them (the validate step) raises,
    naming the failing expectation and the parts."""
    parts = [
        (part(tmp_path / "part-00000.parquet", [row(0)]), 1),
        (part(tmp_path / "part-00001.parquet", [row(0)]), 1),
    ]
    outcomes = _as_scored(parts, tmp_path / "out", order=[0, 1])
    assert outcomes[0]["batch_failed"]
    with pytest.raises(
        ValidationFailed,
        match=r"on part-00000\.parquet, part-00001\.parquet: expect_compound_columns_to_be_unique",
    ):
        collect(outcomes, "2026-11-01")


def test_a_part_never_scored_is_an_error_not_a_smaller_day(tmp_path: Path) -> None:
    parts = [(part(tmp_path / f"part-{i:05d}.parquet", [row(i)]), 1) for i in range(3)]
    with pytest.raises(ValueError, match=r"out of sequence: \[2\]"):
        _as_scored(parts, tmp_path / "out", order=[0, 2])


def test_great_expectations_imports_without_running_the_deferred_modules_until_read() -> None:
    """In a fresh interpreter, as a spawned validation worker starts: after the import no part
    of ``scipy.stats`` or ``altair`` has run; an expectation that needs ``scipy.stats`` (KL
    divergence, which imports both at module level) still gets the real module on first use,
    and so does a read of ``altair``."""
    script = """
import sys
from sentiment_monitor.validation import import_great_expectations
gx = import_great_expectations()
ran = [m for m in sys.modules if m.startswith(("scipy.stats.", "altair."))]
assert not ran, ran
assert type(sys.modules["altair"]).__name__ == "_Deferred"
import pandas as pd
context = gx.get_context(mode="ephemeral")
batch = (
    context.data_sources.add_pandas("p")
    .add_dataframe_asset("a")
    .add_batch_definition_whole_dataframe("b")
    .get_batch(batch_parameters={"dataframe": pd.DataFrame({"x": [0, 0, 1, 1]})})
)
expectation = gx.expectations.ExpectColumnKLDivergenceToBeLessThan(
    column="x",
    partition_object={"values": [0, 1], "weights": [0.5, 0.5]},
    threshold=0.1,
)
result = batch.validate(expectation)
assert result.success and result.result["observed_value"] == 0.0, result
assert "scipy.stats._stats_py" in sys.modules
import altair
assert altair.Chart is not None and altair.__version__
assert type(sys.modules["altair"]).__name__ == "module" and "altair.vegalite" in sys.modules
print("ok")
"""
    assert_runs_fresh(script)


def test_a_deferred_module_runs_once_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_defer``: ``import`` and ``from package import module`` bind without running it;
    the first attribute read runs it once, and every binding then reads the real module."""
    package = tmp_path / "deferpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "heavy.py").write_text(
        "import builtins\nbuiltins.heavy_runs += 1\ndef answer():\n    return 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(builtins, "heavy_runs", 0, raising=False)  # removed after the test
    for name in ("deferpkg", "deferpkg.heavy", "deferpkg.missing"):
        monkeypatch.setitem(sys.modules, name, None)  # so the test's modules leave with it
        monkeypatch.delitem(sys.modules, name)
    validation._defer("deferpkg.heavy")

    import deferpkg.heavy as bound_by_import
    from deferpkg import heavy as bound_by_from

    assert builtins.heavy_runs == 0
    assert bound_by_from.answer() == 42
    assert bound_by_import.answer() == 42 and builtins.heavy_runs == 1
    real = sys.modules["deferpkg.heavy"]
    assert type(real) is not type(bound_by_from) and real.answer() == 42
    assert builtins.heavy_runs == 1
    real.answer = lambda: 43  # the real module as it is now, through the early bindings
    assert bound_by_from.answer() == 43 and bound_by_import.answer() == 43
    validation._defer("deferpkg.heavy")  # loaded already: left as it is
    validation._defer("deferpkg.missing")  # not installed: nothing registered
    assert sys.modules["deferpkg.heavy"] is real and "deferpkg.missing" not in sys.modules
