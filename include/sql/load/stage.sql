-- Staging tables for one district's load, dropped at commit.
CREATE TEMP TABLE stage_verdict (
    district_code text, record_type text, source_key text, status text, reasons text[],
    personal_id text, content_hash text, source_record jsonb, book text, entry_no text,
    claims_entry boolean
) ON COMMIT DROP;
CREATE TEMP TABLE stage_registration (LIKE civil.registration INCLUDING DEFAULTS) ON COMMIT DROP;
CREATE TEMP TABLE stage_person (LIKE civil.person) ON COMMIT DROP;
CREATE TEMP TABLE stage_candidate (LIKE recon.link_candidate) ON COMMIT DROP;
-- The records and persons this load leaves waiting for a person (V005), and what the run
-- did with the decisions it found (V004).
CREATE TEMP TABLE stage_waiting_record (
    source_key text, district_code text, record_type text, content_hash text, record jsonb,
    source_record jsonb, status text, reasons text[], personal_id text
) ON COMMIT DROP;
CREATE TEMP TABLE stage_waiting_person (
    source_key text, role text, kind text, reasons text[], given_id text, decided boolean
) ON COMMIT DROP;
CREATE TEMP TABLE stage_decision_outcome (decision_id bigint, outcome text) ON COMMIT DROP;
