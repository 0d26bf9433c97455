-- A district's quality history (the page /hotich/quality/<district>): per run of its last
-- `runs` runs with results and per reason code, the highest share of its evaluated
-- records a rule of it failed, and the records failing its rules. Parameters:
-- district_code, runs.
WITH runs AS (
    SELECT run_id, min(recorded_at) AS recorded_at
    FROM ops.quality_result
    WHERE district_code = %(district_code)s
    GROUP BY run_id
    ORDER BY min(recorded_at) DESC
    LIMIT %(runs)s
)
SELECT r.run_id, r.recorded_at, q.reason,
       coalesce(max(q.failing::float8 / nullif(q.evaluated, 0)), 0) AS share,
       sum(q.failing) AS failing
FROM ops.quality_result q JOIN runs r USING (run_id)
WHERE q.district_code = %(district_code)s
GROUP BY r.run_id, r.recorded_at, q.reason
ORDER BY r.recorded_at, q.reason;
