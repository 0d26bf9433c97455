-- The dashboard's aggregates (V009) moved by what this load is about to write: run in the
-- load's transaction after the staging tables are filled and BEFORE apply.sql (it reads
-- the state the load replaces). Set-based, one statement per table: the old contribution
-- of every record the load rewrites is taken off, the new one added. Parameters: run_id.

-- Now, by status: a record read before leaves its old status.
INSERT INTO ops.district_status AS t (district_code, status, records)
SELECT district_code, status, sum(n) FROM (
    SELECT st.district_code, st.last_status AS status, -1 AS n
    FROM stage_verdict s JOIN recon.source_state st USING (source_key)
    UNION ALL
    SELECT district_code, status, 1 FROM stage_verdict
) d GROUP BY 1, 2
ON CONFLICT (district_code, status) DO UPDATE SET records = t.records + EXCLUDED.records;

-- Registrations by year: a registration replaced whole leaves its old year.
INSERT INTO ops.registration_year AS t (district_code, year, entries)
SELECT district_code, year, sum(n) FROM (
    SELECT r.district_code, extract(year FROM r.registration_date)::int AS year, -1 AS n
    FROM stage_registration s JOIN civil.registration r USING (source_key)
    UNION ALL
    SELECT district_code, extract(year FROM registration_date)::int, 1 FROM stage_registration
) d GROUP BY 1, 2
ON CONFLICT (district_code, year) DO UPDATE SET entries = t.entries + EXCLUDED.entries;

-- Verdicts per day: a verdict this run wrote before (the district read again in the same
-- run) is rewritten today.
INSERT INTO ops.daily_progress AS t (day, district_code, status, records)
SELECT day, district_code, status, sum(n) FROM (
    SELECT (v.processed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, v.district_code,
           v.status, -1 AS n
    FROM stage_verdict s JOIN recon.verdict v
        ON v.run_id = %(run_id)s AND v.source_key = s.source_key
    UNION ALL
    SELECT (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, district_code, status, 1
    FROM stage_verdict
) d GROUP BY 1, 2, 3
ON CONFLICT (day, district_code, status) DO UPDATE SET records = t.records + EXCLUDED.records;

-- First loads: a loaded record no run (this one included, when it read the district
-- again) loaded before.
INSERT INTO ops.daily_first_load AS t (day, district_code, year, entries)
SELECT (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, r.district_code,
       extract(year FROM r.registration_date)::int, count(*)
FROM stage_registration r
JOIN stage_verdict s USING (source_key)
WHERE s.status = 'loaded'
  AND NOT EXISTS (SELECT FROM recon.verdict e
                  WHERE e.source_key = r.source_key AND e.status = 'loaded')
GROUP BY 1, 2, 3
ON CONFLICT (day, district_code, year) DO UPDATE SET entries = t.entries + EXCLUDED.entries;
