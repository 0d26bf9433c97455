-- Open an incident. Parameters: kind, district, severity, stage, run_id, error, what_en,
-- what_vi, action_en, action_vi.
INSERT INTO ops.incident (kind, district_code, severity, stages, run_ids, last_error,
                          what_en, what_vi, action_en, action_vi)
VALUES (%(kind)s, %(district)s, %(severity)s, ARRAY[%(stage)s], ARRAY[%(run_id)s], %(error)s,
        %(what_en)s, %(what_vi)s, %(action_en)s, %(action_vi)s)
RETURNING incident_id, kind, district_code, severity, state, first_seen, last_seen, occurrences, stages, run_ids, last_error, closed_at, closed_by_run, closed_by_stage, open_for;
