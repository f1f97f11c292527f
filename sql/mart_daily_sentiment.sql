-- Recompute daily_sentiment for the days in :days (bound as an expanding list).
-- mentions counts the public's posts (the brand's own posts are counted apart, in brand_posts);
-- net_sentiment = (positive - negative) / scored; a question is a post asking something of the
-- brand (it names the brand or replies to the brand's post), answered when the brand replied to it.
DELETE FROM daily_sentiment WHERE day IN :days;
INSERT INTO daily_sentiment (
    day, platform, mentions, brand_posts, scored, positive, neutral, negative, unscored,
    mean_compound, net_sentiment, flags_raised, questions, questions_answered, answered_share
)
WITH public_posts AS (
    SELECT m.*,
           CASE WHEN m.is_question AND (m.mentions_brand OR EXISTS (
                    SELECT 1 FROM mentions p
                    WHERE p.platform = m.platform AND p.mention_id = m.in_reply_to_id
                      AND p.is_brand))
                THEN 1 ELSE 0 END AS asks_brand,
           CASE WHEN EXISTS (
                    SELECT 1 FROM mentions r
                    WHERE r.platform = m.platform AND r.in_reply_to_id = m.mention_id
                      AND r.is_brand)
                THEN 1 ELSE 0 END AS brand_replied
    FROM mentions m
    WHERE m.day IN :days AND NOT m.is_brand
),
per_day AS (
    SELECT day, platform,
           COUNT(*) AS mentions,
           SUM(CASE WHEN label <> 'unscored' THEN 1 ELSE 0 END) AS scored,
           SUM(CASE WHEN label = 'positive' THEN 1 ELSE 0 END) AS positive,
           SUM(CASE WHEN label = 'neutral' THEN 1 ELSE 0 END) AS neutral,
           SUM(CASE WHEN label = 'negative' THEN 1 ELSE 0 END) AS negative,
           SUM(CASE WHEN label = 'unscored' THEN 1 ELSE 0 END) AS unscored,
           AVG(compound) AS mean_compound,
           SUM(asks_brand) AS questions,
           SUM(asks_brand * brand_replied) AS questions_answered
    FROM public_posts
    GROUP BY day, platform
),
brand AS (
    SELECT day, platform, COUNT(*) AS brand_posts
    FROM mentions WHERE day IN :days AND is_brand
    GROUP BY day, platform
),
raised AS (
    SELECT day, platform, COUNT(*) AS flags_raised
    FROM flags WHERE day IN :days
    GROUP BY day, platform
),
keys AS (
    SELECT day, platform FROM per_day
    UNION
    SELECT day, platform FROM brand
)
SELECT k.day, k.platform,
       COALESCE(d.mentions, 0),
       COALESCE(b.brand_posts, 0),
       COALESCE(d.scored, 0),
       COALESCE(d.positive, 0),
       COALESCE(d.neutral, 0),
       COALESCE(d.negative, 0),
       COALESCE(d.unscored, 0),
       d.mean_compound,
       CASE WHEN COALESCE(d.scored, 0) > 0
            THEN CAST(d.positive - d.negative AS DOUBLE PRECISION) / d.scored END,
       COALESCE(r.flags_raised, 0),
       COALESCE(d.questions, 0),
       COALESCE(d.questions_answered, 0),
       CASE WHEN COALESCE(d.questions, 0) > 0
            THEN CAST(d.questions_answered AS DOUBLE PRECISION) / d.questions END
FROM keys k
LEFT JOIN per_day d ON d.day = k.day AND d.platform = k.platform
LEFT JOIN brand b ON b.day = k.day AND b.platform = k.platform
LEFT JOIN raised r ON r.day = k.day AND r.platform = k.platform;
