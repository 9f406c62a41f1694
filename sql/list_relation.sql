-- list_relation.sql — a relation by schema and name, for `list depends`.
-- $1 text schema name, $2 text relation name.
SELECT c.oid, c.relkind
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = $2
