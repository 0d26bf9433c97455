-- The keys a district waits for, as the store has them: 'answered' (read their answers),
-- 'stale' (their claim was not confirmed for stale_s: take it over) or 'claimed' (another
-- district is asking them). A key missing from the result was given back (release.sql):
-- free to claim. Read only: a district waiting takes no lock and writes nothing until
-- there is something to take over.
SELECT ask_key,
       CASE WHEN answered_at IS NOT NULL THEN 'answered'
            WHEN claimed_at < clock_timestamp() - make_interval(secs => %(stale_s)s) THEN 'stale'
            ELSE 'claimed' END
  FROM recon.register_ask
 WHERE run_id = %(run_id)s AND kind = %(kind)s AND ask_key = ANY(%(keys)s);
