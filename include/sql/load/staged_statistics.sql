-- The staging tables' row counts, and statistics of the columns the load's joins and
-- filters use, before progress_delta.sql and apply.sql (decision 0030). Autovacuum never
-- analyzes a temporary table; without this the planner took a district's 2,400 staged
-- verdicts of a day into a hash join over all of recon.waiting_person (292,000 rows,
-- 120-210 ms) instead of one index lookup per record. A sample of 3,000 rows (target 10) is enough for
-- unique keys and a handful of statuses: 140,000 staged rows in 0.022 s instead of 0.137 s.
SET LOCAL default_statistics_target = 10;
ANALYZE stage_verdict (source_key, status);
ANALYZE stage_registration (source_key);
RESET default_statistics_target;
