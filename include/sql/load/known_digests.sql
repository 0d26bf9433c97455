-- A legacy district's server digests of its rows as last read (V013): rows whose digest
-- is unchanged are not read again (decision 0020). Parameters: district_code.
SELECT local_key, digest FROM recon.source_digest WHERE district_code = %(district_code)s;
