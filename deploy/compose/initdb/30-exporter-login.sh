#!/usr/bin/env bash
# Runs once, when the postgres container initialises an empty data directory, after
# 10-schema.sql (deploy/sql/schema.sql) and 20-grants.sql (deploy/sql/grants.sql): creates
# the login user the exporter connects as, a member of the read-only group role
# "outcomes_exporter", as deploy/sql/grants.sql describes. The password comes from the
# container's environment (EXPORTER_DB_PASSWORD) through psql's \getenv, so it appears neither
# on a command line nor in this file.
set -euo pipefail

if [[ -z "${EXPORTER_DB_PASSWORD:-}" ]]; then
  echo "30-exporter-login.sh: EXPORTER_DB_PASSWORD is not set" >&2
  exit 1
fi

psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
\getenv pw EXPORTER_DB_PASSWORD
CREATE ROLE outcomes_exporter_app LOGIN PASSWORD :'pw' IN ROLE outcomes_exporter;
-- Role settings are not inherited through membership: repeat them on the login user.
ALTER ROLE outcomes_exporter_app SET default_transaction_read_only = on;
ALTER ROLE outcomes_exporter_app SET idle_in_transaction_session_timeout = '60s';
SQL
echo "30-exporter-login.sh: created the read-only login user outcomes_exporter_app"
