-- Per district: every source record read, by the status of its latest verdict (the load
-- keeps ops.district_status equal to recon.source_state grouped: V009).
SELECT district_code,
       coalesce(sum(records), 0)::bigint                                    AS records,
       coalesce(sum(records) FILTER (WHERE status = 'loaded'), 0)::bigint      AS loaded,
       coalesce(sum(records) FILTER (WHERE status = 'review'), 0)::bigint      AS review,
       coalesce(sum(records) FILTER (WHERE status = 'quarantined'), 0)::bigint AS quarantined
FROM ops.district_status
GROUP BY district_code
HAVING sum(records) > 0
ORDER BY district_code;
