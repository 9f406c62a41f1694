-- list_views.sql — the views and materialized views of the database, for
-- `list views`: not those of the system schemas, nor those an extension
-- owns. populated: a materialized view's data is there (NULL for a view);
-- pgshift refreshes the populated ones once their tables are copied.
-- No parameters. PostgreSQL 9.3 or later.
SELECT c.oid,
       n.nspname,
       c.relname,
       CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END AS kind,
       pg_catalog.pg_get_userbyid(c.relowner) AS owner,
       CASE c.relkind WHEN 'm' THEN c.relispopulated END AS populated
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('v', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND NOT EXISTS (SELECT 1
                     FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND d.objid = c.oid
                      AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
                      AND d.deptype = 'e')
 ORDER BY n.nspname, c.relname
