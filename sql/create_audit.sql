-- load_audit: one row per loaded day, the accounting of its records:
-- records_read = loaded + rejected + duplicates, always. Replaced by a rerun of the day.
CREATE TABLE IF NOT EXISTS load_audit (
    day                 {{ date_type }} NOT NULL PRIMARY KEY,
    records_read        BIGINT NOT NULL,
    loaded              BIGINT NOT NULL,
    rejected            BIGINT NOT NULL,
    duplicates          BIGINT NOT NULL,
    reposts             BIGINT NOT NULL,
    known_from_earlier  BIGINT NOT NULL,
    validation_success  BOOLEAN NOT NULL,
    validation_detail   TEXT NOT NULL,
    per_source          TEXT NOT NULL
);
-- run_log: one row per run of a day (a log: reruns add rows). Durations in seconds, as JSON.
CREATE TABLE IF NOT EXISTS run_log (
    run_id        VARCHAR(256) NOT NULL,
    day           {{ date_type }} NOT NULL,
    finished_at   {{ timestamp_type }} NOT NULL,
    records_read  BIGINT NOT NULL,
    loaded        BIGINT NOT NULL,
    rejected      BIGINT NOT NULL,
    duplicates    BIGINT NOT NULL,
    durations     TEXT NOT NULL,
    PRIMARY KEY (run_id, day)
);
