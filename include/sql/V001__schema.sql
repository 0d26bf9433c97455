-- V001: the national civil-status database as hotich loads it, and the reconciliation
-- state (ledger, quarantine, review, extract state). Idempotent: safe to run twice.

CREATE SCHEMA IF NOT EXISTS civil;
CREATE SCHEMA IF NOT EXISTS recon;

-- One row per loaded registration, with its lineage (source_key, district, run, hash).
CREATE TABLE IF NOT EXISTS civil.registration (
    source_key        text PRIMARY KEY,
    district_code     text        NOT NULL,
    record_type       text        NOT NULL CHECK (record_type IN ('birth', 'death', 'marriage')),
    book              text        NOT NULL,
    entry_no          text        NOT NULL,
    registration_date date        NOT NULL,
    place             text,
    ethnicity         text,
    nationality       text,
    death_cause       text,
    legacy_encoding   boolean     NOT NULL DEFAULT false,
    content_hash      text        NOT NULL,
    run_id            text        NOT NULL,
    loaded_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS registration_district_idx ON civil.registration (district_code, record_type);

-- The people of a registration: the subject of a birth or death, or each spouse.
-- source_name keeps the source spelling where the register's was loaded (NAME_DIACRITICS);
-- link_* say how an ID-less person was linked to the register.
CREATE TABLE IF NOT EXISTS civil.person (
    source_key        text NOT NULL REFERENCES civil.registration (source_key) ON DELETE CASCADE,
    role              text NOT NULL CHECK (role IN ('subject', 'husband', 'wife')),
    full_name         text NOT NULL,
    source_name       text NOT NULL,
    sex               text NOT NULL,
    date_of_birth     date,
    year_of_birth     integer,
    personal_id       text,
    id_origin         text CHECK (id_origin IN ('given', 'linked')),
    mother_name       text,
    mother_dob        text,
    father_name       text,
    father_dob        text,
    death_date        date,
    link_verdict      text,
    link_name_level   text,
    link_date_level   text,
    link_corroborated boolean,
    PRIMARY KEY (source_key, role)
);
CREATE INDEX IF NOT EXISTS person_personal_id_idx ON civil.person (personal_id);

-- Every verdict ever written: one row per run and source record. recon.ledger is its view.
CREATE TABLE IF NOT EXISTS recon.verdict (
    run_id        text        NOT NULL,
    district_code text        NOT NULL,
    record_type   text        NOT NULL,
    source_key    text        NOT NULL,
    status        text        NOT NULL CHECK (status IN ('loaded', 'review', 'quarantined')),
    reasons       text[]      NOT NULL DEFAULT '{}',
    personal_id   text,
    content_hash  text        NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, source_key)
);
CREATE INDEX IF NOT EXISTS verdict_source_key_idx ON recon.verdict (source_key);
CREATE INDEX IF NOT EXISTS verdict_district_idx ON recon.verdict (district_code, status);

-- Records that wait for a person: quarantine (the district fixes the source) and review
-- (the register disagrees). An entry is closed when a later version of the record gets
-- a new verdict.
CREATE TABLE IF NOT EXISTS recon.quarantine (
    source_key    text        NOT NULL,
    run_id        text        NOT NULL,
    district_code text        NOT NULL,
    record_type   text        NOT NULL,
    reasons       text[]      NOT NULL,
    source_record jsonb       NOT NULL,
    opened_at     timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz,
    closed_by_run text,
    PRIMARY KEY (source_key, run_id)
);
CREATE INDEX IF NOT EXISTS quarantine_open_idx ON recon.quarantine (district_code) WHERE closed_at IS NULL;

CREATE TABLE IF NOT EXISTS recon.review (
    source_key    text        NOT NULL,
    run_id        text        NOT NULL,
    district_code text        NOT NULL,
    record_type   text        NOT NULL,
    reasons       text[]      NOT NULL,
    source_record jsonb       NOT NULL,
    opened_at     timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz,
    closed_by_run text,
    PRIMARY KEY (source_key, run_id)
);
CREATE INDEX IF NOT EXISTS review_open_idx ON recon.review (district_code) WHERE closed_at IS NULL;

-- Candidates of every LINK_AMBIGUOUS person, ordered by a similarity score for the
-- people who will choose; the score never changed a verdict.
CREATE TABLE IF NOT EXISTS recon.link_candidate (
    run_id       text    NOT NULL,
    source_key   text    NOT NULL,
    role         text    NOT NULL,
    candidate_id text    NOT NULL,
    score        double precision,
    rank         integer,
    PRIMARY KEY (run_id, source_key, role, candidate_id)
);

-- What was read before, per source record: its content hash (unchanged records are not
-- processed again) and the book entry it claims (DUPLICATE_ENTRY across runs).
CREATE TABLE IF NOT EXISTS recon.source_state (
    source_key    text PRIMARY KEY,
    district_code text        NOT NULL,
    record_type   text        NOT NULL,
    content_hash  text        NOT NULL,
    book          text,
    entry_no      text,
    claims_entry  boolean     NOT NULL,
    last_status   text        NOT NULL,
    first_run_id  text        NOT NULL,
    last_run_id   text        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS source_state_entry_idx
    ON recon.source_state (district_code, record_type, book, entry_no) WHERE claims_entry;

-- modern districts: the largest updated_at read, per table.
CREATE TABLE IF NOT EXISTS recon.watermark (
    district_code text      NOT NULL,
    table_name    text      NOT NULL,
    updated_at    timestamp NOT NULL,
    run_id        text      NOT NULL,
    PRIMARY KEY (district_code, table_name)
);

-- workbook districts: the content hash of every file read.
CREATE TABLE IF NOT EXISTS recon.workbook_file (
    district_code text        NOT NULL,
    file_name     text        NOT NULL,
    content_hash  text        NOT NULL,
    rows_read     integer     NOT NULL,
    run_id        text        NOT NULL,
    read_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, file_name)
);

-- Files rejected whole (unreadable, wrong headers), for the district to fix.
CREATE TABLE IF NOT EXISTS recon.rejected_file (
    district_code text        NOT NULL,
    file_name     text        NOT NULL,
    content_hash  text        NOT NULL,
    problem       text        NOT NULL,
    run_id        text        NOT NULL,
    rejected_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, file_name, content_hash)
);

-- Per run and district: what was extracted and where it went (conservation, reports).
CREATE TABLE IF NOT EXISTS recon.run_summary (
    run_id        text        NOT NULL,
    district_code text        NOT NULL,
    extracted     integer     NOT NULL,
    loaded        integer     NOT NULL,
    review        integer     NOT NULL,
    quarantined   integer     NOT NULL,
    stats         jsonb       NOT NULL DEFAULT '{}',
    finished_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, district_code)
);

-- The contract's ledger.
CREATE OR REPLACE VIEW recon.ledger AS
SELECT run_id, district_code, record_type, source_key, status, reasons, personal_id, processed_at
FROM recon.verdict;
