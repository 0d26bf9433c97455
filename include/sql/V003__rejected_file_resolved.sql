-- V003: rejected workbook files get a resolved state (issue 15), so that a file the
-- district corrected or took out of the inbox is no longer listed; and each rejection
-- its kind and the last run that rejected it. Idempotent: safe to run twice. Written
-- for V001's recon.rejected_file; it needs no other migration before it.
--
-- last_run_id / last_rejected_at: the last run that found the file (same name and content)
--   still rejected; run_id / rejected_at stay the first (the rejection's "since").
-- problem_kind: a key of hotich.extract.workbook.DISTRICT_ACTION_VI (NULL before V003).
-- resolved_at / resolved_by_run / resolution: when the load of which run found it resolved,
--   and how: 'corrected' (the inbox's file of that name has other content, read),
--   'removed' (no file of that name in the inbox), 'replaced' (other content, rejected too:
--   that rejection is listed instead).

ALTER TABLE recon.rejected_file
    ADD COLUMN IF NOT EXISTS problem_kind     text,
    ADD COLUMN IF NOT EXISTS last_run_id      text,
    ADD COLUMN IF NOT EXISTS last_rejected_at timestamptz,
    ADD COLUMN IF NOT EXISTS resolved_at      timestamptz,
    ADD COLUMN IF NOT EXISTS resolved_by_run  text,
    ADD COLUMN IF NOT EXISTS resolution       text
        CHECK (resolution IN ('corrected', 'removed', 'replaced'));

UPDATE recon.rejected_file SET last_run_id = run_id WHERE last_run_id IS NULL;
UPDATE recon.rejected_file SET last_rejected_at = rejected_at WHERE last_rejected_at IS NULL;
ALTER TABLE recon.rejected_file ALTER COLUMN last_run_id SET NOT NULL;
ALTER TABLE recon.rejected_file ALTER COLUMN last_rejected_at SET NOT NULL;
ALTER TABLE recon.rejected_file ALTER COLUMN last_rejected_at SET DEFAULT now();

-- What the rows of before V003 say already: an older version of a file rejected again
-- under the same name was replaced; a rejected file read after its rejection (a corrected
-- file of that name) is corrected. A file taken out of the inbox is found by the next run.
UPDATE recon.rejected_file r
SET resolved_at = n.rejected_at, resolved_by_run = n.run_id, resolution = 'replaced'
FROM recon.rejected_file n
WHERE r.resolved_at IS NULL
  AND n.district_code = r.district_code AND n.file_name = r.file_name
  AND n.rejected_at > r.rejected_at
  AND NOT EXISTS (
      SELECT 1 FROM recon.rejected_file m
      WHERE m.district_code = r.district_code AND m.file_name = r.file_name
        AND m.rejected_at > r.rejected_at AND m.rejected_at < n.rejected_at);
UPDATE recon.rejected_file r
SET resolved_at = w.read_at, resolved_by_run = w.run_id, resolution = 'corrected'
FROM recon.workbook_file w
WHERE r.resolved_at IS NULL
  AND w.district_code = r.district_code AND w.file_name = r.file_name
  AND w.content_hash <> r.content_hash AND w.read_at > r.rejected_at;

-- Problems written before V003 could quote cells (the unexpected header cells, which are
-- a record when the header row is missing; a parser's error quoting a value it could not
-- convert) and are now shown on the dashboard: those parts are cut. Rows of V003 on have
-- a kind and never quote a cell (hotich.extract.workbook).
UPDATE recon.rejected_file
SET problem = regexp_replace(
        regexp_replace(problem, 'unexpected ''.*''\)$', 'unexpected cells, not shown (recorded before V003))'),
        '(cannot be (read|opened) as an \.xlsx workbook|cannot be read as UTF-8 CSV): .*$',
        '\1: detail not shown (recorded before V003)')
WHERE problem_kind IS NULL;

-- The open rejections (the dashboard, the run report and each workbook load read them).
CREATE INDEX IF NOT EXISTS rejected_file_open_idx
    ON recon.rejected_file (district_code, file_name) WHERE resolved_at IS NULL;
