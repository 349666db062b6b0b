#!/usr/bin/env bash
# The test command (README command 2, called by .ci/run). Uses PostgreSQL too when
# one answers on 127.0.0.1:5432 (trust auth), so every DB test runs on both.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${ARDIS_TEST_DATABASE_URL:-}" ] && command -v pg_isready >/dev/null 2>&1 \
   && pg_isready -q -h 127.0.0.1 -p 5432; then
  export ARDIS_TEST_DATABASE_URL="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
fi
# The Celery load test (marker `load`: 16 mixed orders with a worker SIGKILLed, ~10 min on one worker) runs
# too; ARDIS_LOAD_TEST=0 leaves it out, ARDIS_LOAD_ORDERS=50 places the issue's 50 (~18 min alone).
if [ "${ARDIS_LOAD_TEST:-1}" = "0" ]; then
  set -- -m "not load" "$@"
fi
# Two workers (pytest-xdist), a test file each at a time: most of the suite's time is waiting on servers, Airflow
# and subprocesses, so the 2-core machine runs the suite in about half the time; ARDIS_TEST_WORKERS=0 runs it
# in one process (each worker has its own Airflow home and PostgreSQL database; tests/conftest.py).
WORKERS="${ARDIS_TEST_WORKERS:-2}"
if [ "$WORKERS" != "0" ]; then
  set -- -n "$WORKERS" --dist loadfile "$@"
fi
exec .venv/bin/python -m pytest "$@"
