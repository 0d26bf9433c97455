-- Open quarantine (the district fixes the source) and review (the register disagrees)
-- entries, per district and reason code (ops.open_backlog, kept by the load: V012). An
-- entry with two reasons counts under both.
SELECT queue, district_code, code, records
FROM ops.open_backlog
WHERE records > 0
ORDER BY 1, 2, 3;
