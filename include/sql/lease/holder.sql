-- Who holds a district's lease. Parameters: district_code.
SELECT run_id, taken_at, expires_at FROM recon.district_lease
WHERE district_code = %(district_code)s;
