-- check_target_existing.sql — which of the given schema-qualified names exist
-- on the target already, and whether the connecting role owns them (what
-- --drop-if-exists would drop needs ownership).
-- $1 text[] schema names, $2 text[] relation names (same length).
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS qname,
       pg_catalog.pg_has_role(c.relowner, 'USAGE') AS owned
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN unnest($1::text[], $2::text[]) AS want(nspname, relname)
    ON want.nspname = n.nspname AND want.relname = c.relname
 ORDER BY 1
