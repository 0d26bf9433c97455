-- Mark the keys of register_keys answered, those still claimed by the district (a claim
-- another district took over is its to answer). Returns the keys whose answers the
-- district now writes, in the same transaction.
WITH mine AS (
    SELECT a.ask_key
      FROM recon.register_ask a
      JOIN register_keys k USING (ask_key)
     WHERE a.run_id = %(run_id)s AND a.kind = %(kind)s
       AND a.claimed_by = %(claimed_by)s AND a.answered_at IS NULL
     ORDER BY a.ask_key
       FOR UPDATE OF a
)
UPDATE recon.register_ask a
   SET answered_at = clock_timestamp()
  FROM mine
 WHERE a.run_id = %(run_id)s AND a.kind = %(kind)s AND a.ask_key = mine.ask_key
RETURNING a.ask_key;
