-- Claim the keys of register_keys for a district: those nobody claimed yet, the district's
-- own that are still unanswered (a retried task), and those whose claim went stale (its
-- task died or stalls). Keys in order, so that two districts claiming overlapping keys
-- wait for each other instead of deadlocking. Returns the keys claimed.
INSERT INTO recon.register_ask AS a (run_id, kind, ask_key, claimed_by)
SELECT %(run_id)s, %(kind)s, k.ask_key, %(claimed_by)s
  FROM register_keys k
 ORDER BY k.ask_key
ON CONFLICT (run_id, kind, ask_key) DO UPDATE
   SET claimed_by = EXCLUDED.claimed_by, claimed_at = clock_timestamp()
 WHERE a.answered_at IS NULL
   AND (a.claimed_by = EXCLUDED.claimed_by
        OR a.claimed_at < clock_timestamp() - make_interval(secs => %(stale_s)s))
RETURNING a.ask_key;
