-- rejects: every record that could not become a mention, with the raw record and the reason.
-- Grain: one raw record (normalize stage) or one scored row (validate stage).
-- Key: (day, stage, source, file, record_no); reruns of a day replace that day's rejects.
CREATE TABLE IF NOT EXISTS rejects (
    day        {{ date_type }} NOT NULL,
    stage      VARCHAR(16)  NOT NULL,
    source     VARCHAR(128) NOT NULL,
    file       TEXT NOT NULL,
    record_no  BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    raw        TEXT NOT NULL,
    PRIMARY KEY (day, stage, source, file, record_no)
);
