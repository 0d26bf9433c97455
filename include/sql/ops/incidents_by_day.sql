-- Incidents open at the end of each of the last %(days)s days (Asia/Ho_Chi_Minh), by
-- severity.
SELECT d.day::date AS day, i.severity, count(i.incident_id) AS open
FROM generate_series((now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date - (%(days)s - 1),
                     (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, interval '1 day') AS d(day)
JOIN ops.incident i
  ON (i.first_seen AT TIME ZONE 'Asia/Ho_Chi_Minh')::date <= d.day
 AND (i.closed_at IS NULL OR (i.closed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date > d.day)
GROUP BY 1, 2
ORDER BY 1, 2;
