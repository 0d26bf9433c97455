-- A district's quarantine rates of its last loaded runs with enough records, newest first
-- (hotich.quality.baseline). Parameters: district_code, run_id (left out), runs, min_records.
SELECT quarantined::float8 / extracted
FROM recon.run_summary
WHERE district_code = %(district_code)s AND run_id <> %(run_id)s AND extracted >= %(min_records)s
ORDER BY finished_at DESC
LIMIT %(runs)s;
