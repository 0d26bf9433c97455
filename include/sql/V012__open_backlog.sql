-- V012: the open quarantine and review entries per queue, district and reason code, kept by
-- the load in the district's transaction (include/sql/load/progress_backlog.sql, after
-- apply.sql), so that the dashboard's "waiting, by reason and district" reads a few dozen
-- rows instead of unnesting every open entry of the ledger at each view (it was the
-- page's slowest query at scale 1.0: ~260 ms). Counts only: no name, no ID. An entry with
-- two reasons counts under both. Backfilled from the ledger while empty; idempotent.

CREATE TABLE IF NOT EXISTS ops.open_backlog (
    queue         text   NOT NULL CHECK (queue IN ('quarantine', 'review')),
    district_code text   NOT NULL,
    code          text   NOT NULL,
    records       bigint NOT NULL,
    PRIMARY KEY (queue, district_code, code)
);

INSERT INTO ops.open_backlog (queue, district_code, code, records)
SELECT 'quarantine', district_code, code, count(*)
FROM recon.quarantine, unnest(reasons) AS code
WHERE closed_at IS NULL AND NOT EXISTS (SELECT FROM ops.open_backlog)
GROUP BY 1, 2, 3
UNION ALL
SELECT 'review', district_code, code, count(*)
FROM recon.review, unnest(reasons) AS code
WHERE closed_at IS NULL AND NOT EXISTS (SELECT FROM ops.open_backlog)
GROUP BY 1, 2, 3;
