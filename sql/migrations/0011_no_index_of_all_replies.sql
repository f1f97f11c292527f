-- 0011: no index of every reply by its parent; the brand's replies and the threads keep theirs.

-- mentions_reply_to (platform, in_reply_to_id) WHERE in_reply_to_id IS NOT NULL took one entry
-- for every reply the nightly load inserts (a third of the benchmark's night), and no
-- statement of the pipeline, its views or its marts read it: every lookup by parent asks for
-- the brand's replies ("in_reply_to_id = x AND is_brand"), which mentions_brand_reply answers
-- (migration 0004), and the posts of a thread go through mentions_thread. Inserting the 1M
-- night's 950,547 mentions into empty copies of the table, alternating, took 8.5-10.2 s
-- without it (mean 9.6) against 10.0-12.5 s with it (mean 11.5): about 1.9 s of CPU a night,
-- and its WAL.
-- "The replies to x" is still one index range: the posts of x's thread whose in_reply_to_id
-- is x, the thread being x's own root or x itself (when x starts it, or arrived after the
-- reply); docs/warehouse.md.
DROP INDEX IF EXISTS mentions_reply_to;
