-- The last 30 finished runs of every district, oldest first, with the size of the fix list
-- each left (the reports' trend). Parameters: none.
SELECT district_code, run_id, finished_at, extracted, loaded, review, quarantined, entries
FROM (
    SELECT s.district_code, s.run_id, s.finished_at, s.extracted, s.loaded, s.review,
           s.quarantined, f.entries,
           row_number() OVER (PARTITION BY s.district_code ORDER BY s.finished_at DESC) AS n
    FROM recon.run_summary s
    LEFT JOIN recon.fix_list f ON f.district_code = s.district_code AND f.run_id = s.run_id
) r
WHERE n <= 30
ORDER BY district_code, finished_at;
