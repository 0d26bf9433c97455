-- A run's verdicts per district, status and reason code (a record with two codes counts
-- under both; one without a code under the empty code). Parameters: run_id.
SELECT district_code, status, coalesce(code, '') AS code, count(*) AS records
FROM recon.verdict LEFT JOIN LATERAL unnest(reasons) AS code ON true
WHERE run_id = %(run_id)s
GROUP BY district_code, status, coalesce(code, '')
ORDER BY 1, 2, 3;
