-- Take a district's lease for a run, or renew the run's own; a lease of another run only
-- once it has expired. Returns the lease taken, or no row when another run holds it.
-- Parameters (psycopg2 named): district_code, run_id, expiry_s.
INSERT INTO recon.district_lease AS l (district_code, run_id, taken_at, expires_at)
VALUES (%(district_code)s, %(run_id)s, now(), now() + %(expiry_s)s * interval '1 second')
ON CONFLICT (district_code) DO UPDATE SET
    run_id = EXCLUDED.run_id,
    taken_at = CASE WHEN l.run_id = EXCLUDED.run_id THEN l.taken_at ELSE EXCLUDED.taken_at END,
    expires_at = EXCLUDED.expires_at
WHERE l.run_id = EXCLUDED.run_id OR l.expires_at < now()
RETURNING run_id, taken_at, expires_at;
