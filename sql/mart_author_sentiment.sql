-- Recompute author_sentiment for the days in :days and the platforms in :platforms (bound as
-- expanding lists), from mart_posts:
-- one row per day, platform and author of the public's posts collected that day (the brand's own
-- posts are left out). net_sentiment = (positive - negative) / scored, as in daily_sentiment.
DELETE FROM author_sentiment WHERE day IN :days AND platform IN :platforms;
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
FROM mart_posts
WHERE is_brand = 0
GROUP BY day, platform, author;
