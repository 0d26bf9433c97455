-- Verdicts written per day (Asia/Ho_Chi_Minh) and status, the last %(days)s days
-- (ops.daily_progress, kept by the load: V009).
SELECT day, status, sum(records)::bigint AS records
FROM ops.daily_progress
WHERE day > (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date - %(days)s
GROUP BY 1, 2
ORDER BY 1, 2;
