-- The run's answer store, one writer at a time: every transaction that claims, answers,
-- keeps alive or gives back keys of a run takes this lock first (held until commit).
-- A claim locks the rows it conflicts with in key order, an answer the district's own in
-- the join's order: without it the two deadlocked (seen at scale 1.0, 8 districts).
SELECT pg_advisory_xact_lock(hashtextextended(%(run_id)s, 0));
