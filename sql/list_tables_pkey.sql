-- list_tables_pkey.sql — the relations that have a primary key, for
-- `list tables --without-pkey`. Read from pg_constraint rather than from the
-- catalog's index list, which leaves partitioned tables' indexes out.
-- No parameters.
SELECT c.conrelid
  FROM pg_catalog.pg_constraint c
 WHERE c.contype = 'p'
 ORDER BY c.conrelid
