-- Mark the keys answered, those still claimed by the district (a claim another district
-- took over is its to answer). Returns the keys whose answers the district now writes, in
-- the same transaction. The keys as an array, so that each is found by the primary key:
-- joined from a temporary table, the planner scanned the whole run's claims for every
-- chunk (quadratic in the run's keys: benchmarks/RESULTS.md, "The register answer store
-- on its own").
UPDATE recon.register_ask
   SET answered_at = clock_timestamp()
 WHERE run_id = %(run_id)s AND kind = %(kind)s AND ask_key = ANY(%(keys)s)
   AND claimed_by = %(claimed_by)s AND answered_at IS NULL
RETURNING ask_key;
