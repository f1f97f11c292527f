-- 0010: one index of flags by author and thread, in place of flags_thread and flags_author.

-- The flag step looks up a group's flags by (platform, thread, author, kind): the open flag
-- that holds the night's posts, the untouched flags of a thread to recompute (without kind),
-- the closed flags whose posts are frozen. flags_thread (platform, thread_root_id, author, kind)
-- answers each in one probe, but PostgreSQL's planner takes both indexes for about one row
-- per probe and picked the smaller flags_author (platform, author, kind), filtering by thread:
-- every flag of the author for each of their threads. For an author with many flags that grows
-- with the warehouse; on 50,000 mentions a day it read 0.3-0.6 million flags per statement on
-- the second night, twice that on a rerun.
-- With the thread after the author, one index answers the lookups by group (all four columns),
-- by thread and author (its first three), and by author (its first two: the author's open flags
-- the flag step re-ranks, an analyst's "this author's flags"). Nothing reads flags by thread
-- alone.
-- One index fewer for every flag the nightly run inserts.
DROP INDEX IF EXISTS flags_thread;
DROP INDEX IF EXISTS flags_author;
CREATE INDEX IF NOT EXISTS flags_author ON flags (platform, author, thread_root_id, kind);
