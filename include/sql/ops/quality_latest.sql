-- The rules a district's latest run with results failed, most failing first (the quality
-- history page). Parameters: district_code.
SELECT run_id, record_type, rule, reason, evaluated, failing
FROM ops.quality_result
WHERE district_code = %(district_code)s AND failing > 0
  AND run_id = (SELECT run_id FROM ops.quality_result WHERE district_code = %(district_code)s
                ORDER BY recorded_at DESC LIMIT 1)
ORDER BY failing DESC, record_type, rule;
