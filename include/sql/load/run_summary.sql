-- The run's summary for a district: what recon.verdict holds for the run and district once
-- the load has written (a retried load rewrites its own verdicts, so counts nothing twice;
-- a district read again in the same run adds its new records). Parameters: run_id,
-- district_code, stats.
INSERT INTO recon.run_summary AS rs
    (run_id, district_code, extracted, loaded, review, quarantined, stats)
SELECT %(run_id)s, %(district_code)s, count(*),
       count(*) FILTER (WHERE status = 'loaded'),
       count(*) FILTER (WHERE status = 'review'),
       count(*) FILTER (WHERE status = 'quarantined'),
       %(stats)s::jsonb
FROM recon.verdict
WHERE run_id = %(run_id)s AND district_code = %(district_code)s
ON CONFLICT (run_id, district_code) DO UPDATE SET
    extracted = EXCLUDED.extracted, loaded = EXCLUDED.loaded, review = EXCLUDED.review,
    quarantined = EXCLUDED.quarantined, stats = EXCLUDED.stats, finished_at = now();
