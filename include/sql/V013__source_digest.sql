-- V013: what a legacy district's rows looked like when last read, as the district's own
-- server digests them (include/sql/extract/legacy_digests.sql), so that a run sends over
-- the network only the rows whose digest changed (decision 0020). Written by the load in
-- the transaction that commits the district's verdicts, like the other extract state
-- (watermarks, workbook files): a load that does not commit leaves the rows to be read
-- again. No personal data: a row's local key (the table's ID) and a digest.
-- Idempotent: safe to run twice.

CREATE TABLE IF NOT EXISTS recon.source_digest (
    district_code text NOT NULL,
    local_key     text NOT NULL,
    digest        text NOT NULL,
    run_id        text NOT NULL,
    PRIMARY KEY (district_code, local_key)
);
