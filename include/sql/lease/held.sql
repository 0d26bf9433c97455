-- The districts whose lease a run holds now (unexpired): their work files are in use, so
-- no other run's purge touches them (hotich.workfiles.purge). An expired lease may be
-- taken over, and its files with it. Returns run_id, district_code.
SELECT run_id, district_code FROM recon.district_lease WHERE expires_at > now();
