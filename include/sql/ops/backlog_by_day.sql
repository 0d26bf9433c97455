-- Open quarantine and review entries per district at the end of each day it loaded
-- (ops.daily_backlog, kept by the load: V009); the reader carries a value forward over the
-- days a district did not load.
SELECT day, district_code, queue, open_entries
FROM ops.daily_backlog
ORDER BY 1, 2, 3;
