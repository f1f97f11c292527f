"""DAG integrity: every DAG file imports cleanly, cheaply, and follows the project's rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

DAG_FILES = sorted((ROOT / "dags").glob("*.py"))


@pytest.fixture(scope="module")
def dagbag():
    import os

    from airflow.dag_processing.dagbag import DagBag

    os.environ.pop("SENTIMENT_TASK_RETRIES", None)  # check the DAG as the scheduler sees it

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) == len(DAG_FILES) >= 1


def test_nightly_dag_shape(dagbag) -> None:
    dag = dagbag.dags["social_sentiment_nightly"]
    assert dag is not None
    assert dag.doc_md and "Reruns and backfills" in dag.doc_md
    assert set(dag.task_ids) == {
        "plan",
        "source_names",
        "extract",
        "normalize",
        "score_groups",
        "score",
        "validate",
        "load",
        "flag",
        "marts",
        "notify",
        "finish",
        "sources_complete",
    }
    # The order of the night: nothing loads before validation, nothing flags before the load.
    assert dag.get_task("load").upstream_task_ids >= {"validate", "normalize"}
    assert dag.get_task("validate").upstream_task_ids == {"plan", "score"}
    # Scoring is mapped over groups of parts (scoring.task_groups), each over the worker's cores.
    assert dag.get_task("score_groups").upstream_task_ids == {"plan", "normalize"}
    assert dag.get_task("score").upstream_task_ids == {"plan", "score_groups"}
    assert type(dag.get_task("score")).__name__.endswith("MappedOperator")
    assert dag.get_task("flag").upstream_task_ids == {"plan", "load"}
    assert dag.get_task("marts").upstream_task_ids == {"plan", "flag"}
    # A failed source does not stop the others' data, but the run still ends failed.
    assert dag.get_task("normalize").trigger_rule == "all_done_min_one_success"
    assert dag.get_task("sources_complete").upstream_task_ids == {"extract", "finish"}
    # The digest reads the marts; finish does not wait for it, so a mail problem leaves the run
    # recorded.
    assert dag.get_task("notify").upstream_task_ids == {"plan", "marts"}
    assert "notify" not in dag.get_task("finish").upstream_task_ids
    assert dag.catchup is False
    assert dag.max_active_runs >= 1


@pytest.mark.parametrize("dag_id", ["social_sentiment_nightly"])
def test_tags_retries_and_owner(dagbag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag.tags, f"{dag_id} has no tags"
    for task in dag.tasks:
        assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"
        assert task.owner and task.owner != "airflow"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_parsing_is_cheap(path: Path) -> None:
    """No heavy imports at parse time: Great Expectations, pandas and VADER load inside tasks."""
    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]);"
        "heavy = [m for m in ('great_expectations', 'pandas', 'vaderSentiment', 'psycopg',"
        " 'sentiment_monitor.validation', 'pyarrow') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "", f"imported at parse time: {done.stdout.strip()}"
