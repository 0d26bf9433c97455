-- Content hashes of the records of a district read before (unchanged ones are skipped).
SELECT source_key, content_hash FROM recon.source_state WHERE district_code = %(district_code)s;
