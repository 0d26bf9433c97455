-- V014: the run's register answer store (V010, decision 0015) without WAL, and room on
-- each page for marking a claim answered in place (decision 0024).
-- Its rows live for one run: the run's report deletes them, the next run's plan step what
-- a run left. A crash of the server empties an unlogged table, which the store survives:
-- a task that finds its claims gone claims and asks its keys again. Unlogged, the register's
-- answers (personal data) are also never in the WAL, its archives or a standby.
-- Fill factor 50: marking a claim answered (answered.sql) then rewrites the row on its own
-- page without new index entries (a HOT update) instead of moving it.
-- Idempotent: SET UNLOGGED on an unlogged table, and the same fill factor, change nothing.

ALTER TABLE recon.register_ask SET UNLOGGED;
ALTER TABLE recon.register_answer SET UNLOGGED;
ALTER TABLE recon.register_ask SET (fillfactor = 50);
