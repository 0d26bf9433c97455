-- One page of the desk: persons waiting for a decision in a district, by key, after the
-- last key of the previous page; optional filters. Parameters: district_code,
-- after_key, after_role ('' for the first page), reason (NULL: any), record_type (NULL:
-- any), waiting_days (NULL: any age; else waiting at least that many days), page_size.
SELECT p.source_key, p.role, p.record_type, p.kind, p.reasons, p.waiting_since,
       w.status, w.run_id
FROM recon.waiting_person p
JOIN recon.waiting_record w USING (source_key)
WHERE p.district_code = %(district_code)s AND NOT p.decided
  AND (p.source_key, p.role) > (%(after_key)s, %(after_role)s)
  AND (%(reason)s::text IS NULL OR p.reasons @> ARRAY[%(reason)s::text])
  AND (%(record_type)s::text IS NULL OR p.record_type = %(record_type)s::text)
  AND (%(waiting_days)s::int IS NULL
       OR p.waiting_since <= now() - make_interval(days => %(waiting_days)s::int))
ORDER BY p.source_key, p.role
LIMIT %(page_size)s;
