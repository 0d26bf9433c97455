-- V006: the fix lists sent back to the districts (hotich.feedback, issue 12): one row per
-- district and run that wrote one, so that the next list can say how many entries were
-- fixed since, and the reports can draw the backlog over the last runs. Counts only: the
-- list itself, with the district's data, is a file in the district's outbox.
-- Idempotent: safe to run twice.

CREATE TABLE IF NOT EXISTS recon.fix_list (
    district_code text        NOT NULL,
    run_id        text        NOT NULL,
    written_at    timestamptz NOT NULL DEFAULT now(),
    entries       integer     NOT NULL,
    problems      integer     NOT NULL,
    fixed         integer     NOT NULL,
    oldest_since  timestamptz,
    PRIMARY KEY (district_code, run_id)
);
CREATE INDEX IF NOT EXISTS fix_list_written_idx ON recon.fix_list (district_code, written_at DESC);
