-- The open incidents, most severe and oldest first, for the daily digest; leave_out_stage
-- (or null): not the run-wide incidents of that stage. Parameters: leave_out_stage.
SELECT incident_id, kind, district_code, severity, state, first_seen, last_seen, occurrences,
       stages, run_ids, last_error, closed_at, closed_by_run, closed_by_stage, open_for
FROM ops.incident
WHERE state = 'open'
  AND NOT (district_code IS NULL AND %(leave_out_stage)s::text = ANY(stages))
ORDER BY array_position(ARRAY['critical', 'high', 'medium', 'low'], severity), first_seen;
