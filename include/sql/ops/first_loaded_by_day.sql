-- Registrations loaded for the first time since %(since)s, per day (Asia/Ho_Chi_Minh) and
-- year registered: the campaign's pace. A corrected record loaded again does not count twice.
SELECT (v.processed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
       extract(year FROM r.registration_date)::int           AS year,
       count(*)                                              AS entries
FROM recon.verdict v
JOIN civil.registration r USING (source_key)
WHERE v.status = 'loaded'
  AND v.processed_at >= %(since)s
  AND NOT EXISTS (
      SELECT 1 FROM recon.verdict e
      WHERE e.source_key = v.source_key AND e.status = 'loaded' AND e.processed_at < v.processed_at)
GROUP BY 1, 2
ORDER BY 1, 2;
