-- Registrations in the national database by the year they were registered: the
-- campaign's phases are ranges of these years.
SELECT extract(year FROM registration_date)::int AS year, count(*) AS entries
FROM civil.registration
GROUP BY 1
ORDER BY 1;
