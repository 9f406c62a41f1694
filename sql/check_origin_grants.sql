-- check_origin_grants.sql — what the follower uses of replication origins on
-- the target, and whether the connecting role may use it: EXECUTE on each
-- function, SELECT on pg_replication_origin_status (all revoked from PUBLIC).
-- No parameters. Returns object, kind ('function' or 'view'), allowed.
SELECT f AS object, 'function' AS kind,
       pg_catalog.has_function_privilege(f, 'EXECUTE') AS allowed
  FROM unnest(ARRAY['pg_catalog.pg_replication_origin_create(text)',
                    'pg_catalog.pg_replication_origin_drop(text)',
                    'pg_catalog.pg_replication_origin_session_setup(text)',
                    'pg_catalog.pg_replication_origin_xact_setup(pg_lsn,timestamp with time zone)',
                    'pg_catalog.pg_replication_origin_progress(text,boolean)',
                    'pg_catalog.pg_show_replication_origin_status()']) AS f
UNION ALL
SELECT 'pg_catalog.pg_replication_origin_status', 'view',
       pg_catalog.has_table_privilege('pg_catalog.pg_replication_origin_status', 'SELECT')
