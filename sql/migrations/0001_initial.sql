-- 0001: the warehouse as released before schema versions (mentions, flags, rejects, load_audit,
-- run_log, daily_sentiment, spike_alerts). A warehouse made then already holds this; every
-- statement is IF NOT EXISTS, so applying it there creates only what that release lacked
-- (spike_alerts came last) and records version 1.

-- mentions: one row per mention of the brand, reply in its threads, or post of the brand itself.
-- Grain: one post. Key: (platform, mention_id); mention_id is the platform's own id.
-- day is the UTC day of the nightly run that collected the post (the partition reruns replace).
CREATE TABLE IF NOT EXISTS mentions (
    platform          VARCHAR(32)  NOT NULL,
    mention_id        VARCHAR(512) NOT NULL,
    day               {{ date_type }} NOT NULL,
    author            VARCHAR(512) NOT NULL,
    author_followers  BIGINT,
    created_at        {{ timestamp_type }} NOT NULL,
    text              TEXT NOT NULL,
    lang              VARCHAR(32),
    url               TEXT,
    in_reply_to_id    VARCHAR(512),
    thread_root_id    VARCHAR(512),
    is_brand          BOOLEAN NOT NULL,
    is_question       BOOLEAN NOT NULL,
    mentions_brand    BOOLEAN NOT NULL,
    compound          DOUBLE PRECISION,
    pos               DOUBLE PRECISION,
    neu               DOUBLE PRECISION,
    neg               DOUBLE PRECISION,
    label             VARCHAR(16) NOT NULL,
    score_note        TEXT,
    source            VARCHAR(128) NOT NULL,
    PRIMARY KEY (platform, mention_id)
);
CREATE INDEX IF NOT EXISTS mentions_day ON mentions (day);
CREATE INDEX IF NOT EXISTS mentions_reply_to ON mentions (platform, in_reply_to_id);
CREATE INDEX IF NOT EXISTS mentions_author ON mentions (platform, author);

-- flags: one row per mention that deserves a person: a promoter to thank, a detractor to
-- resolve, a question to the brand nobody answered. Key: (platform, mention_id, kind).
-- The pipeline owns kind, reason, priority and the copied mention fields; people own status,
-- assignee and note, which no run ever overwrites.
CREATE TABLE IF NOT EXISTS flags (
    platform          VARCHAR(32)  NOT NULL,
    mention_id        VARCHAR(512) NOT NULL,
    kind              VARCHAR(16)  NOT NULL,
    day               {{ date_type }} NOT NULL,
    author            VARCHAR(512) NOT NULL,
    created_at        {{ timestamp_type }} NOT NULL,
    compound          DOUBLE PRECISION,
    priority          INTEGER NOT NULL,
    reason            TEXT NOT NULL,
    status            VARCHAR(16) NOT NULL DEFAULT 'open',
    assignee          VARCHAR(256),
    note              TEXT,
    status_changed_at {{ timestamp_type }},
    PRIMARY KEY (platform, mention_id, kind),
    CHECK (kind IN ('promoter', 'detractor', 'question')),
    CHECK (status IN ('open', 'in_progress', 'resolved', 'dismissed'))
);
CREATE INDEX IF NOT EXISTS flags_day ON flags (day);
CREATE INDEX IF NOT EXISTS flags_status_priority ON flags (status, priority);

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

-- daily_sentiment: one row per day and platform, recomputed for the days a run touched.
CREATE TABLE IF NOT EXISTS daily_sentiment (
    day                 {{ date_type }} NOT NULL,
    platform            VARCHAR(32) NOT NULL,
    mentions            BIGINT NOT NULL,
    brand_posts         BIGINT NOT NULL,
    scored              BIGINT NOT NULL,
    positive            BIGINT NOT NULL,
    neutral             BIGINT NOT NULL,
    negative            BIGINT NOT NULL,
    unscored            BIGINT NOT NULL,
    mean_compound       DOUBLE PRECISION,
    net_sentiment       DOUBLE PRECISION,
    flags_raised        BIGINT NOT NULL,
    questions           BIGINT NOT NULL,
    questions_answered  BIGINT NOT NULL,
    answered_share      DOUBLE PRECISION,
    PRIMARY KEY (day, platform)
);

-- spike_alerts: one row per day and platform whose negative mentions spiked against the trailing
-- baseline (see alerts: in the configuration). A rerun of the day replaces its rows.
CREATE TABLE IF NOT EXISTS spike_alerts (
    day            {{ date_type }} NOT NULL,
    platform       VARCHAR(32) NOT NULL,
    negative       BIGINT NOT NULL,
    baseline_mean  DOUBLE PRECISION NOT NULL,
    baseline_std   DOUBLE PRECISION NOT NULL,
    z_score        DOUBLE PRECISION NOT NULL,
    ratio          DOUBLE PRECISION,
    history_days   INTEGER NOT NULL,
    PRIMARY KEY (day, platform)
);
