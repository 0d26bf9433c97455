-- The waiting records of a district that re-reconciliation asks the register about again:
-- every record with a person waiting whom no decision covers (none applied: DECIDED among
-- the person's codes; none pending: a decision without an outcome). Parameters:
-- district_code.
SELECT w.source_key, w.record, w.source_record, w.status, w.reasons, w.personal_id,
       w.content_hash
FROM recon.waiting_record w
WHERE w.district_code = %(district_code)s
  AND NOT EXISTS (SELECT FROM recon.waiting_person p
                  WHERE p.source_key = w.source_key AND p.decided)
  AND NOT EXISTS (SELECT FROM recon.decision d
                  WHERE d.source_key = w.source_key
                    AND NOT EXISTS (SELECT FROM recon.decision_outcome o
                                    WHERE o.decision_id = d.decision_id))
ORDER BY w.source_key;
