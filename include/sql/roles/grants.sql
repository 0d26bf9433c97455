-- Privileges of the group roles of roles.sql on what the migrations created; run by
-- hotich.migrate after every migration (idempotent), and a no-op where the roles do not
-- exist (a database that keeps one user for everything). The writer may read and write
-- rows, and create the temporary staging tables of the load; it cannot create, alter or
-- drop anything in civil or recon.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'hotich_writer') THEN
        EXECUTE 'GRANT CONNECT, TEMPORARY ON DATABASE ' || quote_ident(current_database())
            || ' TO hotich_writer';
        GRANT USAGE ON SCHEMA civil, recon TO hotich_writer;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA civil, recon TO hotich_writer;
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA civil, recon TO hotich_writer;
        REVOKE CREATE ON SCHEMA civil, recon FROM hotich_writer;
        -- Decisions and the access log are append-only (V004): insert and read only.
        IF to_regclass('recon.decision') IS NOT NULL THEN
            REVOKE UPDATE, DELETE, TRUNCATE
                ON recon.decision, recon.decision_outcome, recon.access_log FROM hotich_writer;
        END IF;
        -- Incidents (V007): the tasks open, repeat and close them, and mark their notices.
        IF to_regnamespace('ops') IS NOT NULL THEN
            GRANT USAGE ON SCHEMA ops TO hotich_writer;
            GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA ops TO hotich_writer;
            GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ops TO hotich_writer;
            REVOKE CREATE ON SCHEMA ops FROM hotich_writer;
        END IF;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'hotich_reader') THEN
        EXECUTE 'GRANT CONNECT ON DATABASE ' || quote_ident(current_database())
            || ' TO hotich_reader';
        GRANT USAGE ON SCHEMA civil, recon TO hotich_reader;
        GRANT SELECT ON ALL TABLES IN SCHEMA civil, recon TO hotich_reader;
        -- The register's answers of a running run (V010) are for its district tasks only.
        IF to_regclass('recon.register_answer') IS NOT NULL THEN
            REVOKE SELECT ON recon.register_answer, recon.register_ask FROM hotich_reader;
        END IF;
        IF to_regnamespace('ops') IS NOT NULL THEN
            GRANT USAGE ON SCHEMA ops TO hotich_reader;
            GRANT SELECT ON ALL TABLES IN SCHEMA ops TO hotich_reader;
        END IF;
    END IF;
END
$$;
