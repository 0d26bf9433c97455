-- The release waiting for a district (or the one this run already used: a district
-- validated again in the same run), locked until the gate's row is written; at most one.
-- Parameters: district_code, run_id.
SELECT release_id, released_by, reason
FROM ops.quality_release
WHERE district_code = %(district_code)s
  AND (used_by_run IS NULL OR used_by_run = %(run_id)s)
ORDER BY used_by_run IS NULL, released_at
LIMIT 1
FOR UPDATE;
