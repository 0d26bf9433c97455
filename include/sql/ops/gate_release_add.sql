-- An engineer's release of a district for its next run (who, why; the latest blocked run).
-- Refused (unique violation) while another release waits. Parameters: district_code,
-- released_by, reason.
INSERT INTO ops.quality_release (district_code, released_by, reason, blocked_run)
SELECT %(district_code)s, %(released_by)s, %(reason)s,
       (SELECT run_id FROM ops.quality_gate
        WHERE district_code = %(district_code)s AND decision = 'block'
        ORDER BY decided_at DESC LIMIT 1)
RETURNING release_id;
