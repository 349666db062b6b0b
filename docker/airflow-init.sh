#!/usr/bin/env bash
# airflow-init: Airflow's migrations, the accounts, then `ardis setup` (Ardis's migrations, pools, connections).
# Idempotent: run on every `docker compose up`.
#
# `ardis setup` reaches Airflow only through its REST API (the domain never imports Airflow), and the
# api-server service starts after this one: so this script runs a private api-server on 127.0.0.1
# inside this container for the time of the setup.
set -euo pipefail

if [[ -z "${AIRFLOW_UID:-}" ]]; then
  echo "WARNING: AIRFLOW_UID is not set; files in volumes will belong to uid 50000 (set it in .env)" >&2
fi
mkdir -p /opt/airflow/logs "${ARDIS_HOME:-/var/lib/ardis}"

airflow db migrate

user() {  # user NAME ROLE PASSWORD: create, or reset the password of an existing one
  if airflow users list -o plain 2>/dev/null | awk '{print $2}' | grep -qx "$1"; then
    airflow users reset-password --username "$1" --password "$3"
  else
    airflow users create --username "$1" --password "$3" --role "$2" \
      --firstname "$1" --lastname Ardis --email "$1@localhost"
  fi
}
user "${_AIRFLOW_WWW_USER_USERNAME:-admin}" Admin "${_AIRFLOW_WWW_USER_PASSWORD:?set it in .env}"
user "${ARDIS_AIRFLOW_USERNAME:-ardis}" Op "${ARDIS_AIRFLOW_PASSWORD:?set it in .env}"

airflow api-server --host 127.0.0.1 --port 8081 > /tmp/init-api-server.log 2>&1 &
api=$!
trap 'kill "$api" 2>/dev/null || true' EXIT
ARDIS_AIRFLOW_URL=http://127.0.0.1:8081 ardis setup --wait 300 --allow-missing-connections
