-- Entries of a district closed since its last fix list whose record waits no longer (a
-- later version was loaded or went to review): "fixed since the last list"; none before
-- the first list. Parameters: district_code, run_id (this run's list, not yet written).
WITH last AS (
    SELECT max(written_at) AS at FROM recon.fix_list
    WHERE district_code = %(district_code)s AND run_id <> %(run_id)s  -- a retry: the list before
)
SELECT count(DISTINCT q.source_key) AS fixed
FROM recon.quarantine q, last
WHERE q.district_code = %(district_code)s
  AND q.closed_at IS NOT NULL
  AND q.closed_at > last.at
  AND NOT EXISTS (
      SELECT FROM recon.quarantine o
      WHERE o.source_key = q.source_key AND o.closed_at IS NULL
  );
