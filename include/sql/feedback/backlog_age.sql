-- The open fix backlog per district and age (whole days since the entry opened, in
-- Asia/Ho_Chi_Minh). Parameters: none.
SELECT district_code,
       (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
           - (opened_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS age_days,
       count(*) AS entries
FROM recon.quarantine
WHERE closed_at IS NULL
GROUP BY 1, 2
ORDER BY 1, 2;
