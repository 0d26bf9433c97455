-- The keys one statement of the answer store works on, COPYed in by hotich.register.shared.
CREATE TEMPORARY TABLE IF NOT EXISTS register_keys (ask_key text PRIMARY KEY) ON COMMIT DROP;
