-- A stage succeeded for a district (null: run-wide): close the district's open incidents
-- that this stage raised, but the kinds in keep (raised by this same success: a run that
-- finished degraded). Parameters: district, stage, run_id, keep (text[]).
UPDATE ops.incident SET
    state = 'closed',
    closed_at = now(),
    closed_by_run = %(run_id)s,
    closed_by_stage = %(stage)s
WHERE state = 'open'
  AND coalesce(district_code, '') = coalesce(%(district)s, '')
  AND %(stage)s = ANY(stages)
  AND NOT kind = ANY(%(keep)s::text[])
RETURNING incident_id, kind, district_code, severity, state, first_seen, last_seen, occurrences, stages, run_ids, last_error, closed_at, closed_by_run, closed_by_stage, open_for;
