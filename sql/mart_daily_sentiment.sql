-- Recompute daily_sentiment for the days in :days and the platforms in :platforms (bound as
-- expanding lists), from mart_posts.
-- mentions counts the public's posts (the brand's own posts are counted apart, in brand_posts);
-- net_sentiment = (positive - negative) / scored; a question is a post asking something of the
-- brand (it names the brand or replies to the brand's post), answered when the brand replied to it.
DELETE FROM daily_sentiment WHERE day IN :days AND platform IN :platforms;
INSERT INTO daily_sentiment (
    day, platform, mentions, brand_posts, scored, positive, neutral, negative, unscored,
    mean_compound, net_sentiment, flags_raised, questions, questions_answered, answered_share
)
WITH per_day AS (
    SELECT day, platform,
           SUM(1 - is_brand) AS mentions,
           SUM(is_brand) AS brand_posts,
           SUM(CASE WHEN is_brand = 0 AND label <> 'unscored' THEN 1 ELSE 0 END) AS scored,
           SUM(CASE WHEN is_brand = 0 AND label = 'positive' THEN 1 ELSE 0 END) AS positive,
           SUM(CASE WHEN is_brand = 0 AND label = 'neutral' THEN 1 ELSE 0 END) AS neutral,
           SUM(CASE WHEN is_brand = 0 AND label = 'negative' THEN 1 ELSE 0 END) AS negative,
           SUM(CASE WHEN is_brand = 0 AND label = 'unscored' THEN 1 ELSE 0 END) AS unscored,
           AVG(CASE WHEN is_brand = 0 THEN compound END) AS mean_compound,
           SUM(asks_brand) AS questions,
           SUM(CASE WHEN asks_brand = 1 AND first_brand_reply_at IS NOT NULL THEN 1 ELSE 0 END)
               AS questions_answered
    FROM mart_posts
    GROUP BY day, platform
),
raised AS (
    SELECT day, platform, COUNT(*) AS flags_raised
    FROM flags WHERE day IN :days AND platform IN :platforms
    GROUP BY day, platform
)
SELECT d.day, d.platform,
       d.mentions,
       d.brand_posts,
       d.scored,
       d.positive,
       d.neutral,
       d.negative,
       d.unscored,
       d.mean_compound,
       CASE WHEN d.scored > 0
            THEN CAST(d.positive - d.negative AS DOUBLE PRECISION) / d.scored END,
       COALESCE(r.flags_raised, 0),
       d.questions,
       d.questions_answered,
       CASE WHEN d.questions > 0
            THEN CAST(d.questions_answered AS DOUBLE PRECISION) / d.questions END
FROM per_day d
LEFT JOIN raised r ON r.day = d.day AND r.platform = d.platform;
