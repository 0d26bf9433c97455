-- The latest decision on each person of a district that no run has applied or found stale
-- yet, beside what the record is now: its content hash, and whether the person still
-- waits. An earlier decision on the same person is superseded and never applied.
-- Parameters: district_code.
SELECT d.decision_id, d.source_key, d.role, d.decision, d.personal_id, d.content_hash,
       w.content_hash AS current_hash, (p.kind IS NOT NULL) AS waiting
FROM (
    SELECT DISTINCT ON (source_key, role)
           decision_id, source_key, role, decision, personal_id, content_hash
    FROM recon.decision
    WHERE split_part(source_key, ':', 1) = %(district_code)s
    ORDER BY source_key, role, decision_id DESC
) d
LEFT JOIN recon.waiting_record w ON w.source_key = d.source_key
LEFT JOIN recon.waiting_person p ON p.source_key = d.source_key AND p.role = d.role
WHERE NOT EXISTS (SELECT FROM recon.decision_outcome o WHERE o.decision_id = d.decision_id)
ORDER BY d.decision_id;
