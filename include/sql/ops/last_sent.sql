-- Per district: the last day (Asia/Ho_Chi_Minh) it sent new or changed records, i.e. got
-- verdicts (ops.daily_progress, kept by the load: V009). The silent-district watch.
SELECT district_code, max(day) AS last_day
FROM ops.daily_progress
WHERE records > 0
GROUP BY district_code
ORDER BY district_code;
