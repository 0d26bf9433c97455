-- A release used by the run whose gate it passed (once). Parameters: release_id, run_id.
UPDATE ops.quality_release
SET used_by_run = %(run_id)s, used_at = coalesce(used_at, now())
WHERE release_id = %(release_id)s;
