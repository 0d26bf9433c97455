#!/usr/bin/env bash
# The compose stack's PostgreSQL: the national civil-status database beside Airflow's
# metadata, with least privilege (include/sql/roles/roles.sql): hotich_owner_login owns
# it and runs the migrations (airflow-init: python -m hotich.migrate); hotich_pipeline
# is what the tasks log in as, a hotich_writer that cannot create, alter or drop.
# Passwords come from the environment (.env), never from the repository.
set -euo pipefail
: "${HOTICH_OWNER_PASSWORD:?set HOTICH_OWNER_PASSWORD}"
: "${HOTICH_PIPELINE_PASSWORD:?set HOTICH_PIPELINE_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v owner_pw="$HOTICH_OWNER_PASSWORD" -v pipeline_pw="$HOTICH_PIPELINE_PASSWORD" <<'SQL'
\i /docker-entrypoint-initdb.d/roles/roles.sql
CREATE ROLE hotich_owner_login LOGIN PASSWORD :'owner_pw' IN ROLE hotich_owner;
CREATE ROLE hotich_pipeline LOGIN PASSWORD :'pipeline_pw' IN ROLE hotich_writer;
CREATE DATABASE civil_status OWNER hotich_owner_login;
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname civil_status \
     -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC"
