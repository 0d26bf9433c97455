-- Book entries claimed by records read in earlier runs (DUPLICATE_ENTRY across runs).
SELECT record_type, book, entry_no, source_key
FROM recon.source_state
WHERE district_code = %(district_code)s AND claims_entry;
