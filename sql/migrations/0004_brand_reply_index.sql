-- 0004: an index of the brand's replies only. The marts ask, for each of a day's posts, when the
-- brand first replied to it; mentions_reply_to answers that by visiting every reply to the post
-- and its row to check is_brand. This partial index holds only the brand's replies (a small
-- share of mentions), with their time, so each question is one probe of a small, cached index
-- (the planners use it for "in_reply_to_id = x AND is_brand": both imply its condition).
CREATE INDEX IF NOT EXISTS mentions_brand_reply ON mentions (platform, in_reply_to_id, created_at)
    WHERE is_brand AND in_reply_to_id IS NOT NULL;
