-- compare_views.sql — views and materialized views (compare schema, kind
-- "view"): kind, definition (pg_get_viewdef), options (security_barrier,
-- check_option...), and whether a materialized view is populated.
-- No parameters.
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS name,
       n.nspname AS _nspname,
       c.relname AS _objname,
       CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END AS kind,
       pg_catalog.pg_get_viewdef(c.oid) AS definition,
       pg_catalog.array_to_string(c.reloptions, ', ') AS options,
       CASE WHEN c.relkind = 'm' THEN c.relispopulated END AS populated
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('v', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
