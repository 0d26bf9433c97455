-- V005: the records that wait for a person (docs/ledger.md, Decisions), kept with their
-- content so that a decision can be applied, and the register asked again, without the
-- district's source: a review record is not loaded, and a modern district is read by
-- watermark, so neither could be read back. The load keeps both tables in step with the
-- ledger, in the same transaction (include/sql/load/apply.sql): a record's rows go when a
-- later verdict leaves nobody of it waiting. Idempotent: safe to run twice.

-- One row per waiting record: its content as read (the extract's canonical columns, as
-- text), the district's row as read (for the list of records to fix), and its last verdict
-- (a re-check writes a row only when the verdict differs from this one).
CREATE TABLE IF NOT EXISTS recon.waiting_record (
    source_key     text        PRIMARY KEY,
    district_code  text        NOT NULL,
    record_type    text        NOT NULL,
    content_hash   text        NOT NULL,
    record         jsonb       NOT NULL,
    source_record  jsonb       NOT NULL,
    status         text        NOT NULL,
    reasons        text[]      NOT NULL,
    personal_id    text,
    run_id         text        NOT NULL,
    waiting_since  timestamptz NOT NULL DEFAULT now()
);

-- One row per person waiting (a marriage's spouses each have their own): what for
-- (hotich.decisions.Waiting), the person's own reason codes, the ID the record gave, and
-- whether a decision covers the person already (DECIDED among the codes).
CREATE TABLE IF NOT EXISTS recon.waiting_person (
    source_key     text        NOT NULL REFERENCES recon.waiting_record (source_key) ON DELETE CASCADE,
    role           text        NOT NULL CHECK (role IN ('subject', 'husband', 'wife')),
    district_code  text        NOT NULL,
    record_type    text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('given_id_in_review', 'link_ambiguous', 'link_none')),
    reasons        text[]      NOT NULL,
    given_id       text,
    decided        boolean     NOT NULL DEFAULT false,
    waiting_since  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_key, role)
);
-- The desk pages by key within a district, newest filters on top of it.
CREATE INDEX IF NOT EXISTS waiting_person_desk_idx
    ON recon.waiting_person (district_code, source_key, role) WHERE NOT decided;
CREATE INDEX IF NOT EXISTS waiting_person_key_idx
    ON recon.waiting_person (source_key, role) WHERE NOT decided;

-- The desk's reading of a decision still to apply: the latest decision per person.
CREATE INDEX IF NOT EXISTS decision_pending_idx ON recon.decision (source_key, role, decision_id DESC);
