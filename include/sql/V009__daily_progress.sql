-- V009: the campaign dashboard's aggregates, maintained by the load in the transaction that
-- commits a district (include/sql/load/progress_delta.sql before apply.sql,
-- progress_backlog.sql after it), so that the dashboard reads a few hundred rows instead
-- of the ledger (decision 0014). Days are Asia/Ho_Chi_Minh days. Counts only: no name, no
-- ID. Each table is backfilled from what exists when it is created (empty); idempotent.

CREATE SCHEMA IF NOT EXISTS ops;

-- Verdicts written per day, district and status: "records per day".
CREATE TABLE IF NOT EXISTS ops.daily_progress (
    day           date    NOT NULL,
    district_code text    NOT NULL,
    status        text    NOT NULL CHECK (status IN ('loaded', 'review', 'quarantined')),
    records       bigint  NOT NULL,
    PRIMARY KEY (day, district_code, status)
);

-- Registrations loaded for the first time per day, district and year registered: the
-- campaign's pace and each phase's loaded entries over time (a corrected record loaded
-- again does not count twice).
CREATE TABLE IF NOT EXISTS ops.daily_first_load (
    day           date    NOT NULL,
    district_code text    NOT NULL,
    year          integer NOT NULL,
    entries       bigint  NOT NULL,
    PRIMARY KEY (day, district_code, year)
);

-- Open quarantine and review entries of a district at the end of its last load of the
-- day (a day without a load keeps the previous value: the dashboard carries it forward).
CREATE TABLE IF NOT EXISTS ops.daily_backlog (
    day           date    NOT NULL,
    district_code text    NOT NULL,
    queue         text    NOT NULL CHECK (queue IN ('quarantine', 'review')),
    open_entries  bigint  NOT NULL,
    PRIMARY KEY (day, district_code, queue)
);

-- Now: every source record read, by the status of its latest verdict (recon.source_state
-- grouped), and the registrations in the national database by year (civil.registration
-- grouped).
CREATE TABLE IF NOT EXISTS ops.district_status (
    district_code text   NOT NULL,
    status        text   NOT NULL,
    records       bigint NOT NULL,
    PRIMARY KEY (district_code, status)
);
CREATE TABLE IF NOT EXISTS ops.registration_year (
    district_code text    NOT NULL,
    year          integer NOT NULL,
    entries       bigint  NOT NULL,
    PRIMARY KEY (district_code, year)
);

-- Backfill, each table only while it is empty (a second run of this file adds nothing).
INSERT INTO ops.daily_progress (day, district_code, status, records)
SELECT (processed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, district_code, status, count(*)
FROM recon.verdict
WHERE NOT EXISTS (SELECT FROM ops.daily_progress)
GROUP BY 1, 2, 3;

INSERT INTO ops.daily_first_load (day, district_code, year, entries)
SELECT (f.first_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, r.district_code,
       extract(year FROM r.registration_date)::int, count(*)
FROM (SELECT source_key, min(processed_at) AS first_at
      FROM recon.verdict WHERE status = 'loaded' GROUP BY source_key) f
JOIN civil.registration r USING (source_key)
WHERE NOT EXISTS (SELECT FROM ops.daily_first_load)
GROUP BY 1, 2, 3;

-- Open entries at the end of each day since the district's first entry.
INSERT INTO ops.daily_backlog (day, district_code, queue, open_entries)
SELECT d.day::date, q.district_code, q.queue,
       count(*) FILTER (WHERE (q.opened_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date <= d.day
                          AND (q.closed_at IS NULL
                               OR (q.closed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date > d.day))
FROM (SELECT 'quarantine' AS queue, district_code, opened_at, closed_at FROM recon.quarantine
      UNION ALL
      SELECT 'review', district_code, opened_at, closed_at FROM recon.review) q
CROSS JOIN generate_series(
    (SELECT least((SELECT min(opened_at) FROM recon.quarantine), (SELECT min(opened_at) FROM recon.review))
            AT TIME ZONE 'Asia/Ho_Chi_Minh')::date,
    (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, interval '1 day') AS d(day)
WHERE NOT EXISTS (SELECT FROM ops.daily_backlog)
GROUP BY 1, 2, 3;

INSERT INTO ops.district_status (district_code, status, records)
SELECT district_code, last_status, count(*)
FROM recon.source_state
WHERE NOT EXISTS (SELECT FROM ops.district_status)
GROUP BY 1, 2;

INSERT INTO ops.registration_year (district_code, year, entries)
SELECT district_code, extract(year FROM registration_date)::int, count(*)
FROM civil.registration
WHERE NOT EXISTS (SELECT FROM ops.registration_year)
GROUP BY 1, 2;
