-- Open quarantine (the district fixes the source) and review (the register disagrees)
-- entries, per district and reason code. An entry with two reasons counts under both.
SELECT 'quarantine' AS queue, district_code, code, count(*) AS records
FROM recon.quarantine, unnest(reasons) AS code
WHERE closed_at IS NULL
GROUP BY district_code, code
UNION ALL
SELECT 'review', district_code, code, count(*)
FROM recon.review, unnest(reasons) AS code
WHERE closed_at IS NULL
GROUP BY district_code, code
ORDER BY 1, 2, 3;
