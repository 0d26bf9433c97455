-- A district's gate decisions over its last runs, newest first, with the release each used.
-- Parameters: district_code, runs.
SELECT g.run_id, g.decision, g.summary, g.findings, g.records, g.quarantined, g.decided_at,
       r.released_by, r.reason AS release_reason
FROM ops.quality_gate g
LEFT JOIN ops.quality_release r USING (release_id)
WHERE g.district_code = %(district_code)s
ORDER BY g.decided_at DESC
LIMIT %(runs)s;
