-- The source keys the district's latest loaded run quarantined with a reason code (the
-- quality page's failing keys, for users who may see them). Parameters: district_code,
-- reason, limit.
WITH latest AS (
    SELECT run_id FROM ops.quality_result
    WHERE district_code = %(district_code)s
    ORDER BY recorded_at DESC LIMIT 1
)
SELECT l.run_id, l.record_type, l.source_key, l.reasons, count(*) OVER () AS total
FROM recon.ledger l JOIN latest USING (run_id)
WHERE l.district_code = %(district_code)s AND %(reason)s = ANY (l.reasons)
ORDER BY l.source_key
LIMIT %(limit)s;
