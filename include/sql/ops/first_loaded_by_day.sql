-- Registrations loaded for the first time, per day (Asia/Ho_Chi_Minh) and year registered,
-- over the whole campaign (ops.daily_first_load, kept by the load: V009): each phase's
-- loaded entries over time, and its pace. A corrected record loaded again does not count
-- twice.
SELECT day, year, sum(entries)::bigint AS entries
FROM ops.daily_first_load
GROUP BY 1, 2
ORDER BY 1, 2;
