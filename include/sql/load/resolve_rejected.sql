-- The open rejections of a workbook district that this run finds resolved, after this
-- run's own rejections are saved (rejected_files.sql), in the same transaction.
-- %(inbox)s is a JSON array of {file_name, content_hash}: every file of the inbox this
-- run's extract saw, read or not. A rejection is resolved when the inbox has no file of
-- its name any more ('removed'), or one with other content: rejected too ('replaced': that
-- rejection is listed instead) or read, in this run or before ('corrected').
WITH inbox AS (
    SELECT f.file_name, f.content_hash
    FROM jsonb_to_recordset(%(inbox)s::jsonb) AS f(file_name text, content_hash text)
), open AS (
    SELECT o.file_name, o.content_hash AS rejected_hash, i.content_hash AS inbox_hash,
           EXISTS (SELECT 1 FROM recon.rejected_file n
                   WHERE n.district_code = o.district_code AND n.file_name = i.file_name
                     AND n.content_hash = i.content_hash AND n.resolved_at IS NULL) AS rejected
    FROM recon.rejected_file o
    LEFT JOIN inbox i ON i.file_name = o.file_name
    WHERE o.district_code = %(district_code)s AND o.resolved_at IS NULL
)
UPDATE recon.rejected_file r
SET resolved_at = now(),
    resolved_by_run = %(run_id)s,
    resolution = CASE WHEN open.inbox_hash IS NULL THEN 'removed'
                      WHEN open.rejected THEN 'replaced'
                      ELSE 'corrected' END
FROM open
WHERE r.district_code = %(district_code)s
  AND r.file_name = open.file_name AND r.content_hash = open.rejected_hash
  AND r.resolved_at IS NULL
  AND open.inbox_hash IS DISTINCT FROM open.rejected_hash
RETURNING r.file_name, r.resolution;
