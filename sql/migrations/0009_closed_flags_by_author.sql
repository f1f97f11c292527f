-- 0009: the flags people closed, by author and kind in time order, for the flag step.

-- A new group of posts follows the author's last flag of its kind that people closed (its
-- previous_mention_id: "again after an earlier flag was closed"). That lookup went through
-- flags_author (platform, author, kind) and read every flag of the author and kind, open or
-- closed, to find the latest closed one, once for each of the night's new groups: for an
-- author with many flags, all of them for each of their threads, more every night they were
-- active (1,000 new threads of an author with 1,000 flags, half closed: a million rows).
-- This index holds only the closed flags, in the order of the lookup, which reads one entry.
-- New flags are open, so the night's inserts never write it; a status people change does.
CREATE INDEX IF NOT EXISTS flags_closed
    ON flags (platform, author, kind, latest_at, mention_id)
    WHERE status IN ('resolved', 'dismissed');
