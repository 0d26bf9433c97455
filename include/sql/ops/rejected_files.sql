-- Rejected workbook files still open (the district's to fix: a corrected file of the
-- same name read, or the file taken out of the inbox), then those that the load of run
-- %(run_id)s found resolved (none when it is NULL: the dashboard shows the open ones).
SELECT district_code, file_name, problem_kind, problem, rejected_at,
       run_id AS first_run_id, last_run_id, last_rejected_at,
       resolved_at, resolved_by_run, resolution
FROM recon.rejected_file
WHERE resolved_at IS NULL
UNION ALL
SELECT district_code, file_name, problem_kind, problem, rejected_at,
       run_id, last_run_id, last_rejected_at,
       resolved_at, resolved_by_run, resolution
FROM recon.rejected_file
WHERE resolved_at IS NOT NULL AND resolved_by_run = %(run_id)s
ORDER BY district_code, file_name, rejected_at;
