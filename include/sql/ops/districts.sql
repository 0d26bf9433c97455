-- Per district: every source record read, by the status of its latest verdict.
SELECT district_code,
       count(*)                                            AS records,
       count(*) FILTER (WHERE last_status = 'loaded')      AS loaded,
       count(*) FILTER (WHERE last_status = 'review')      AS review,
       count(*) FILTER (WHERE last_status = 'quarantined') AS quarantined
FROM recon.source_state
GROUP BY district_code
ORDER BY district_code;
