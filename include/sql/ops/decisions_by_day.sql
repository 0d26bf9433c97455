-- Decisions per day (by the day they were made, in Asia/Ho_Chi_Minh) and what became of
-- them, for the campaign dashboard; the last 30 days.
SELECT (d.decided_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, count(*) AS decided,
       count(*) FILTER (WHERE o.outcome = 'applied') AS applied,
       count(*) FILTER (WHERE o.outcome = 'stale') AS stale
FROM recon.decision d
LEFT JOIN recon.decision_outcome o USING (decision_id)
WHERE d.decided_at >= now() - interval '30 days'
GROUP BY 1 ORDER BY 1;
