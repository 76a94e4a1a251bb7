-- Least-privilege access for outcomes_exporter.
--
-- Creates the NOLOGIN group role "outcomes_exporter" that may only read the four tables of
-- the reference schema (deploy/sql/schema.sql): USAGE on their schema and SELECT on the
-- tables, nothing else (no sequences, no functions, no writes). The exporter connects as a
-- separate LOGIN user that is a member of this role, so the password never lives in this
-- repository and can be rotated without touching the grants.
--
-- Idempotent: run it again after schema changes. Needs a superuser or a role with
-- CREATEROLE that owns the tables. Apply after schema.sql, with the same search_path:
--   psql "$ADMIN_DSN" -v ON_ERROR_STOP=1 -f deploy/sql/grants.sql
--
-- Then create the login user from outside the repository, for example with the password
-- taken from the environment (psql 15 \getenv) so it is not visible in the process list:
--
--   EXPORTER_PASSWORD=... psql "$ADMIN_DSN" -v ON_ERROR_STOP=1 <<'SQL'
--   \getenv pw EXPORTER_PASSWORD
--   CREATE ROLE outcomes_exporter_app LOGIN PASSWORD :'pw' IN ROLE outcomes_exporter;
--   ALTER ROLE outcomes_exporter_app SET default_transaction_read_only = on;
--   ALTER ROLE outcomes_exporter_app SET idle_in_transaction_session_timeout = '60s';
--   SQL
--
-- (or `psql -v pw="$EXPORTER_PASSWORD" ...` with psql older than 15). CREATE ROLE ...
-- PASSWORD sends the password in clear text to the server, where log_statement could
-- record it; `\password outcomes_exporter_app` in psql hashes it on the client instead.
--
-- Note: ALTER ROLE ... SET settings apply only when that very role is the session user;
-- they are NOT inherited through membership (nor applied by SET ROLE). That is why the
-- login user above repeats default_transaction_read_only. The setting on the group role
-- below records the intent and takes effect if the role is ever given LOGIN directly.

BEGIN;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'outcomes_exporter') THEN
        CREATE ROLE outcomes_exporter NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
            NOREPLICATION NOBYPASSRLS INHERIT;
    END IF;
END
$$;

-- Make sure a pre-existing role of that name cannot log in or do more than read.
ALTER ROLE outcomes_exporter NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

-- Sessions of the role are read-only unless they explicitly ask otherwise (and the role
-- has no write privilege anyway): a second line of defence. See the note above about
-- repeating this on the login user.
ALTER ROLE outcomes_exporter SET default_transaction_read_only = on;

-- The schema the tables were created in (the first schema of the search_path, normally
-- "public"), resolved the same way schema.sql resolved it.
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO outcomes_exporter',
                   (SELECT n.nspname
                      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE c.oid = 'recommendations'::regclass));
END
$$;

GRANT SELECT ON TABLE recommendations, outcome_events, feedback, ab_tests TO outcomes_exporter;

COMMIT;
