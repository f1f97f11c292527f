-- 0005: mentions' secondary indexes shaped for what reads them, and cheaper for what writes them.

-- The reply and thread indexes hold only the rows that have a value. Every lookup through them
-- asks for one value ("in_reply_to_id = x", "thread_root_id = x", which imply IS NOT NULL, so
-- both planners use the partial indexes); the posts that are no reply (two thirds of the
-- benchmark's night) only cost the nightly load: maintaining their NULL entries took about 3.7
-- of the 17.8 seconds of inserting one million mentions.
DROP INDEX IF EXISTS mentions_reply_to;
CREATE INDEX IF NOT EXISTS mentions_reply_to ON mentions (platform, in_reply_to_id)
    WHERE in_reply_to_id IS NOT NULL;
DROP INDEX IF EXISTS mentions_thread;
CREATE INDEX IF NOT EXISTS mentions_thread ON mentions (platform, thread_root_id)
    WHERE thread_root_id IS NOT NULL;

-- An author's posts by day: the flag step counts each flagged author's posts of the last 7 days
-- (repetition). Through (platform, author) it read the author's whole history to keep a week of
-- it, so its cost grew with the warehouse (a 200,000-mention night: 2.5 s of flagging on an
-- empty warehouse, 5.3 s on ten million earlier mentions); with the day in the key it reads the
-- week. Reads by author alone use the same index.
DROP INDEX IF EXISTS mentions_author;
CREATE INDEX IF NOT EXISTS mentions_author ON mentions (platform, author, day);
