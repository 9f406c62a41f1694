-- target_existing_relations.sql — which of the given schema-qualified names
-- already exist on the target.
-- $1 text[] schema names, $2 text[] relation names (same length).
SELECT n.nspname, c.relname
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN unnest($1::text[], $2::text[]) AS want(nspname, relname)
    ON want.nspname = n.nspname AND want.relname = c.relname
 ORDER BY 1, 2
