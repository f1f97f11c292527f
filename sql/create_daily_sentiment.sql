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
