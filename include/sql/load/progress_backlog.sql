-- The district's open quarantine and review entries after this load (V009), as today's
-- value: run in the load's transaction AFTER apply.sql. Parameters: district_code.
INSERT INTO ops.daily_backlog AS t (day, district_code, queue, open_entries)
SELECT (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, %(district_code)s, q.queue,
       CASE q.queue
           WHEN 'quarantine' THEN (SELECT count(*) FROM recon.quarantine
                                   WHERE district_code = %(district_code)s AND closed_at IS NULL)
           ELSE (SELECT count(*) FROM recon.review
                 WHERE district_code = %(district_code)s AND closed_at IS NULL)
       END
FROM (VALUES ('quarantine'), ('review')) AS q(queue)
ON CONFLICT (day, district_code, queue) DO UPDATE SET open_entries = EXCLUDED.open_entries;

-- The district's open entries per queue and reason code (V012): its rows set to zero, then
-- today's counts upserted (the load's role may not delete from ops).
UPDATE ops.open_backlog SET records = 0
WHERE district_code = %(district_code)s AND records <> 0;
INSERT INTO ops.open_backlog AS t (queue, district_code, code, records)
SELECT 'quarantine', %(district_code)s, code, count(*)
FROM recon.quarantine, unnest(reasons) AS code
WHERE district_code = %(district_code)s AND closed_at IS NULL
GROUP BY code
UNION ALL
SELECT 'review', %(district_code)s, code, count(*)
FROM recon.review, unnest(reasons) AS code
WHERE district_code = %(district_code)s AND closed_at IS NULL
GROUP BY code
ON CONFLICT (queue, district_code, code) DO UPDATE SET records = EXCLUDED.records;
