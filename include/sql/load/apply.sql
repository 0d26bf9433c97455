-- One set-based load of a district's staged verdicts, in the caller's transaction.
-- Parameters (psycopg2 named): run_id.

-- Loaded records: the registration is replaced whole, its people with it.
DELETE FROM civil.person p USING stage_registration s WHERE p.source_key = s.source_key;

INSERT INTO civil.registration AS r
SELECT * FROM stage_registration
ON CONFLICT (source_key) DO UPDATE SET
    district_code = EXCLUDED.district_code, record_type = EXCLUDED.record_type,
    book = EXCLUDED.book, entry_no = EXCLUDED.entry_no,
    registration_date = EXCLUDED.registration_date, place = EXCLUDED.place,
    ethnicity = EXCLUDED.ethnicity, nationality = EXCLUDED.nationality,
    death_cause = EXCLUDED.death_cause, legacy_encoding = EXCLUDED.legacy_encoding,
    content_hash = EXCLUDED.content_hash, run_id = EXCLUDED.run_id, loaded_at = now();

INSERT INTO civil.person SELECT * FROM stage_person;

-- The ledger: one verdict per run and record (a retried task rewrites its own rows).
INSERT INTO recon.verdict AS v
    (run_id, district_code, record_type, source_key, status, reasons, personal_id, content_hash)
SELECT %(run_id)s, district_code, record_type, source_key, status, reasons, personal_id, content_hash
FROM stage_verdict
ON CONFLICT (run_id, source_key) DO UPDATE SET
    status = EXCLUDED.status, reasons = EXCLUDED.reasons, personal_id = EXCLUDED.personal_id,
    content_hash = EXCLUDED.content_hash, processed_at = now();

-- A new verdict closes what an earlier version of the record left waiting.
UPDATE recon.quarantine q SET closed_at = now(), closed_by_run = %(run_id)s
FROM stage_verdict s
WHERE q.source_key = s.source_key AND q.closed_at IS NULL AND q.run_id <> %(run_id)s;
UPDATE recon.review q SET closed_at = now(), closed_by_run = %(run_id)s
FROM stage_verdict s
WHERE q.source_key = s.source_key AND q.closed_at IS NULL AND q.run_id <> %(run_id)s;

INSERT INTO recon.quarantine AS q
    (source_key, run_id, district_code, record_type, reasons, source_record)
SELECT source_key, %(run_id)s, district_code, record_type, reasons, source_record
FROM stage_verdict WHERE status = 'quarantined'
ON CONFLICT (source_key, run_id) DO UPDATE SET
    reasons = EXCLUDED.reasons, source_record = EXCLUDED.source_record, closed_at = NULL;

INSERT INTO recon.review AS q
    (source_key, run_id, district_code, record_type, reasons, source_record)
SELECT source_key, %(run_id)s, district_code, record_type, reasons, source_record
FROM stage_verdict WHERE status = 'review'
ON CONFLICT (source_key, run_id) DO UPDATE SET
    reasons = EXCLUDED.reasons, source_record = EXCLUDED.source_record, closed_at = NULL;

DELETE FROM recon.link_candidate c USING stage_verdict s
WHERE c.source_key = s.source_key AND c.run_id = %(run_id)s;
INSERT INTO recon.link_candidate SELECT * FROM stage_candidate;

-- What was read, so that unchanged records are not processed again.
INSERT INTO recon.source_state AS st
    (source_key, district_code, record_type, content_hash, book, entry_no, claims_entry,
     last_status, first_run_id, last_run_id)
SELECT source_key, district_code, record_type, content_hash, book, entry_no, claims_entry,
       status, %(run_id)s, %(run_id)s
FROM stage_verdict
ON CONFLICT (source_key) DO UPDATE SET
    record_type = EXCLUDED.record_type, content_hash = EXCLUDED.content_hash,
    book = EXCLUDED.book, entry_no = EXCLUDED.entry_no,
    claims_entry = EXCLUDED.claims_entry,
    last_status = EXCLUDED.last_status, last_run_id = EXCLUDED.last_run_id, updated_at = now();

-- Who waits for a person (V005): a record's rows are replaced by what its new verdict
-- leaves waiting; a person who waited before with the same content keeps the date.
CREATE TEMP TABLE waiting_before ON COMMIT DROP AS
SELECT p.source_key, p.role, p.waiting_since, w.content_hash
FROM recon.waiting_person p JOIN recon.waiting_record w USING (source_key)
JOIN stage_verdict s USING (source_key);
DELETE FROM recon.waiting_record w USING stage_verdict s WHERE w.source_key = s.source_key;
INSERT INTO recon.waiting_record
    (source_key, district_code, record_type, content_hash, record, source_record, status,
     reasons, personal_id, run_id)
SELECT source_key, district_code, record_type, content_hash, record, source_record, status,
       reasons, personal_id, %(run_id)s
FROM stage_waiting_record;
INSERT INTO recon.waiting_person
    (source_key, role, district_code, record_type, kind, reasons, given_id, decided, waiting_since)
SELECT p.source_key, p.role, w.district_code, w.record_type, p.kind, p.reasons, p.given_id,
       p.decided, coalesce(b.waiting_since, now())
FROM stage_waiting_person p
JOIN stage_waiting_record w USING (source_key)
LEFT JOIN waiting_before b
    ON b.source_key = p.source_key AND b.role = p.role AND b.content_hash = w.content_hash;

INSERT INTO recon.decision_outcome (decision_id, run_id, outcome)
SELECT decision_id, %(run_id)s, outcome FROM stage_decision_outcome
ON CONFLICT (decision_id, run_id) DO NOTHING;
