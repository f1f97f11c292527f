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
