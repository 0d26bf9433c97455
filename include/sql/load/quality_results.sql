-- The run's per-rule results for the district (hotich.validate.rule_results), in the
-- load's transaction. A district loaded again in the same run (its task group cleared)
-- adds the records of that load to the same rows. Parameters: run_id, district_code,
-- results (a JSON array of RULE_RESULT_COLUMNS objects).
INSERT INTO ops.quality_result AS q
    (run_id, district_code, record_type, rule, expectation, columns, reason, evaluated, failing)
SELECT %(run_id)s, %(district_code)s, r.record_type, r.rule, r.expectation, r.columns, r.reason,
       r.evaluated, r.failing
FROM jsonb_to_recordset(%(results)s::jsonb) AS r(record_type text, rule text, expectation text,
                                                  columns text, reason text, evaluated integer,
                                                  failing integer)
ON CONFLICT (run_id, district_code, record_type, rule) DO UPDATE SET
    evaluated = q.evaluated + EXCLUDED.evaluated,
    failing = q.failing + EXCLUDED.failing,
    recorded_at = now();
