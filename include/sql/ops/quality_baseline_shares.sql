-- Per reason code, the highest share of its evaluated records a rule of it failed in the
-- same runs as quality_baseline_rates.sql (quality history, ops.quality_result).
-- Parameters: district_code, run_id (left out), runs, min_records.
WITH runs AS (
    SELECT run_id
    FROM recon.run_summary
    WHERE district_code = %(district_code)s AND run_id <> %(run_id)s
      AND extracted >= %(min_records)s
    ORDER BY finished_at DESC
    LIMIT %(runs)s
)
SELECT q.reason, max(q.failing::float8 / q.evaluated)
FROM ops.quality_result q JOIN runs USING (run_id)
WHERE q.district_code = %(district_code)s AND q.evaluated > 0
GROUP BY q.reason;
