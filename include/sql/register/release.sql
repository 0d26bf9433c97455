-- The district's asks failed: give back its unanswered claims at once, so that another
-- district (or its own retry) claims and asks them without waiting for them to go stale.
DELETE FROM recon.register_ask
 WHERE run_id = %(run_id)s AND claimed_by = %(claimed_by)s AND answered_at IS NULL;
