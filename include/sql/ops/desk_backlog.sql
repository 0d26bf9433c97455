-- The review desk's backlog per district: persons waiting for a decision, since when the
-- oldest waits, and decisions made that no run has applied yet.
SELECT p.district_code, count(*) AS waiting, min(p.waiting_since) AS oldest,
       (SELECT count(*) FROM recon.decision d
        WHERE split_part(d.source_key, ':', 1) = p.district_code
          AND NOT EXISTS (SELECT FROM recon.decision_outcome o WHERE o.decision_id = d.decision_id)
       ) AS decided_not_applied
FROM recon.waiting_person p
WHERE NOT p.decided
GROUP BY p.district_code
ORDER BY p.district_code;
