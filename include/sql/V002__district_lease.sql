-- One district is processed by one run at a time (hotich.lease, docs/decisions/0006):
-- the run that holds a district's lease. Extract takes it, the load releases it in the
-- transaction that commits the district, the run's report releases what the run still
-- holds; a lease whose run vanished may be taken over once expires_at has passed.
-- Idempotent; grants.sql gives hotich_writer its rows like every recon table's.
CREATE TABLE IF NOT EXISTS recon.district_lease (
    district_code text PRIMARY KEY,
    run_id text NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS district_lease_run_idx ON recon.district_lease (run_id);
