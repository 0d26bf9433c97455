-- A read-only role for hotich on a district's PostgreSQL database (docs/district-sources.md,
-- "A read-only login for hotich"). For the district's DBA: run it as the owner of the
-- tables (or a superuser) in the district's database, e.g.
--     psql -d <district database> -f district_reader_postgresql.sql
-- Idempotent, and free of percent signs so that any client or driver runs it. It creates the group role hotich_district_reader and grants it SELECT on the
-- tables hotich's extract reads (include/sql/extract/*.sql): khai_sinh, khai_tu, ket_hon
-- (modern flavor) and hotich (legacy flavor), whichever exist on the search path; nothing
-- else, and no INSERT, UPDATE, DELETE or DDL. Then create hotich's login with a password
-- of your own, which goes into hotich's Airflow connection (or its secrets backend), never
-- into a file:
--     CREATE ROLE hotich_reader_login LOGIN PASSWORD '<password>' IN ROLE hotich_district_reader;
--     ALTER ROLE hotich_reader_login SET default_transaction_read_only = on;  -- belt and braces
-- PostgreSQL before 15 lets every role create tables in schema public; on such a server
-- also consider REVOKE CREATE ON SCHEMA public FROM PUBLIC (15 and later do not allow it).
DO $$
DECLARE
    t text;
    rel regclass;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hotich_district_reader') THEN
        CREATE ROLE hotich_district_reader NOLOGIN;
    END IF;
    EXECUTE 'GRANT CONNECT ON DATABASE ' || quote_ident(current_database())
        || ' TO hotich_district_reader';
    FOREACH t IN ARRAY ARRAY['khai_sinh', 'khai_tu', 'ket_hon', 'hotich'] LOOP
        rel := to_regclass(t);
        IF rel IS NOT NULL THEN
            EXECUTE 'GRANT USAGE ON SCHEMA '
                || (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = rel)
                || ' TO hotich_district_reader';
            EXECUTE 'GRANT SELECT ON ' || rel::text || ' TO hotich_district_reader';
        END IF;
    END LOOP;
END
$$;
