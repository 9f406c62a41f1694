-- catalog_extensions.sql — installed extensions.
-- No parameters.
SELECT e.oid, e.extname, e.extversion, n.nspname
  FROM pg_catalog.pg_extension e
  JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
 ORDER BY e.extname
