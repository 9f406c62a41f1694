-- list_tables_skipped.sql — the tables catalog_tables.sql leaves out, with the
-- reason, for `list tables --list-skipped`: tables of the system schemas,
-- other sessions' temporary tables, and extension members (the extension
-- creates them on the target).
-- Keep the conditions in step with catalog_tables.sql.
-- No parameters.
SELECT c.oid,
       n.nspname,
       c.relname,
       c.relkind,
       CASE WHEN c.relkind = 'r' THEN pg_catalog.pg_table_size(c.oid) ELSE 0 END AS bytes,
       c.reltuples,
       CASE WHEN n.nspname IN ('pg_catalog', 'information_schema') OR n.nspname ~ '^pg_toast'
            THEN 'system schema'
            WHEN n.nspname ~ '^pg_temp_'
            THEN 'temporary table'
            ELSE 'member of extension ' || x.extname
       END AS reason
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN LATERAL (SELECT e.extname
                       FROM pg_catalog.pg_depend d
                       JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
                      WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                        AND d.objid = c.oid
                        AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
                        AND d.deptype = 'e'
                      LIMIT 1) x ON true
 WHERE c.relkind IN ('r', 'p')
   AND (n.nspname IN ('pg_catalog', 'information_schema')
        OR n.nspname ~ '^pg_toast'
        OR n.nspname ~ '^pg_temp_'
        OR x.extname IS NOT NULL)
 ORDER BY bytes DESC, n.nspname, c.relname
