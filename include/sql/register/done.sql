-- Which of the keys a district waits for are answered.
SELECT ask_key
  FROM recon.register_ask
 WHERE run_id = %(run_id)s AND kind = %(kind)s AND ask_key = ANY(%(keys)s)
   AND answered_at IS NOT NULL;
