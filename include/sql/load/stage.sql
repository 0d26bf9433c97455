-- Staging tables for one district's load, dropped at commit.
CREATE TEMP TABLE stage_verdict (
    district_code text, record_type text, source_key text, status text, reasons text[],
    personal_id text, content_hash text, source_record jsonb, book text, entry_no text,
    claims_entry boolean
) ON COMMIT DROP;
CREATE TEMP TABLE stage_registration (LIKE civil.registration INCLUDING DEFAULTS) ON COMMIT DROP;
CREATE TEMP TABLE stage_person (LIKE civil.person) ON COMMIT DROP;
CREATE TEMP TABLE stage_candidate (LIKE recon.link_candidate) ON COMMIT DROP;
