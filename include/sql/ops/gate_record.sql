-- The gate's decision for a district's run (a district validated again in the same run
-- replaces it). Parameters: run_id, district_code, decision, summary, findings (JSON),
-- records, quarantined, release_id.
INSERT INTO ops.quality_gate AS g
    (run_id, district_code, decision, summary, findings, records, quarantined, release_id)
VALUES (%(run_id)s, %(district_code)s, %(decision)s, %(summary)s, %(findings)s::jsonb,
        %(records)s, %(quarantined)s, %(release_id)s)
ON CONFLICT (run_id, district_code) DO UPDATE SET
    decision = EXCLUDED.decision, summary = EXCLUDED.summary, findings = EXCLUDED.findings,
    records = EXCLUDED.records, quarantined = EXCLUDED.quarantined,
    release_id = EXCLUDED.release_id, decided_at = now();
