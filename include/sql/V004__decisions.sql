-- V004: what people decide about the records the rules could not settle, and who looked at
-- which record (docs/ledger.md, Decisions; Decree 13/2023 asks for the access log).
-- Both tables are append-only: a trigger refuses UPDATE, DELETE and TRUNCATE to every role
-- (the owner's included), and grants.sql gives the writer INSERT and SELECT only. A later
-- decision on the same record (and role) supersedes an earlier one; the run that applies
-- a decision, or finds it stale, says so in recon.decision_outcome, never in the decision.
-- Idempotent: safe to run twice. No percent sign anywhere: drivers read it as a parameter.

CREATE TABLE IF NOT EXISTS recon.decision (
    decision_id       bigserial   PRIMARY KEY,
    source_key        text        NOT NULL,
    role              text        NOT NULL CHECK (role IN ('subject', 'husband', 'wife')),
    decision          text        NOT NULL CHECK (decision IN ('link', 'confirm', 'no_link', 'return')),
    personal_id       text,  -- the register person chosen: a link's, and only a link's
    reason            text        NOT NULL CHECK (length(btrim(reason)) > 0),
    note              text CHECK (decision <> 'return' OR length(btrim(coalesce(note, ''))) > 0),
    decided_by        text        NOT NULL,
    decided_at        timestamptz NOT NULL DEFAULT now(),
    content_hash      text        NOT NULL,  -- the record's content the decision binds
    register_snapshot jsonb       NOT NULL DEFAULT '{}',  -- what the register showed
    CHECK ((decision = 'link') = (personal_id IS NOT NULL)),
    CHECK (personal_id IS NULL OR personal_id ~ '^[0-9]{12}$')
);
CREATE INDEX IF NOT EXISTS decision_record_idx ON recon.decision (source_key, role, decision_id);

-- What a run did with a decision: applied (the record's new ledger row) or stale (the
-- record's content changed since the decision, which then no longer applies).
CREATE TABLE IF NOT EXISTS recon.decision_outcome (
    decision_id bigint      NOT NULL REFERENCES recon.decision (decision_id),
    run_id      text        NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('applied', 'stale')),
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (decision_id, run_id)
);

-- Every view of a record's personal data and every decision: who, what, when.
CREATE TABLE IF NOT EXISTS recon.access_log (
    access_id  bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    who        text        NOT NULL,
    action     text        NOT NULL CHECK (action IN ('view', 'decide', 'list')),
    source_key text,
    detail     jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS access_log_who_idx ON recon.access_log (who, at);
CREATE INDEX IF NOT EXISTS access_log_record_idx ON recon.access_log (source_key, at);

CREATE OR REPLACE FUNCTION recon.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'recon.' || TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END
$fn$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['decision', 'decision_outcome', 'access_log'] LOOP
        IF NOT EXISTS (
            SELECT FROM pg_trigger WHERE tgname = t || '_append_only'
              AND tgrelid = ('recon.' || t)::regclass
        ) THEN
            EXECUTE 'CREATE TRIGGER ' || quote_ident(t || '_append_only')
                || ' BEFORE UPDATE OR DELETE ON recon.' || quote_ident(t)
                || ' FOR EACH ROW EXECUTE FUNCTION recon.refuse_change()';
            EXECUTE 'CREATE TRIGGER ' || quote_ident(t || '_no_truncate')
                || ' BEFORE TRUNCATE ON recon.' || quote_ident(t)
                || ' FOR EACH STATEMENT EXECUTE FUNCTION recon.refuse_change()';
        END IF;
    END LOOP;
END
$$;
