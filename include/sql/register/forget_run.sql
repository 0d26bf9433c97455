-- The run is over: its register answers (personal data) go.
DELETE FROM recon.register_answer WHERE run_id = %(run_id)s;
DELETE FROM recon.register_ask WHERE run_id = %(run_id)s;
