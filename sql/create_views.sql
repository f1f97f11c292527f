-- open_flags: what community managers work through each morning, most urgent first.
DROP VIEW IF EXISTS open_flags;
CREATE VIEW open_flags AS
SELECT f.priority, f.kind, f.status, f.assignee, f.platform, f.author, m.author_followers,
       f.created_at, m.text, m.url, f.reason, f.note, f.mention_id, f.day
FROM flags f
JOIN mentions m ON m.platform = f.platform AND m.mention_id = f.mention_id
WHERE f.status IN ('open', 'in_progress');
