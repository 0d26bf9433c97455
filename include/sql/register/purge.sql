-- What other runs left (a run whose report never ran), once no run can still be going:
-- older than the run timeout (HOTICH_RUN_TIMEOUT_MINUTES).
DELETE FROM recon.register_answer
 WHERE run_id <> %(run_id)s
   AND written_at < clock_timestamp() - make_interval(mins => %(older_than_minutes)s);
DELETE FROM recon.register_ask
 WHERE run_id <> %(run_id)s
   AND claimed_at < clock_timestamp() - make_interval(mins => %(older_than_minutes)s);
