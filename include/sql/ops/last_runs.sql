-- Per district: its last finished run. A district whose runs fail stops advancing here.
SELECT DISTINCT ON (district_code)
       district_code, run_id, finished_at, extracted, loaded, review, quarantined
FROM recon.run_summary
ORDER BY district_code, finished_at DESC;
