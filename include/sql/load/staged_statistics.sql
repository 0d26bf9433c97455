-- The staging tables' row counts, and statistics of the columns the load's joins and
-- filters use, before progress_delta.sql and apply.sql (decision 0030). Autovacuum never
-- analyzes a temporary table; without this the planner took a day's chunk of 2,400
-- verdicts into a hash join over all of recon.waiting_person (292,000 rows, 120-210 ms)
-- instead of one index lookup per record.
ANALYZE stage_verdict (source_key, status);
ANALYZE stage_registration (source_key);
