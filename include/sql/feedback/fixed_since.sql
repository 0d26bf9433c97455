-- Entries of a district closed since its last fix list whose record waits no longer (a
-- later version was loaded or went to review): "fixed since the last list". Without a
-- last list, every such entry ever closed. Parameters: district_code.
WITH last AS (
    SELECT max(written_at) AS at FROM recon.fix_list WHERE district_code = %(district_code)s
)
SELECT count(DISTINCT q.source_key) AS fixed
FROM recon.quarantine q, last
WHERE q.district_code = %(district_code)s
  AND q.closed_at IS NOT NULL
  AND (last.at IS NULL OR q.closed_at > last.at)
  AND NOT EXISTS (
      SELECT FROM recon.quarantine o
      WHERE o.source_key = q.source_key AND o.closed_at IS NULL
  );
