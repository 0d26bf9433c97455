-- Mark the keys of register_keys answered, those still claimed by the district (a claim
-- another district took over is its to answer). Returns the keys whose answers the
-- district now writes, in the same transaction. One join on the keys' primary key: a CTE
-- joined back here was planned as a nested loop over fresh rows (quadratic).
UPDATE recon.register_ask a
   SET answered_at = clock_timestamp()
  FROM register_keys k
 WHERE a.run_id = %(run_id)s AND a.kind = %(kind)s AND a.ask_key = k.ask_key
   AND a.claimed_by = %(claimed_by)s AND a.answered_at IS NULL
RETURNING a.ask_key;
