-- compare_extensions.sql — installed extensions (compare schema, kind
-- "extension"): version and schema.
-- No parameters.
SELECT pg_catalog.quote_ident(x.extname) AS name,
       n.nspname AS _nspname,
       x.extname AS _objname,
       x.extversion AS version,
       n.nspname AS schema
  FROM pg_catalog.pg_extension x
  JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
