-- A district's releases, newest first (who, when, why, which run used it).
-- Parameters: district_code.
SELECT release_id, released_by, released_at, reason, blocked_run, used_by_run, used_at
FROM ops.quality_release
WHERE district_code = %(district_code)s
ORDER BY released_at DESC
LIMIT 20;
