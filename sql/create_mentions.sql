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
