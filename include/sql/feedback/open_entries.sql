-- A district's open quarantine entries, for its fix list: the rules' quarantine and the
-- records a reviewer returned (RETURNED), with the note of the return the run applied.
-- Parameters (psycopg2 named): district_code.
SELECT q.source_key, q.record_type, q.reasons, q.source_record, q.opened_at, q.run_id,
       r.note
FROM recon.quarantine q
LEFT JOIN LATERAL (
    SELECT d.note
    FROM recon.decision d
    JOIN recon.decision_outcome o ON o.decision_id = d.decision_id AND o.outcome = 'applied'
    WHERE d.source_key = q.source_key AND d.decision = 'return'
    ORDER BY d.decision_id DESC
    LIMIT 1
) r ON 'RETURNED' = ANY (q.reasons)
WHERE q.district_code = %(district_code)s AND q.closed_at IS NULL
ORDER BY q.record_type, q.source_key;
