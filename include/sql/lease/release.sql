-- Release a run's lease of one district (in the load's transaction: the row stays locked
-- until it commits). Returns the row released, or none when the run no longer holds it.
-- Parameters: district_code, run_id.
DELETE FROM recon.district_lease
WHERE district_code = %(district_code)s AND run_id = %(run_id)s
RETURNING district_code;
