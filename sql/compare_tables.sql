-- compare_tables.sql — tables: ordinary, partitioned, foreign (compare
-- schema, kind "table"). See compare_schemas.sql for the column convention.
-- No parameters.
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS name,
       n.nspname AS _nspname,
       c.relname AS _objname,
       CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table'
                      WHEN 'f' THEN 'foreign table' END AS kind,
       CASE c.relpersistence WHEN 'p' THEN 'permanent' WHEN 'u' THEN 'unlogged'
                             WHEN 't' THEN 'temporary' END AS persistence,
       pg_catalog.pg_get_partkeydef(c.oid) AS "partition key",
       pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS "partition bound",
       (SELECT pg_catalog.string_agg(i.inhparent::pg_catalog.regclass::text, ', ' ORDER BY i.inhseqno)
          FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid) AS inherits,
       c.relrowsecurity AS "row security",
       c.relforcerowsecurity AS "force row security"
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'f')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
