-- Book entries claimed by records read in earlier runs (DUPLICATE_ENTRY across runs), of
-- the entries this run's records name: the run's (book, entry_no) pairs, not the district's
-- every claim (a day's few records against a province's years: decision 0020).
-- Parameters (psycopg2 named): district_code, books, entries (text arrays, pairwise).
SELECT s.record_type, s.book, s.entry_no, s.source_key
FROM recon.source_state s
JOIN (SELECT DISTINCT b, e FROM unnest(%(books)s::text[], %(entries)s::text[]) AS t (b, e)) t
  ON s.book = t.b AND s.entry_no = t.e
WHERE s.district_code = %(district_code)s AND s.claims_entry;
