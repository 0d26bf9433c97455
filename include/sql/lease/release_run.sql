-- Release every lease a run still holds (its report, or a run found interrupted).
-- Parameters: run_id. Returns the districts released.
DELETE FROM recon.district_lease WHERE run_id = %(run_id)s
RETURNING district_code;
