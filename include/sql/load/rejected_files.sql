-- The files this run's extract of a workbook district rejected: %(rejected)s is a JSON
-- array of {file_name, content_hash, problem, problem_kind}. A file rejected again (same
-- name and content) keeps its first run and time (since) and gets this run as its last;
-- one rejected again after its rejection was resolved (brought back) is open again, since now.
INSERT INTO recon.rejected_file AS r
    (district_code, file_name, content_hash, problem, problem_kind, run_id, last_run_id)
SELECT %(district_code)s, f.file_name, f.content_hash, f.problem, f.problem_kind,
       %(run_id)s, %(run_id)s
FROM jsonb_to_recordset(%(rejected)s::jsonb)
     AS f(file_name text, content_hash text, problem text, problem_kind text)
ON CONFLICT (district_code, file_name, content_hash) DO UPDATE SET
    problem          = EXCLUDED.problem,
    problem_kind     = EXCLUDED.problem_kind,
    last_run_id      = EXCLUDED.last_run_id,
    last_rejected_at = now(),
    run_id           = CASE WHEN r.resolved_at IS NULL THEN r.run_id ELSE EXCLUDED.run_id END,
    rejected_at      = CASE WHEN r.resolved_at IS NULL THEN r.rejected_at ELSE now() END,
    resolved_at      = NULL,
    resolved_by_run  = NULL,
    resolution       = NULL;
