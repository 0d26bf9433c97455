-- The open incident of a kind in a district (null: run-wide), locked; first serialises
-- everyone recording the same kind and district, so that two tasks failing at once make
-- one incident. Parameters (psycopg2 named): kind, district.
SELECT pg_advisory_xact_lock(hashtext('hotich.incident'), hashtext(%(kind)s::text || '/' || coalesce(%(district)s, '')));
SELECT incident_id, kind, district_code, severity, state, first_seen, last_seen, occurrences, stages, run_ids, last_error, closed_at, closed_by_run, closed_by_stage, open_for
FROM ops.incident
WHERE state = 'open' AND kind = %(kind)s AND coalesce(district_code, '') = coalesce(%(district)s, '')
FOR UPDATE;
