-- The compose stack's PostgreSQL hosts the national civil-status database beside
-- Airflow's metadata; hotich migrates its schema on the first run (include/sql).
CREATE DATABASE civil_status OWNER airflow;
