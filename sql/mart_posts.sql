-- mart_posts: one row per mention of the days in :days and the platforms in :platforms (bound
-- as expanding lists), with what the marts need to know about it, worked out once for all three
-- marts (a temporary table of the marts' transaction; the marts read it instead of rescanning
-- mentions):
-- asks_brand: a public question to the brand (it names the brand or replies to the brand's post);
-- detractor: a public post at or below the detractor rule's compound (:detractor_max, from
-- flags.detractor_max_compound: every such post, also the later posts a grouped flag holds);
-- first_brand_reply_at: the brand's first reply to it.
-- Each lookup is one index probe for one of the days' posts (a scalar subquery per row: never a
-- join the planner could turn into a scan of the warehouse; per_row, OFFSET 0 on PostgreSQL,
-- keeps the EXISTS from being run hashed over every brand post), so the cost follows the days.
INSERT INTO mart_posts (day, platform, author, is_brand, label, compound, created_at,
                        asks_brand, detractor, first_brand_reply_at)
SELECT m.day, m.platform, m.author, CASE WHEN m.is_brand THEN 1 ELSE 0 END, m.label, m.compound,
       m.created_at,
       CASE WHEN NOT m.is_brand AND m.is_question AND (m.mentions_brand OR EXISTS (
                SELECT 1 FROM mentions p
                WHERE p.platform = m.platform AND p.mention_id = m.in_reply_to_id
                  AND p.is_brand {{ per_row }}))
            THEN 1 ELSE 0 END,
       CASE WHEN NOT m.is_brand AND m.compound <= :detractor_max THEN 1 ELSE 0 END,
       CASE WHEN NOT m.is_brand THEN (
                SELECT MIN(r.created_at) FROM mentions r
                WHERE r.platform = m.platform AND r.in_reply_to_id = m.mention_id
                  AND r.is_brand) END
FROM mentions m
WHERE m.day IN :days AND m.platform IN :platforms;
