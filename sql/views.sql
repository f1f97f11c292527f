-- The views, dropped and created again after the migrations whenever this file changes (its
-- checksum is kept in schema_version under version 0). Views hold no data, so that is safe.

-- The first day of "the last 30 days": 29 days before the latest day the warehouse holds (not
-- the clock's today, so that a warehouse of past days answers as it did then).
{% if dialect == 'postgresql' %}
{% set since = "(SELECT MAX(day) FROM mentions) - 29" %}
{% else %}
{% set since = "date((SELECT MAX(day) FROM mentions), '-29 days')" %}
{% endif %}

-- open_flags: what community managers work through each morning, most urgent first. One row
-- per flag (an author's qualifying posts in one thread); text and url are of its first post.
DROP VIEW IF EXISTS open_flags;
CREATE VIEW open_flags AS
SELECT f.priority, f.kind, f.status, f.assignee, f.platform, f.author, m.author_followers,
       f.created_at, m.text, m.url, f.reason, f.note, f.mention_id, f.day,
       m.thread_root_id, f.posts, f.latest_mention_id, f.latest_at, f.previous_mention_id,
       CASE WHEN EXISTS (
                SELECT 1 FROM mentions r
                WHERE r.platform = m.platform AND r.in_reply_to_id = m.mention_id AND r.is_brand)
            THEN 1 ELSE 0 END AS brand_replied
FROM flags f
JOIN mentions m ON m.platform = f.platform AND m.mention_id = f.mention_id
WHERE f.status IN ('open', 'in_progress');

-- threads: one row per thread, i.e. per post that has replies stored (its thread_root_id).
-- Key: (platform, thread_root_id). Computed on read, so a late reply shows at once.
DROP VIEW IF EXISTS threads;
CREATE VIEW threads AS
SELECT r.platform,
       r.thread_root_id,
       root.day AS root_day,
       root.author AS root_author,
       root.created_at AS root_created_at,
       CASE WHEN root.is_brand THEN 1 ELSE 0 END AS root_is_brand,
       COUNT(*) AS replies,
       MIN(r.created_at) AS first_reply_at,
       MIN(CASE WHEN r.is_brand THEN r.created_at END) AS first_brand_reply_at,
       MAX(r.created_at) AS last_reply_at,
       COUNT(DISTINCT r.author)
         + CASE WHEN root.author IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM mentions x
                    WHERE x.platform = r.platform AND x.thread_root_id = r.thread_root_id
                      AND x.author = root.author)
                THEN 1 ELSE 0 END AS participants
FROM mentions r
LEFT JOIN mentions root ON root.platform = r.platform AND root.mention_id = r.thread_root_id
WHERE r.thread_root_id IS NOT NULL
GROUP BY r.platform, r.thread_root_id, root.day, root.author, root.created_at, root.is_brand;

-- top_promoters: the authors to thank, invite or feature - one row per platform and author with
-- a promoter flag whose latest post is in the last 30 days. promoter_rank 1 is the author with
-- the most positive posts (then the most followers) on that platform.
DROP VIEW IF EXISTS top_promoters;
CREATE VIEW top_promoters AS
SELECT f.platform, f.author, a.latest_followers AS followers,
       COUNT(*) AS promoter_flags,
       SUM(f.posts) AS promoter_posts,
       MAX(f.compound) AS best_compound,
       MAX(f.latest_at) AS last_post_at,
       SUM(CASE WHEN f.status IN ('open', 'in_progress') THEN 1 ELSE 0 END) AS open_flags,
       SUM(CASE WHEN f.status = 'resolved' THEN 1 ELSE 0 END) AS thanked_flags,
       ROW_NUMBER() OVER (PARTITION BY f.platform
                          ORDER BY SUM(f.posts) DESC, COALESCE(a.latest_followers, 0) DESC,
                                   f.author) AS promoter_rank
FROM flags f
LEFT JOIN authors a ON a.platform = f.platform AND a.author = f.author
WHERE f.kind = 'promoter' AND f.latest_day >= {{ since }}
GROUP BY f.platform, f.author, a.latest_followers;

-- repeat_detractors: authors with two or more negative posts in the last 30 days (in one
-- thread or several), with how many of their flags are still open, closed, or came back after
-- a closed one (relapses).
DROP VIEW IF EXISTS repeat_detractors;
CREATE VIEW repeat_detractors AS
SELECT f.platform, f.author, a.latest_followers AS followers,
       COUNT(*) AS detractor_flags,
       SUM(f.posts) AS detractor_posts,
       MIN(f.compound) AS worst_compound,
       MIN(f.created_at) AS first_post_at,
       MAX(f.latest_at) AS last_post_at,
       SUM(CASE WHEN f.status IN ('open', 'in_progress') THEN 1 ELSE 0 END) AS open_flags,
       SUM(CASE WHEN f.status IN ('resolved', 'dismissed') THEN 1 ELSE 0 END) AS closed_flags,
       SUM(CASE WHEN f.previous_mention_id IS NOT NULL THEN 1 ELSE 0 END) AS relapses,
       MAX(CASE WHEN f.status IN ('open', 'in_progress') THEN f.priority END) AS top_open_priority
FROM flags f
LEFT JOIN authors a ON a.platform = f.platform AND a.author = f.author
WHERE f.kind = 'detractor' AND f.latest_day >= {{ since }}
GROUP BY f.platform, f.author, a.latest_followers
HAVING SUM(f.posts) >= 2;
