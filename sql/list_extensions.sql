-- list_extensions.sql — installed extensions, for `list extensions`, with the
-- default version the server's packages provide: a different one means
-- ALTER EXTENSION ... UPDATE would change something.
-- No parameters.
SELECT e.oid,
       e.extname,
       e.extversion,
       n.nspname,
       a.default_version,
       coalesce(a.default_version IS NOT NULL AND a.default_version <> e.extversion, false) AS update_available,
       e.extrelocatable,
       a.comment
  FROM pg_catalog.pg_extension e
  JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
  LEFT JOIN pg_catalog.pg_available_extensions a ON a.name = e.extname
 ORDER BY e.extname
