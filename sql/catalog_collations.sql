-- catalog_collations.sql — collations defined in the database (not the built-in ones).
-- No parameters.
SELECT c.oid, n.nspname, c.collname, c.collprovider::text AS provider,
       c.collcollate, c.collctype
  FROM pg_catalog.pg_collation c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY n.nspname, c.collname
