-- A repeat of an open incident: one more occurrence, its stage and run added (each once),
-- its severity as the caller decided. Parameters: incident_id, severity, stage, run_id, error.
UPDATE ops.incident SET
    occurrences = occurrences + 1,
    last_seen = now(),
    severity = %(severity)s,
    last_error = %(error)s,
    stages = CASE WHEN %(stage)s = ANY(stages) THEN stages ELSE stages || %(stage)s::text END,
    run_ids = CASE WHEN %(run_id)s = ANY(run_ids) THEN run_ids ELSE run_ids || %(run_id)s::text END
WHERE incident_id = %(incident_id)s
RETURNING incident_id, kind, district_code, severity, state, first_seen, last_seen, occurrences, stages, run_ids, last_error, closed_at, closed_by_run, closed_by_stage, open_for;
