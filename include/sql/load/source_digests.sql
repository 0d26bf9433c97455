-- Keep a legacy district's server digests of the rows this load's extract read (staged in
-- stage_source_digest), in the load's transaction (V013, decision 0020).
-- Parameters (psycopg2 named): district_code, run_id.
INSERT INTO recon.source_digest AS d (district_code, local_key, digest, run_id)
SELECT %(district_code)s, local_key, digest, %(run_id)s FROM stage_source_digest
ON CONFLICT (district_code, local_key) DO UPDATE SET
    digest = EXCLUDED.digest, run_id = EXCLUDED.run_id;
