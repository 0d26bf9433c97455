-- A read-only role for hotich on a district's MySQL/MariaDB database (docs/district-sources.md,
-- "A read-only login for hotich"). For the district's DBA: run it as an administrator with
-- the district's database selected, e.g.
--     mysql -u root -p <district database> < district_reader_mariadb.sql
-- Idempotent (MariaDB 10.1.3 or later). It creates the role hotich_district_reader and grants
-- it SELECT on the tables hotich's extract reads (include/sql/extract/*.sql): khai_sinh,
-- khai_tu, ket_hon (modern flavor) and hotich (legacy flavor), whichever exist; nothing else,
-- and no INSERT, UPDATE, DELETE or DDL. Then create hotich's login with a password of your
-- own, which goes into hotich's Airflow connection (or its secrets backend), never into a file:
--     CREATE USER 'hotich_reader'@'<platform host>' IDENTIFIED BY '<password>';
--     GRANT hotich_district_reader TO 'hotich_reader'@'<platform host>';
--     SET DEFAULT ROLE hotich_district_reader FOR 'hotich_reader'@'<platform host>';
-- One statement per line ending in ';' (no DELIMITER), so any client can run it.
CREATE ROLE IF NOT EXISTS hotich_district_reader;
SET @hotich_grant = IF((SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'khai_sinh') > 0, 'GRANT SELECT ON khai_sinh TO hotich_district_reader', 'DO 0');
PREPARE hotich_stmt FROM @hotich_grant;
EXECUTE hotich_stmt;
SET @hotich_grant = IF((SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'khai_tu') > 0, 'GRANT SELECT ON khai_tu TO hotich_district_reader', 'DO 0');
PREPARE hotich_stmt FROM @hotich_grant;
EXECUTE hotich_stmt;
SET @hotich_grant = IF((SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'ket_hon') > 0, 'GRANT SELECT ON ket_hon TO hotich_district_reader', 'DO 0');
PREPARE hotich_stmt FROM @hotich_grant;
EXECUTE hotich_stmt;
SET @hotich_grant = IF((SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'hotich') > 0, 'GRANT SELECT ON hotich TO hotich_district_reader', 'DO 0');
PREPARE hotich_stmt FROM @hotich_grant;
EXECUTE hotich_stmt;
DEALLOCATE PREPARE hotich_stmt;
