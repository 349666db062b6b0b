#!/usr/bin/env bash
# Runs once, when the postgres volume is empty (docker-entrypoint-initdb.d): Ardis's own database and
# role beside Airflow's (POSTGRES_DB). The password comes from .env (ARDIS_DB_PASSWORD).
set -euo pipefail
: "${ARDIS_DB_PASSWORD:?set ARDIS_DB_PASSWORD in .env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     --set=pw="$ARDIS_DB_PASSWORD" <<'SQL'
CREATE ROLE ardis LOGIN PASSWORD :'pw';
CREATE DATABASE ardis OWNER ardis;
SQL
