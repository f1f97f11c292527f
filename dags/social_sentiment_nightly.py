"""
### Social sentiment nightly

Every night, for the previous UTC day (the run's data interval), collects every mention of the
brand and every reply in its threads from the configured sources, scores their sentiment with
VADER, validates the data with Great Expectations and loads it into the warehouse
(`sentiment_warehouse`, else `data/warehouse.db`); then raises the flags community managers work
through, rebuilds the daily marts, and writes the morning digest with any negative-spike alerts.

* **Reruns and backfills** of any day give the same warehouse: each step replaces that day's
  staged files, the load is one idempotent transaction, and statuses people set on flags survive.
* **Data never travels through XCom**: tasks hand each other paths and counts; the data sits in
  Parquet files under the staging folder of the configuration, or in the warehouse.
* **Bad records** are quarantined in `rejects` with the reason; a batch-level validation failure
  stops the run before the load and names the failing expectations.
* **A source that stays down** (after its own retries) fails only its mapped `extract` task, with
  a message naming the source and the HTTP status. `normalize` runs once every extract is done
  and at least one succeeded (`all_done_min_one_success`), reading only the delivered extracts
  (a failed mapped task leaves no XCom), so the other sources' data still loads that night. The
  run still ends **failed**: the leaf task `sources_complete` needs every extract to succeed, so
  the gap stays visible until the failed extract is cleared and the day rerun. If no source
  delivered, `normalize` fails. A partial reload of a day that was loaded before *with* the
  missing source is refused, because the load replaces the whole day and would drop that
  source's rows (and the flags people work on).

The work itself lives in `include/sentiment_monitor/`; this file only wires it together.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import TYPE_CHECKING, Any

from airflow.sdk import CronTriggerTimetable, TriggerRule, dag, get_current_context, task

if TYPE_CHECKING:
    from sentiment_monitor.config import Config

log = logging.getLogger(__name__)

#: Configuration is read inside tasks (never at parse time); SENTIMENT_CONFIG selects the file.


def _config() -> Config:
    """The checked configuration; a bad one fails the task at once, without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    from sentiment_monitor.config import ConfigError, load_config

    try:
        return load_config()
    except ConfigError as error:
        raise AirflowFailException(str(error)) from None


def _warehouse() -> str | None:
    from sentiment_monitor.connections import warehouse_url

    return warehouse_url()


@dag(
    dag_id="social_sentiment_nightly",
    description="Mentions and replies of the brand, scored, validated, flagged and loaded nightly.",
    doc_md=__doc__,
    # Triggered at 00:30 UTC for the UTC day that just ended: the data interval is that day.
    schedule=CronTriggerTimetable("30 0 * * *", timezone="UTC", interval=dt.timedelta(days=1)),
    start_date=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    # Missed nights are filled in on purpose, with `airflow backfill create`, not on unpause.
    catchup=False,
    max_active_runs=2,
    # SENTIMENT_TASK_RETRIES=0 (set by `make run`) lets a person see a failure at once.
    default_args={
        "retries": int(os.environ.get("SENTIMENT_TASK_RETRIES", "2")),
        "retry_delay": dt.timedelta(minutes=5),
        "owner": "sentiment",
    },
    tags=["sentiment", "nightly"],
)
def social_sentiment_nightly() -> None:
    @task
    def plan() -> str:
        """Check the configuration (a bad value stops the night here) and fix the run's UTC day."""
        start = get_current_context()["data_interval_start"]
        _config()
        return start.astimezone(dt.UTC).date().isoformat()

    @task
    def source_names(day: str) -> list[str]:
        """The configured sources, one mapped extract task each."""
        return [options["name"] for options in _config().sources]

    @task(map_index_template="{{ task.op_kwargs['source_name'] }}")
    def extract(day: str, source_name: str) -> dict[str, Any]:
        """Land the day's records of one source; one mapped task per configured source."""
        from sentiment_monitor import pipeline
        from sentiment_monitor.connections import connection_info

        config = _config()
        conn_id = config.source(source_name).get("conn_id")
        connection = connection_info(conn_id) if conn_id else None
        return pipeline.extract(config, day, source_name, connection)

    @task(trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
    def normalize(day: str, extracts: list[dict[str, Any]]) -> dict[str, Any]:
        """HTML to text, dedupe, reposts dropped, brand posts marked; malformed records rejected.

        Runs when every extract is done; a failed extract has no XCom, so only the sources that
        delivered are read, and the ones that did not are named in ``missing_sources``.
        """
        from airflow.sdk.exceptions import AirflowFailException

        from sentiment_monitor import pipeline

        config = _config()
        delivered = list(extracts)
        names = {e["source"] for e in delivered}
        missing = [o["name"] for o in config.sources if o["name"] not in names]
        if not delivered:
            raise AirflowFailException(f"no source delivered {day}; failed: {', '.join(missing)}")
        if missing:
            log.warning("%s: loading without the failed source(s) %s", day, ", ".join(missing))
        result = pipeline.normalize(config, day, delivered)
        result["missing_sources"] = missing
        return result

    @task
    def score_groups(day: str, normalized: dict[str, Any]) -> list[dict[str, Any]]:
        """The normalized parts in `scoring.task_groups` groups: one mapped score task each."""
        from sentiment_monitor import pipeline

        return pipeline.score_groups(_config(), day, normalized)

    @task(map_index_template="{{ task.op_kwargs['group']['group'] }}")
    def score(day: str, group: dict[str, Any]) -> dict[str, Any]:
        """VADER scores and a label for one group of parts, on all the worker's cores; the
        Great Expectations suites run beside, on each batch of parts as soon as it is scored."""
        from sentiment_monitor import pipeline

        return pipeline.score_group(_config(), day, group)

    @task
    def validate(day: str, scored: list[dict[str, Any]]) -> dict[str, Any]:
        """Great Expectations' verdict (run while scoring): bad rows quarantined, a bad batch
        stops the run, naming the failing expectations."""
        from airflow.sdk.exceptions import AirflowFailException

        from sentiment_monitor import pipeline
        from sentiment_monitor.validation import ValidationFailed

        try:
            return pipeline.validate(_config(), day, pipeline.combine_scores(day, list(scored)))
        except ValidationFailed as error:
            # Broken data upstream does not heal on a retry: stop now, name the expectations.
            raise AirflowFailException(str(error)) from None

    @task
    def load(day: str, normalized: dict[str, Any], validated: dict[str, Any]) -> dict[str, Any]:
        """All or nothing: the day's mentions upserted (each platform on its own connection),
        rejects replaced, the audit written. Beside it the earlier nights' flags age to the day."""
        from airflow.sdk.exceptions import AirflowFailException

        from sentiment_monitor import pipeline

        url = _warehouse()
        try:
            pipeline.refuse_partial_reload(day, normalized.get("missing_sources") or [], url)
        except pipeline.PartialReloadRefused as error:
            raise AirflowFailException(str(error)) from None  # a retry cannot bring them back
        return pipeline.load(_config(), day, normalized, validated, url)

    @task
    def flag(day: str, loaded: dict[str, Any]) -> dict[str, Any]:
        """Promoters, detractors and unanswered questions, ranked; people's statuses kept."""
        from sentiment_monitor import pipeline

        return pipeline.flag(_config(), day, _warehouse())

    @task
    def marts(day: str, flagged: dict[str, Any]) -> dict[str, Any]:
        """Rebuild daily_sentiment for the days this run touched."""
        from sentiment_monitor import pipeline

        return pipeline.marts(_config(), day, flagged, _warehouse())

    @task
    def sources_complete(extracts: list[dict[str, Any]], finished: dict[str, Any]) -> int:
        """The run's last word: it only runs (and the run only succeeds) if every source did."""
        return len(list(extracts))

    @task
    def notify(day: str, built: dict[str, Any]) -> dict[str, Any]:
        """Negative-spike alerts and the morning digest (HTML + chart), mailed when configured."""
        from sentiment_monitor import digest

        config = _config()
        result = digest.notify(config, day, _warehouse())
        result["mailed"] = digest.send_digest(config, result, get_current_context())
        return result

    @task
    def finish(day: str, steps: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Record the run and its step durations in run_log."""
        from sentiment_monitor import pipeline

        run_id = get_current_context()["run_id"]
        steps = dict(steps)
        steps["score"] = pipeline.combine_scores(day, list(steps["score"]))
        return pipeline.finish(day, run_id, steps, _warehouse())

    day = plan()
    extracts = extract.partial(day=day).expand(source_name=source_names(day))
    normalized = normalize(day, extracts)
    # Mapped: the groups can run on different workers, each over its own cores.
    scored = score.partial(day=day).expand(group=score_groups(day, normalized))
    validated = validate(day, scored)
    loaded = load(day, normalized, validated)
    flagged = flag(day, loaded)
    built = marts(day, flagged)
    # The digest runs beside finish: a mail problem must not leave the run unrecorded.
    notify(day, built)
    finished = finish(
        day,
        {
            "normalize": normalized,
            "score": scored,
            "validate": validated,
            "load": loaded,
            "flag": flagged,
            "marts": built,
        },
    )
    sources_complete(extracts, finished)


social_sentiment_nightly()
