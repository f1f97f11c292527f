-- 0008: no planner statistics for the free-text columns.

-- The load ends with ANALYZE mentions and the flag step with ANALYZE flags, so the next
-- statements plan with the night in the statistics (docs/benchmark.md). Most of that ANALYZE
-- went into the columns of free text: a sample of 30,000 posts' texts and URLs, sorted in
-- the database's collation for histograms no statement uses (nothing joins, groups or ranges
-- on them; a LIKE on them is planned with the default estimate either way). Without them,
-- ANALYZE mentions on the benchmark's 1M night takes 0.33 s instead of 0.38-0.52 s, on the
-- critical path of every night. SQLite keeps no such statistics.
{% if dialect == 'postgresql' %}
ALTER TABLE mentions ALTER COLUMN text SET STATISTICS 0;
ALTER TABLE mentions ALTER COLUMN url SET STATISTICS 0;
ALTER TABLE mentions ALTER COLUMN score_note SET STATISTICS 0;
ALTER TABLE flags ALTER COLUMN reason SET STATISTICS 0;
ALTER TABLE flags ALTER COLUMN note SET STATISTICS 0;
{% endif %}
