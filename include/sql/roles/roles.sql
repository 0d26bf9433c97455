-- The national database's roles (docs/reliability.md, "Least privilege"). Run once by a
-- superuser (or a role with CREATEROLE); idempotent. They are group roles: a deployment
-- grants them to its login users, whose passwords live in Airflow connections or the
-- secrets backend, never here.
--   hotich_owner   owns the schemas and runs the migrations (python -m hotich.migrate)
--   hotich_writer  what the pipeline's login may do: read and write the tables, nothing else
--   hotich_reader  read only (dashboards, reports)
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hotich_owner') THEN
        CREATE ROLE hotich_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hotich_writer') THEN
        CREATE ROLE hotich_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hotich_reader') THEN
        CREATE ROLE hotich_reader NOLOGIN;
    END IF;
END
$$;
