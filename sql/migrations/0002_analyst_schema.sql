-- 0002: the analyst's schema. Authors kept by the load, the marts author_sentiment and
-- response_metrics, and the run log's validation outcome and total time.

-- authors: one row per author on a platform who has at least one stored post (the brand's own
-- accounts included, marked is_brand). Key: (platform, author). Kept by the load: a day's load
-- recomputes only the authors of that day from their mentions (index mentions_author).
CREATE TABLE IF NOT EXISTS authors (
    platform           VARCHAR(32)  NOT NULL,
    author             VARCHAR(512) NOT NULL,
    is_brand           BOOLEAN NOT NULL,
    first_seen_at      {{ timestamp_type }} NOT NULL,
    last_seen_at       {{ timestamp_type }} NOT NULL,
    latest_followers   BIGINT,
    mentions           BIGINT NOT NULL,
    positive_mentions  BIGINT NOT NULL,
    negative_mentions  BIGINT NOT NULL,
    PRIMARY KEY (platform, author)
);
-- An upgraded warehouse gets its authors at once (one scan of mentions, this once; the loads
-- keep them current after). Same query as warehouse.refresh_authors, over every author.
INSERT INTO authors (platform, author, is_brand, first_seen_at, last_seen_at, latest_followers,
                     mentions, positive_mentions, negative_mentions)
SELECT m.platform, m.author,
       MAX(CASE WHEN m.is_brand THEN 1 ELSE 0 END) = 1,
       MIN(m.created_at), MAX(m.created_at),
       (SELECT f.author_followers FROM mentions f
        WHERE f.platform = m.platform AND f.author = m.author AND f.author_followers IS NOT NULL
        ORDER BY f.created_at DESC, f.mention_id DESC LIMIT 1),
       COUNT(*),
       SUM(CASE WHEN m.label = 'positive' THEN 1 ELSE 0 END),
       SUM(CASE WHEN m.label = 'negative' THEN 1 ELSE 0 END)
FROM mentions m
GROUP BY m.platform, m.author;
-- The threads view and the late-reply checks look replies up by their thread.
CREATE INDEX IF NOT EXISTS mentions_thread ON mentions (platform, thread_root_id);

-- author_sentiment: one row per author, platform and day (the day of the run that collected the
-- posts) with at least one public post. Key: (day, platform, author). Rebuilt for touched days.
CREATE TABLE IF NOT EXISTS author_sentiment (
    day            {{ date_type }} NOT NULL,
    platform       VARCHAR(32)  NOT NULL,
    author         VARCHAR(512) NOT NULL,
    posts          BIGINT NOT NULL,
    scored         BIGINT NOT NULL,
    positive       BIGINT NOT NULL,
    neutral        BIGINT NOT NULL,
    negative       BIGINT NOT NULL,
    mean_compound  DOUBLE PRECISION,
    net_sentiment  DOUBLE PRECISION,
    PRIMARY KEY (day, platform, author)
);
CREATE INDEX IF NOT EXISTS author_sentiment_author ON author_sentiment (platform, author);
-- Filled for the days already loaded, like sql/mart_author_sentiment.sql for every day.
INSERT INTO author_sentiment (
    day, platform, author, posts, scored, positive, neutral, negative, mean_compound,
    net_sentiment
)
SELECT day, platform, author,
       COUNT(*),
       SUM(CASE WHEN label <> 'unscored' THEN 1 ELSE 0 END),
       SUM(CASE WHEN label = 'positive' THEN 1 ELSE 0 END),
       SUM(CASE WHEN label = 'neutral' THEN 1 ELSE 0 END),
       SUM(CASE WHEN label = 'negative' THEN 1 ELSE 0 END),
       AVG(compound),
       CASE WHEN SUM(CASE WHEN label <> 'unscored' THEN 1 ELSE 0 END) > 0
            THEN CAST(SUM(CASE WHEN label = 'positive' THEN 1 ELSE 0 END)
                      - SUM(CASE WHEN label = 'negative' THEN 1 ELSE 0 END) AS DOUBLE PRECISION)
                 / SUM(CASE WHEN label <> 'unscored' THEN 1 ELSE 0 END) END
FROM mentions
WHERE NOT is_brand
GROUP BY day, platform, author;

-- response_metrics: one row per day and platform with public posts. Key: (day, platform).
-- Rebuilt for the days a run touched, including earlier days the brand answered late. Its
-- median needs Python (marts.build_response_metrics): after this upgrade, the days loaded
-- before it are filled by marts.backfill_marts(engine), or as each day is rerun.
CREATE TABLE IF NOT EXISTS response_metrics (
    day                         {{ date_type }} NOT NULL,
    platform                    VARCHAR(32) NOT NULL,
    public_posts                BIGINT NOT NULL,
    answered_posts              BIGINT NOT NULL,
    questions                   BIGINT NOT NULL,
    questions_answered          BIGINT NOT NULL,
    questions_answered_share    DOUBLE PRECISION,
    detractor_posts             BIGINT NOT NULL,
    detractors_answered         BIGINT NOT NULL,
    detractors_answered_share   DOUBLE PRECISION,
    median_first_reply_seconds  DOUBLE PRECISION,
    PRIMARY KEY (day, platform)
);

-- stale_mart_days: days whose marts a later load changed after they were built - a backfill of
-- an earlier day that takes over posts a later day had collected. build_marts rebuilds them
-- with the days it was asked for and empties this table; between runs it is empty.
CREATE TABLE IF NOT EXISTS stale_mart_days (
    day  {{ date_type }} NOT NULL PRIMARY KEY
);

-- run_log gains the validation outcome and the sum of the step durations, so one row answers
-- "how did that run go" without reading load_audit or parsing JSON.
ALTER TABLE run_log ADD COLUMN validation_success BOOLEAN;
ALTER TABLE run_log ADD COLUMN total_seconds DOUBLE PRECISION;
