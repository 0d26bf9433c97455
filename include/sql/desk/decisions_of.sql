-- Every decision on a record, newest first, with what the runs did with it. Parameters:
-- source_key.
SELECT d.decision_id, d.role, d.decision, d.personal_id, d.reason, d.note, d.decided_by,
       d.decided_at, d.content_hash, o.outcome, o.run_id AS outcome_run
FROM recon.decision d
LEFT JOIN recon.decision_outcome o USING (decision_id)
WHERE d.source_key = %(source_key)s
ORDER BY d.decision_id DESC;
