-- The district is still asking: its unanswered claims are not stale.
UPDATE recon.register_ask
   SET claimed_at = clock_timestamp()
 WHERE run_id = %(run_id)s AND kind = %(kind)s AND claimed_by = %(claimed_by)s
   AND answered_at IS NULL;
