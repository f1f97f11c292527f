-- The views, dropped and created again after the migrations whenever this file changes (its
-- checksum is kept in schema_version under version 0). Views hold no data, so that is safe.

-- open_flags: what community managers work through each morning, most urgent first.
DROP VIEW IF EXISTS open_flags;
CREATE VIEW open_flags AS
SELECT f.priority, f.kind, f.status, f.assignee, f.platform, f.author, m.author_followers,
       f.created_at, m.text, m.url, f.reason, f.note, f.mention_id, f.day,
       m.thread_root_id,
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
