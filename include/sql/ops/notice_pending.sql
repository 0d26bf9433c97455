-- The messages still due, oldest first, locked for this sender; those another task is
-- sending are skipped, those tried max_attempts times are given up on (their last_error
-- says why). Parameters: max_attempts, limit.
SELECT notice_id, channel, message
FROM ops.incident_notice
WHERE delivered_at IS NULL AND attempts < %(max_attempts)s
ORDER BY notice_id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;
