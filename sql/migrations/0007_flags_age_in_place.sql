-- 0007: the nightly ageing of flags rewrites rows in place (HOT updates), not every index.

-- Every night the flag step re-ranks the flags of the last week: their recency, and with it
-- their priority, falls each day. Both columns were indexed (flags_status_priority, and
-- flags_fresh's predicate), so PostgreSQL wrote each re-ranked flag as a new row version with a
-- new entry in all six indexes of flags: on a warehouse of ten million mentions and 2.7 million
-- flags, 322,000 re-ranked flags took 10.5 s. With no index on either column, and room on each
-- page for the new version, an update is heap-only: 1.1 s for the same flags.
--
-- The flags whose rank still decays are now found by their latest day (every flag with a
-- latest post in the last week: open or closed, so a flag people reopen ranks as if it had
-- never been closed). Lists ordered by priority sort the flags they read, as they mostly did:
-- an ordered index on priority would have to be rewritten for every flag every night.
DROP INDEX IF EXISTS flags_status_priority;
DROP INDEX IF EXISTS flags_fresh;
CREATE INDEX IF NOT EXISTS flags_latest ON flags (latest_day);
-- Closed flags were not re-ranked before: those past the week get the recency every flag past
-- it now has (their priority stays what it was when people closed them).
UPDATE flags SET recency = 0
WHERE recency > 0 AND status IN ('resolved', 'dismissed')
{% if dialect == 'postgresql' %}
  AND latest_day <= (SELECT MAX(latest_day) FROM flags) - 7;
-- Half of each page free: a flag is re-ranked on each night of its week, all the flags of one
-- night (which share pages) on the same night; the versions of the night before are pruned
-- when the page is next read. Pages written from now on keep the room.
ALTER TABLE flags SET (fillfactor = 50);
{% else %}
  AND latest_day <= date((SELECT MAX(latest_day) FROM flags), '-7 days');
{% endif %}
