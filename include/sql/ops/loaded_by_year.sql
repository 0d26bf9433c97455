-- Registrations in the national database by the year they were registered (the load keeps
-- ops.registration_year equal to civil.registration grouped: V009): the campaign's phases
-- are ranges of these years.
SELECT year, sum(entries)::bigint AS entries
FROM ops.registration_year
GROUP BY 1
HAVING sum(entries) > 0
ORDER BY 1;
