-- Content hashes of the given records of a district read before (unchanged ones are
-- skipped), looked up chunk by chunk: never the district's every record (decision 0020).
-- Parameters (psycopg2 named): district_code, keys (a text array of source keys).
SELECT source_key, content_hash
FROM recon.source_state
WHERE source_key = ANY(%(keys)s::text[]) AND district_code = %(district_code)s;
