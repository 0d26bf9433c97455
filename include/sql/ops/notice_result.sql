-- One try of a message: delivered when error is null. Parameters: notice_id, error.
UPDATE ops.incident_notice SET
    attempts = attempts + 1,
    delivered_at = CASE WHEN %(error)s::text IS NULL THEN now() END,
    last_error = %(error)s
WHERE notice_id = %(notice_id)s;
