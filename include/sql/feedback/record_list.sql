-- Record that a district's fix list was written (a retried task rewrites its own row).
-- Parameters: district_code, run_id, entries, problems, fixed, oldest_since.
INSERT INTO recon.fix_list AS f (district_code, run_id, entries, problems, fixed, oldest_since)
VALUES (%(district_code)s, %(run_id)s, %(entries)s, %(problems)s, %(fixed)s, %(oldest_since)s)
ON CONFLICT (district_code, run_id) DO UPDATE SET
    written_at = now(), entries = EXCLUDED.entries, problems = EXCLUDED.problems,
    fixed = EXCLUDED.fixed, oldest_since = EXCLUDED.oldest_since;
