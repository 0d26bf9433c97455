-- The desk's districts: persons waiting (not yet decided) and the oldest wait.
SELECT district_code, count(*) AS waiting, min(waiting_since) AS oldest
FROM recon.waiting_person WHERE NOT decided
GROUP BY district_code ORDER BY district_code;
