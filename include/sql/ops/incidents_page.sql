-- The incidents page (/hotich/incidents): every open incident, and those closed in the
-- last `days` days; open first, most severe first, newest first. Parameters: days.
SELECT incident_id, kind, district_code, severity, state, first_seen, last_seen, occurrences,
       cardinality(run_ids) AS runs, last_error, what_en, what_vi, action_en, action_vi,
       closed_at, closed_by_run, open_for
FROM ops.incident
WHERE state = 'open' OR closed_at > now() - %(days)s * interval '1 day'
ORDER BY state DESC, array_position(ARRAY['critical', 'high', 'medium', 'low'], severity),
         first_seen DESC
LIMIT 500;
